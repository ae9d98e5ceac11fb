from icslab.cli import app

app()
