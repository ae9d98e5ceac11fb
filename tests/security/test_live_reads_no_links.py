"""The live service runs as root and reads an instructor's broadcast notebook from
their work folder. Code on that server (the instructor's, or a participant's who got
into it) turns the notebook, or a folder on its path, into a link to the lab's
secrets, or into a FIFO; a participant following the broadcast then fetches it.

It used to follow the links (GET .../notebook.ipynb answered with the lab's CLI
token, /view echoed it in an error) and a FIFO hung the whole service. Now nothing
behind a link is read, followers get a 404 naming only the path, and the next,
honest broadcast works for everyone.
"""

import secrets

import nbformat
import pytest

from icslab.testing import RunningLab

pytestmark = pytest.mark.integration

MARKER = f"marker-{secrets.token_hex(12)}"
LIVE = "services/icslab-live/"


def notebook(*sources: str) -> str:
    return nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with RunningLab(tmp_path_factory.mktemp("lab")) as running:
        # The lab's own secrets, beside credentials.csv: a notebook, so that a service
        # following a link would even render it.
        vault = running.data_dir / "vault"
        vault.mkdir(mode=0o700)
        (vault / "ewma.ipynb").write_text(notebook(f"secret = {MARKER!r}"))
        (vault / "ewma.ipynb").chmod(0o600)
        yield running


@pytest.fixture(scope="module")
def trainer(lab):
    trainer = lab.login("trainer1")
    trainer.start_server()
    return trainer


@pytest.fixture(scope="module")
def follower(lab):
    with lab.login("p01") as client:
        yield client


@pytest.fixture(scope="module")
def secrets_of(lab):
    """What must appear in no reply: the marker and the lab's CLI token."""
    return [MARKER, (lab.data_dir / "cli_token").read_text().strip()]


def on_trainers_server(lab, trainer, code: str) -> None:
    """Run `code` in the instructor's own kernel, in their work folder, as an attacker
    there would."""
    work = lab.data_dir / "users" / "trainer1"
    done = trainer.run_code(f"import os\nos.chdir({str(work)!r})\n{code}\nprint('done')")
    assert done.strip().endswith("done"), done


def broadcast(lab, path: str, name: str) -> None:
    started = lab.icslab("live", "start", path, "--as", "trainer1", "--name", name)
    assert started.returncode == 0, started.stderr


def follow(follower, name: str, secrets_of: list[str]) -> dict[str, object]:
    """Every page of a broadcast as a follower gets it; none may carry a secret."""
    answers = {}
    for page in ["", "/version", "/view", "/notebook.ipynb"]:
        answer = follower.http.get(f"{LIVE}{name}{page}", timeout=15)
        assert not [s for s in secrets_of if s in answer.text], (page, answer.status_code)
        answers[page] = answer
    return answers


def refused(answers, path: str, reason: str) -> None:
    for page in ["/version", "/view", "/notebook.ipynb"]:
        answer = answers[page]
        assert answer.status_code == 404, (page, answer.status_code)
        assert answer.text.startswith(f"{path}: ") and reason in answer.text, answer.text


def test_a_notebook_linked_to_the_labs_secrets_is_not_served(lab, trainer, follower, secrets_of):
    vault = lab.data_dir / "vault"
    on_trainers_server(lab, trainer, f"os.symlink({str(vault / 'ewma.ipynb')!r}, 'ewma.ipynb')")
    broadcast(lab, "ewma.ipynb", "linked")
    refused(follow(follower, "linked", secrets_of), "ewma.ipynb", "a symbolic link")

    on_trainers_server(
        lab, trainer, f"os.symlink({str(lab.data_dir / 'cli_token')!r}, 'token.ipynb')"
    )
    broadcast(lab, "token.ipynb", "token")
    refused(follow(follower, "token", secrets_of), "token.ipynb", "a symbolic link")


def test_a_linked_folder_on_the_way_is_not_followed(lab, trainer, follower, secrets_of):
    on_trainers_server(lab, trainer, f"os.symlink({str(lab.data_dir / 'vault')!r}, 'course')")
    broadcast(lab, "course/ewma.ipynb", "folder")
    refused(
        follow(follower, "folder", secrets_of), "course/ewma.ipynb", "course is a symbolic link"
    )


def test_a_fifo_is_refused_without_hanging_the_service(lab, trainer, follower, secrets_of):
    (lab.data_dir / "users" / "trainer1" / "pipe.ipynb").write_text(notebook("1"))
    broadcast(lab, "pipe.ipynb", "pipe")
    on_trainers_server(lab, trainer, "os.remove('pipe.ipynb'); os.mkfifo('pipe.ipynb')")
    refused(follow(follower, "pipe", secrets_of), "pipe.ipynb", "not a regular file")


def test_an_honest_broadcast_still_works_for_everyone_after_the_attacks(lab, trainer, secrets_of):
    work = lab.data_dir / "users" / "trainer1"
    (work / "clean.ipynb").write_text(notebook("alarms = detect(levels)  # honest"))
    broadcast(lab, "clean.ipynb", "clean")
    for user in ["p01", "p02", "trainer2"]:
        with lab.login(user) as client:
            answers = follow(client, "clean", secrets_of)
        assert all(a.status_code == 200 for a in answers.values()), user
        assert "# honest" in answers["/view"].text
        copy = nbformat.reads(answers["/notebook.ipynb"].text, as_version=4)
        assert copy.cells[0].source.endswith("# honest")
    # What the follow page's iframe shows runs in an opaque origin, never the service's.
    assert answers["/view"].headers["Content-Security-Policy"] == "sandbox allow-scripts"


def test_no_secret_reached_the_live_services_log(lab, secrets_of):
    log = lab.logs()
    assert "404 GET /services/icslab-live/linked/view" in log  # the service's lines are here
    assert not [s for s in secrets_of if s in log]
