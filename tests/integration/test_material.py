"""An instructor publishes a workshop through the lab's own git service; participants
follow the nbgitpuller link, keep their edits when a fix is published, and cannot
publish themselves."""

import shutil
from urllib.parse import urlparse

import httpx
import nbformat
import pytest

from icslab.material.publish import publish
from icslab.testing.workshops import write_module, write_workshop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    """A small workshop source folder the test can change, like an instructor's fix."""
    root = tmp_path_factory.mktemp("workshops")
    write_workshop(root)
    return root


def cells(path):
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def test_publish_link_pull_then_a_fix_arrives_and_own_edits_stay(lab, workshop):
    first = publish(lab.data_dir, "water-week", "Day 1", root=workshop)
    assert first.files == ["01-levels.ipynb", "README.md", "workshop.toml"]
    link = lab.icslab("link", "water-week", "--path", "01-levels.ipynb").stdout.strip()
    assert "/hub/user-redirect/git-pull?" in link and "urlpath=lab%2Ftree%2Fwater-week" in link

    p01 = lab.login("p01")
    p01.start_server()
    p01.follow_pull_link(link)
    pulled = lab.data_dir / "users" / "p01" / "water-week"
    assert cells(pulled / "01-levels.ipynb") == ["# Levels", "level = ..."]  # no solution

    # The participant answers the exercise; the instructor publishes a fix and a new file.
    notebook = nbformat.read(pulled / "01-levels.ipynb", as_version=4)
    notebook.cells[1].source = "level = 4.2  # my answer"
    nbformat.write(notebook, pulled / "01-levels.ipynb")
    write_module(
        workshop / "water-week" / "01-levels.ipynb", "level = 4.2", ["Fixed: units are metres"]
    )
    (workshop / "water-week" / "workshop.toml").write_text(
        (workshop / "water-week" / "workshop.toml").read_text()
        + '[[modules]]\nfile = "02-flows.ipynb"\ntitle = "Flows"\nminutes = 20\ngoal = "Flows"\n'
    )
    write_module(workshop / "water-week" / "02-flows.ipynb", "flow = 1")
    second = publish(lab.data_dir, "water-week", "Day 2: flows", root=workshop)
    assert second.commit and second.commit != first.commit

    p01.follow_pull_link(link)
    assert (pulled / "02-flows.ipynb").exists()
    assert cells(pulled / "01-levels.ipynb")[1] == "level = 4.2  # my answer"  # kept


def test_the_git_service_needs_a_lab_token_and_never_accepts_a_push(lab, workshop):
    publish(lab.data_dir, "water-week", root=workshop)
    git = lab.resolved().git_url
    refs = f"{git}/water-week.git/info/refs?service=git-upload-pack"
    assert httpx.get(refs).status_code == 401
    assert httpx.get(refs, headers={"Authorization": "token not-a-token"}).status_code == 403

    p02 = lab.login("p02")
    token = p02.api("POST", "users/p02/tokens", json={"note": "git"}).json()["token"]
    allowed = httpx.get(refs, auth=("p02", token))
    assert allowed.status_code == 200 and b"refs/heads/main" in allowed.content
    push = f"{git}/water-week.git/info/refs?service=git-receive-pack"
    assert httpx.get(push, auth=("p02", token)).status_code == 403
    assert (
        httpx.post(f"{git}/water-week.git/git-receive-pack", auth=("p02", token)).status_code == 403
    )


def test_bad_publications_and_links_are_refused_and_change_nothing(lab, workshop, tmp_path):
    refused = lab.icslab("publish", "no-such-workshop")
    assert refused.returncode == 2 and "no such workshop" in refused.stderr
    link = lab.icslab("link", "ics-week")
    assert link.returncode == 2 and "icslab publish ics-week" in link.stderr
    publish(lab.data_dir, "water-week", root=workshop)
    missing = lab.icslab("link", "water-week", "--path", "99-nothing.ipynb")
    assert missing.returncode == 2 and "not in the published workshop" in missing.stderr

    # A notebook that would leak solutions is never committed.
    from icslab.errors import InputError
    from icslab.material import publish as publishing

    head = publishing._repository(publishing.repository_path(lab.data_dir, "water-week")).head()
    leaked = tmp_path / "leak.ipynb"
    write_module(leaked, "level = 4.2")
    with pytest.raises(InputError, match=r"leak\.ipynb: has solution cells"):
        publishing.refuse_solutions({"leak.ipynb": leaked.read_bytes()})
    assert (
        publishing._repository(publishing.repository_path(lab.data_dir, "water-week")).head()
        == head
    )


