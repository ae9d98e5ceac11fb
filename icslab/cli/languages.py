"""`icslab languages ...`: JupyterLab's language packs a lab offers, for local mode."""

from __future__ import annotations

import typer
from rich.table import Table

from icslab import languages
from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, group
from icslab.cli.output import console, errors
from icslab.settings import load_settings

app = group("JupyterLab's language packs a lab offers ([workshop] languages).")


@app.command()
def install(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Install the listed languages' packs for local mode (the image build has its own)."""
    listed = load_settings(config).workshop.languages
    for language in languages.missing(listed):
        with console.status(f"installing {languages.requirement(language)}"):
            try:
                languages.install(language)
            except RuntimeError as error:
                errors.print(f"[bold red]Install failed:[/] {error}", highlight=False)
                raise typer.Exit(1) from None
        console.print(f"[green]✓[/] {language}: {languages.requirement(language)}")
    console.print(f"languages for local mode: English, {', '.join(listed)}" if listed
                  else "languages for local mode: English only")  # fmt: skip


@app.command("list")
def list_(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Every language a lab can offer: listed in the settings? installed for local mode?"""
    listed = load_settings(config).workshop.languages
    table = Table("language", "", "listed", "local pack", box=None)
    for language, name in languages.LANGUAGES.items():
        local = "installed" if languages.installed(language) else ""
        table.add_row(language, name, "yes" if language in listed else "", local)
    console.print(table)
