"""Attacks on hand-ins, against a real lab (local mode: the lab's tools run as the
hub's user, as root does on a real server). Participants hand things in over HTTP
with their server's hub token; the lab never reads their folders, so links planted
there lead nowhere, and nothing in a request can choose the team it counts for."""

import json
import zipfile

import pytest

from icslab.handin.store import Store, kind_for
from icslab.paths import DATASETS_BUILD
from icslab.testing import RunningLab

pytestmark = pytest.mark.integration

SAMPLE = (
    "from icslab.capstone import submit\n"
    "from icslab.data import load_plant\n"
    "labels = load_plant('sample').labels.astype(int)\n"
    "print(submit(labels, dataset='sample').receipt)"
)
NOTEBOOK = (
    "import nbformat; nbformat.write(nbformat.v4.new_notebook(cells=["
    "nbformat.v4.new_markdown_cell('our detector')]), 'team/detector.ipynb')"
)


def post(client, path: str, body: str, headers: dict | None = None) -> tuple[int, str]:
    """POST to the hand-in service from `client`'s own server, with its hub token
    (or none), as anything a participant runs there could."""
    code = (
        "import json, os, requests\n"
        f"url = os.environ['ICSLAB_SUBMIT_URL'] + {path!r}\n"
        f"headers = {headers or {}!r}\n"
        "if 'Authorization' not in headers:\n"
        "    headers['Authorization'] = 'token ' + os.environ['JUPYTERHUB_API_TOKEN']\n"
        "headers = {k: v for k, v in headers.items() if v}\n"
        f"answer = requests.post(url, data={body}, headers=headers, timeout=120)\n"
        "print(json.dumps([answer.status_code, answer.text]))"
    )
    status, text = json.loads(client.run_code(code, timeout=150).strip().splitlines()[-1])
    return status, text


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    built = {"datasets": str(DATASETS_BUILD)}  # the sample dataset, as `make datasets` built it
    with RunningLab(tmp_path_factory.mktemp("lab"), data=built) as running:
        yield running


@pytest.fixture(scope="module")
def secrets(lab):
    """Strings that must never leave the lab's data dir (its CLI token, every password)
    or the hidden answers (the secret the capstone is drawn from)."""
    capstone = DATASETS_BUILD / ".answers" / ".secret"
    drawn = [capstone.read_text().strip()] if capstone.exists() else []
    return [lab.resolved().paths.cli_token.read_text().strip(), *lab.credentials().values(), *drawn]


@pytest.fixture(scope="module")
def servers(lab):
    clients = {name: lab.login(name) for name in ("p01", "p03", "trainer1")}
    for client in clients.values():
        client.start_server()
    return clients


def test_links_in_a_team_folder_never_reach_the_leaderboard_or_the_zip(
    lab, servers, secrets, tmp_path
):
    p01 = servers["p01"]
    data_dir = lab.resolved().data_dir
    # What used to make the lab's tools (running as root) read the lab's secrets.
    p01.run_code(
        "import os\n"
        "os.makedirs('team/.submissions', exist_ok=True)\n"
        f"os.symlink({str(data_dir)!r}, 'team/.submissions/999-x')\n"
        "os.symlink('/', 'team/capstone')\n"
        f"os.symlink({str(DATASETS_BUILD / '.answers')!r}, 'team/answers')\n"
        f"os.makedirs('team/water', exist_ok=True)\n"
        f"os.symlink({str(data_dir / 'cli_token')!r}, 'team/water/capstone.csv')"
    )
    p01.run_code(NOTEBOOK)
    code, output = p01.run_command(["icslab", "homework", "submit", "--message", "ours"])
    assert code == 0, output
    assert "handed in to the lab" in p01.run_code(SAMPLE)

    board = lab.icslab("leaderboard", "--dataset", "sample", "--out", str(tmp_path / "b.html"))
    collected = lab.icslab("homework", "collect", "--out", str(tmp_path / "homework"))
    assert board.returncode == 0 and collected.returncode == 0, board.stderr + collected.stderr

    (archive,) = (tmp_path / "homework").glob("*.zip")
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        contents = b"".join(zipped.read(name) for name in names).decode(errors="replace")
    top = archive.stem
    assert {name.split("/")[1] for name in names if name != f"{top}/"} == {"index.html", "water"}
    assert f"{top}/water/detector.html" in names
    assert f"{top}/water/detector.pdf" in names  # printed by the lab's offline chromium
    html = (tmp_path / "b.html").read_text()
    assert "<td>water</td>" in html and "<td>1.000</td>" in html  # water's hand-in, scored
    seen = [board.stdout, board.stderr, collected.stdout, collected.stderr, contents, html,
            (tmp_path / "b.csv").read_text(), lab.logs()]  # fmt: skip
    for secret in secrets:
        assert not any(secret in text for text in seen)


