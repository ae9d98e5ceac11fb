"""Team homework: a member hands in the team's notebooks, an instructor collects them.

    icslab homework submit [--message M]     # in a participant's terminal
    icslab.homework.submit(message="...")     # or from a notebook
    icslab homework collect [--out DIR]       # on the lab server

`submit` sends every notebook in the team folder ($ICSLAB_TEAM_DIR) to the lab's
hand-in service, which checks them, renders them as HTML and keeps them as the
team's next version (icslab.handin). `collect` copies each team's latest version
from the lab's hand-in store, checked against its manifest, into a dated folder
with an index.html and a PDF of each notebook (icslab.homework.pdf: printed by
Debian's chromium, sandboxed and offline, with the notebook's scripts inert), and
zips it. Nothing here reads a participant's folder as the lab: participants hand
in, the lab never goes fishing."""

from icslab.homework.collecting import collect
from icslab.homework.pdf import Renderer
from icslab.homework.submitting import submit, team_folder, team_notebooks

__all__ = ["Renderer", "collect", "submit", "team_folder", "team_notebooks"]
