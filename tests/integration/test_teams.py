"""Teams in a real lab (local mode): a shared team folder, teammates co-editing on
each other's servers while other teams cannot, homework submitted from a
participant's server and collected by an instructor."""

import json
import zipfile

import pytest

from icslab.testing.client import AccessDenied

pytestmark = pytest.mark.integration

NOTEBOOK = (
    "import nbformat; nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1+1')]);"
    " nbformat.write(nb, 'team/detector.ipynb')"
)
SUBMIT = ["icslab", "homework", "submit"]


def test_teammates_share_a_team_folder(lab):
    p01, p02 = lab.login("p01"), lab.login("p02")
    p01.start_server()
    p02.start_server()
    p01.run_code(NOTEBOOK)
    assert p02.run_code("import os; print(os.listdir('team'))") == "['detector.ipynb']\n"
    assert p02.run_code("import os; print(os.environ['ICSLAB_TEAM'])") == "water\n"


def test_teammates_open_each_others_servers_other_teams_cannot(lab):
    p01, p02, p03 = lab.login("p01"), lab.login("p02"), lab.login("p03")
    p01.start_server()
    # A teammate joins p01's server (real-time co-editing happens there) ...
    assert p02.open_server("p01").url.path == "/user/p01/lab"
    assert p02.run_code("print(1 + 1)", owner="p01") == "2\n"
    # Both open the team notebook in one real-time collaboration room.
    p01.run_code(NOTEBOOK)
    rooms = [
        member.server_api(
            "p01", "PUT", "collaboration/session/team/detector.ipynb",
            json={"format": "json", "type": "notebook"},
        )
        for member in (p01, p02)
    ]  # fmt: skip
    assert all(room.status_code in (200, 201) for room in rooms), rooms[0].text
    assert rooms[0].json()["fileId"] == rooms[1].json()["fileId"]
    # ... another team's member cannot.
    with pytest.raises(AccessDenied):
        p03.open_server("p01")
    refused = p03.server_api(
        "p01", "PUT", "collaboration/session/team/detector.ipynb",
        json={"format": "json", "type": "notebook"},
    )  # fmt: skip
    assert refused.status_code == 403, (refused.status_code, refused.url)


def test_submit_then_collect_gives_the_latest_with_checksums(lab, tmp_path):
    p01, p03 = lab.login("p01"), lab.login("p03")
    p01.start_server()
    p03.start_server()
    p01.run_code(NOTEBOOK)
    for message in ("draft", "final"):
        code, output = p01.run_command([*SUBMIT, "--message", message])
        assert code == 0 and output.startswith("submitted:"), output
    # Another team's name, or a team folder without notebooks: refused.
    code, output = p01.run_command([*SUBMIT, "--team", "power"])
    assert code == 2 and "you are in team 'water'" in output
    code, output = p03.run_command(SUBMIT)
    assert code == 2 and "no notebooks to submit" in output

    done = lab.icslab("homework", "collect", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "team power: no submission yet" in done.stderr
    (archive,) = tmp_path.glob("homework-*.zip")
    with zipfile.ZipFile(archive) as zipped:
        folder = archive.stem
        manifest = json.loads(zipped.read(f"{folder}/water/manifest.json"))
        assert manifest["message"] == "final" and manifest["submitter"] == "p01"
        import hashlib

        for name, digest in manifest["files"].items():
            assert hashlib.sha256(zipped.read(f"{folder}/water/{name}")).hexdigest() == digest
