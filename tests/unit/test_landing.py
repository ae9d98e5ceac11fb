"""Where a participant's server sends them after logging in: the notebook the lab's
`material.landing` names, found in the workshop they pulled, following its manifest."""

from icslab.notebooks.manifest import MANIFEST
from icslab.singleuser import landing
from icslab.singleuser.landing import landing_path


def pulled(root, workshop, *files, first="00-welcome.ipynb"):
    folder = root / workshop
    folder.mkdir(parents=True)
    (folder / "workshop.toml").write_text(
        f'title = "t"\n[[modules]]\nfile = "{first}"\ntitle = "a"\nminutes = 5\ngoal = "g"\n'
    )
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    return folder


def test_a_workshop_lands_on_its_manifests_first_notebook(tmp_path):
    pulled(tmp_path, "ics-week", "00-welcome.ipynb", "05-network.ipynb")
    assert landing_path(tmp_path, "ics-week") == "ics-week/00-welcome.ipynb"


def test_the_landing_follows_what_the_instructor_published(tmp_path):
    pulled(tmp_path, "water-week", "00-welcome.ipynb", "01-levels.ipynb", first="01-levels.ipynb")
    assert landing_path(tmp_path, "water-week") == "water-week/01-levels.ipynb"


def test_a_named_notebook_is_opened_when_it_is_there(tmp_path):
    pulled(tmp_path, "ics-week", "00-welcome.ipynb", "day2/05-network.ipynb")
    assert landing_path(tmp_path, "ics-week/day2/05-network.ipynb") == (
        "ics-week/day2/05-network.ipynb"
    )
    assert landing_path(tmp_path, "ics-week/06-gone.ipynb") == "ics-week"  # its folder


def test_without_a_notebook_to_open_the_folder_or_nothing(tmp_path):
    folder = pulled(tmp_path, "ics-week")  # the manifest's notebook not there (deleted)
    assert landing_path(tmp_path, "ics-week") == "ics-week"
    (folder / "workshop.toml").write_text("not toml [")
    assert landing_path(tmp_path, "ics-week") == "ics-week"
    (folder / "workshop.toml").write_text('title = "t"\nmodules = []\n')
    assert landing_path(tmp_path, "ics-week") == "ics-week"
    assert landing_path(tmp_path, "water-week") is None  # never pulled: hub.default_url
    assert landing_path(tmp_path, "") is None


def test_the_server_reads_the_manifest_the_publication_carries():
    assert landing.MANIFEST == MANIFEST