def test_a_hand_in_counts_for_the_team_the_hub_says(lab, servers):
    p01, p03, trainer = servers["p01"], servers["p03"], servers["trainer1"]
    store = Store(lab.resolved().paths.submissions)
    assert "handed in to the lab" in p01.run_code(SAMPLE)
    water = store.latest("water", kind_for("sample"))
    before = (water.folder / "predictions.csv").read_bytes()

    # p03 (team power) names water every way a request could: nothing takes it.
    zeros = "'timestamp,attack\\n' + ''.join(f'{t},0\\n' for t in __import__('icslab.capstone'," \
        "fromlist=['x']).target('sample').cells)"  # fmt: skip
    for path in ("capstone/sample?team=water", "capstone/sample"):
        status, text = post(p03, path, zeros, {"X-Team": "water", "X-Forwarded-User": "p01"})
        assert status == 200, text
        assert json.loads(text)["team"] == "power" and json.loads(text)["submitter"] == "p03"
    status, _ = post(p03, "../../../hub/api/users", zeros)
    assert status in (403, 404, 405)
    after = store.latest("water", kind_for("sample"))
    assert (
        after.folder == water.folder and (after.folder / "predictions.csv").read_bytes() == before
    )
    assert store.latest("power", kind_for("sample")).manifest["alarms"] == 0

    # No token, a made-up one, an instructor's (in no team): refused.
    for headers in ({"Authorization": ""}, {"Authorization": "token not-a-token"}):
        status, _ = post(p03, "capstone/sample", zeros, headers)
        assert status in (401, 403)
    status, text = post(trainer, "capstone/sample", zeros)
    assert status == 403 and "in no team" in text
    assert "handed in to the lab" in p01.run_code(SAMPLE)  # the lab still serves its teams


def test_what_the_service_refuses_it_never_quotes(lab, servers):
    p01 = servers["p01"]
    marker = "MARKER-" + lab.resolved().paths.cli_token.read_text().strip()[:6][::-1] + "-X"
    for path, body in [
        ("capstone/sample", f"'{marker},attack\\n'"),
        ("capstone/sample", f"'timestamp,attack\\n{marker},1\\n'"),
        ("homework", f'\'{{"notebooks": {{"a.ipynb": {{"cells": "{marker}"}}}}}}\''),
        ("homework", f"'{marker}'"),
    ]:
        status, text = post(p01, path, body)
        assert status == 400 and text.strip(), text
        assert marker not in text
    assert marker not in lab.logs()


def test_an_oversized_hand_in_is_refused_and_the_lab_serves_on(lab, servers):
    p01 = servers["p01"]
    status, _ = post(p01, "homework", "b'{' + b' ' * (65 * 2**20) + b'}'")
    assert status in (400, 413)
    status, _ = post(p01, "capstone/sample", "'timestamp,attack\\n' + 'x' * (4 * 2**20)")
    assert status == 400
    p01.run_code(NOTEBOOK)
    code, output = p01.run_command(["icslab", "homework", "submit"])
    assert code == 0, output