def test_a_participant_gets_the_published_version_back_from_their_server_keeping_theirs(
    lab, workshop
):
    publish(lab.data_dir, "water-week", root=workshop)
    p03 = lab.login("p03")
    p03.start_server()
    p03.follow_pull_link(lab.icslab("link", "water-week").stdout.strip())
    pulled = lab.data_dir / "users" / "p03" / "water-week"
    notebook = nbformat.read(pulled / "01-levels.ipynb", as_version=4)
    notebook.cells = [nbformat.v4.new_code_cell("broken beyond repair")]
    nbformat.write(notebook, pulled / "01-levels.ipynb")

    # In their terminal: the command; in a notebook: the call.
    code, said = p03.run_command(["icslab", "material", "fresh", "water-week/01-levels.ipynb"])
    assert code == 0, said
    assert "yours is kept as 01-levels__" in said and "close its tab without saving" in said
    assert cells(pulled / "01-levels.ipynb")[:2] == ["# Levels", "level = ..."]
    [kept] = pulled.glob("01-levels__*.ipynb")
    assert cells(kept) == ["broken beyond repair"]

    (pulled / "README.md").write_text("my notes")
    said = p03.run_code("from icslab.material import fresh\nfresh('water-week')")
    assert "the published version is back; yours is kept as water-week__" in said
    [kept_folder] = pulled.parent.glob("water-week__*")
    assert (kept_folder / "README.md").read_text() == "my notes"
    assert (pulled / "README.md").read_text().startswith("# Water week")

    code, said = p03.run_command(["icslab", "material", "fresh", "notes.ipynb"])
    assert code == 2 and "not inside a workshop pulled from the lab" in said


def test_a_link_can_be_a_qr_code_for_the_projector(lab, workshop, tmp_path):
    publish(lab.data_dir, "water-week", root=workshop)
    qr = tmp_path / "link.png"
    done = lab.icslab("link", "water-week", "--qr", str(qr))
    assert done.returncode == 0, done.stderr
    assert qr.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_servers_pull_the_listed_workshops_when_they_start(tmp_path, workshop):
    from icslab.testing import RunningLab
    from icslab.waiting import wait_for

    with RunningLab(tmp_path / "lab", material={"pull_on_start": ["water-week"]}) as lab:
        publish(lab.data_dir, "water-week", root=workshop)
        p02 = lab.login("p02")
        p02.start_server()
        pulled = lab.data_dir / "users" / "p02" / "water-week" / "01-levels.ipynb"
        wait_for(pulled.exists, timeout=30, what="the workshop pulled at server start")
        assert cells(pulled)[:2] == ["# Levels", "level = ..."]


EXAMPLE_MATERIAL = {"publish": ["ics-week"], "pull_on_start": ["ics-week"], "landing": "ics-week"}


def test_a_first_login_lands_on_the_welcome_notebook_of_the_week_up_published(tmp_path):
    from icslab.testing import RunningLab

    with RunningLab(tmp_path / "lab", material=EXAMPLE_MATERIAL) as lab:
        assert "ics-week: published 11 files as" in lab.logs()
        p01 = lab.login("p01")
        p01.start_server()
        landed = p01.open_server(page="")  # what the hub sends a browser to after login
        # The page waited for the pull: it opens the notebook only once it is there.
        assert urlparse(str(landed.url)).path == "/user/p01/lab/tree/ics-week/00-welcome.ipynb"
        welcome = lab.data_dir / "users" / "p01" / "ics-week" / "00-welcome.ipynb"
        assert cells(welcome)[0].startswith("# 0 · Welcome")

        # Nothing to land on (the participant removed the workshop): hub.default_url.
        p01.stop_server()
        (lab.data_dir / "git" / "ics-week.git").rename(lab.data_dir / "unpublished.git")
        shutil.rmtree(welcome.parent)
        p01.start_server()
        assert urlparse(str(p01.open_server(page="").url)).path == "/user/p01/lab"
