"""Docker mode against the real engine: one container per participant, work in a
volume, participants isolated from each other and from outside the lab.

Every container, volume and network made here carries a prefix unique to this
run, and only those are removed afterwards.
"""

import os
import signal

import pytest

from icslab.hub.docker_env import engine_answers, remove_lab_resources
from icslab.languages import locale
from icslab.paths import REPO, SETTINGS_FILE
from icslab.plant import connect, lifecycle
from icslab.settings import load_settings
from icslab.testing import PARTICIPANT_IMAGE as IMAGE
from icslab.testing import RunningLab, docker_lab, unique_prefix
from icslab.testing.client import KernelDied
from icslab.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    # Skipped where no engine runs; CI starts one, and there they must run.
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
EXAMPLE_SETTINGS = REPO / SETTINGS_FILE  # what CI and `make images` build the image for


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prefix):
    folder = tmp_path_factory.mktemp("docker-lab")
    with docker_lab(folder, prefix, limits={"memory": "600M"}) as running:
        yield running


def container(engine, prefix, user):
    found = engine.containers.list(all=True, filters={"name": f"{prefix}-{user}"})
    return next((c for c in found if c.name == f"{prefix}-{user}"), None)


def test_work_survives_the_container(lab, engine, prefix):
    p01 = lab.login("p01")
    p01.start_server()
    assert p01.run_code("6*7") == "42"
    p01.run_code("open('/home/jovyan/work/notes.txt', 'w').write('tank 2 mass balance')")
    assert container(engine, prefix, "p01").status == "running"

    p01.stop_server()
    wait_for(lambda: container(engine, prefix, "p01") is None, timeout=30, what="removal")

    p01.start_server()
    assert p01.run_code("print(open('/home/jovyan/work/notes.txt').read())") == (
        "tank 2 mass balance\n"
    )


def test_inside_a_container(lab):
    p01 = lab.login("p01")
    p01.start_server()
    checks = p01.run_code(
        "import os, icslab, pandas\n"
        "status = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines()"
        " if ':\\t' in l)\n"
        "data = os.environ['ICSLAB_DATA']\n"
        "try:\n"
        "    open(os.path.join(data, 'sample', 'x'), 'w')\n"
        "    writable = True\n"
        "except OSError:\n"
        "    writable = False\n"
        "print(os.getuid(), status['CapEff'].strip(), status['NoNewPrivs'].strip(), data,"
        " writable, os.path.exists(os.path.join(data, 'sample', 'scada.parquet')))"
    )
    assert checks.split() == ["1000", "0000000000000000", "1", "/opt/icslab/data", "False", "True"]
    limits = p01.run_code(
        "import os\n"
        "pids = next(p for p in ('/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max')"
        " if os.path.exists(p))\n"
        "mounts = [line.split()[1] for line in open('/proc/mounts')]\n"
        "print(open(pids).read().strip(), os.path.exists('/var/run/docker.sock'),"
        " [m for m in mounts if m.startswith(('/home', '/opt', '/var/run'))])"
    )
    # Process limit; no Docker socket; only the work and team volumes come from outside.
    assert limits == "512 False ['/home/jovyan/work', '/home/jovyan/work/team']\n"
    notification = "lab/api/settings/@jupyterlab/apputils-extension:notification"
    defaults = p01.http.get(f"user/p01/{notification}").json()["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false"  # offline lab: no news prompt
    material = p01.run_code(
        "import glob, json\n"
        "books = sorted(glob.glob('/opt/icslab/workshops/ics-week/*.ipynb'))\n"
        "tags = {t for b in books for c in json.load(open(b))['cells']"
        " for t in c['metadata'].get('tags', [])}\n"
        "print(len(books), 'solution' in tags, 'exercise' in tags)"
    )
    # The workshop's participant version: exercises, never the solutions.
    assert material == "9 False True\n"


def test_participants_cannot_reach_each_other_or_outside_but_reach_the_hub(lab, engine, prefix):
    p01, p02 = lab.login("p01"), lab.login("p02")
    p01.start_server()
    p02.start_server()
    network = f"{prefix}-net"
    other = container(engine, prefix, "p02").attrs["NetworkSettings"]["Networks"][network]
    outside = engine.containers.run(
        IMAGE, ["python3", "-m", "http.server", "8080"], name=f"{prefix}-outside",
        detach=True, remove=True, entrypoint=[],
    )  # fmt: skip
    try:
        outside.reload()
        outside_ip = outside.attrs["NetworkSettings"]["IPAddress"]
        running = lab.resolved()  # what `icslab up` resolved: gateway and hub API port
        hub_api = (running.docker_gateway, running.hub_api_port)
        targets = [(other["IPAddress"], 8888), (outside_ip, 8080), hub_api]
        assert p01.reach(targets) == ["closed", "closed", "open"]
    finally:
        outside.remove(force=True)


def test_a_memory_hog_loses_its_own_kernel_only(lab):
    p01, p02 = lab.login("p01"), lab.login("p02")
    p01.start_server()
    p02.start_server()
    with pytest.raises(KernelDied):
        p01.run_code("hog = bytearray(2 * 1024**3); hog[::4096] = b'x' * len(hog[::4096])")
    assert p02.run_code("6*7") == "42"
    assert p01.server_status().get("ready")
    assert p01.run_code("6*7") == "42"  # a fresh kernel on the same server


def test_a_participant_sees_their_memory_against_their_limit(lab):
    p01 = lab.login("p01")
    p01.start_server()
    shown = p01.memory_shown(holding_mib=200)
    assert shown["limits"]["memory"]["pss"] == 600 * 2**20  # limits.memory of this lab
    assert 200 * 2**20 <= shown["pss"] < 600 * 2**20


def test_a_self_check_in_a_container_reaches_the_instructors_room_view(lab):
    p02 = lab.login("p02")
    p02.start_server()
    assert p02.self_checks("2").strip().endswith("sent True")
    trainer = lab.login("trainer1")

    def p02_seen():
        state = trainer.http.get("services/icslab-room/state").json()
        return next(m for team in state["teams"] for m in team["members"] if m["user"] == "p02")

    assert p02_seen()["cells"]["welcome.sensor_count"]["verdict"] == "correct"
    # The room looks at the hub every 5 s.
    wait_for(lambda: p02_seen()["server"] == "running", timeout=15, what="p02's server seen")


def test_a_hub_restart_keeps_running_servers(lab, engine, prefix):
    p03 = lab.login("p03")
    p03.start_server()
    p03.run_code("open('/home/jovyan/work/draft.txt', 'w').write('v1')")
    before = container(engine, prefix, "p03").id

    lab.stop(how=signal.SIGTERM)
    assert container(engine, prefix, "p03").status == "running"
    lab.start()

    p03 = lab.login("p03")
    assert p03.server_status().get("ready")
    assert p03.run_code("print(open('/home/jovyan/work/draft.txt').read())") == "v1\n"
    assert container(engine, prefix, "p03").id == before


def test_a_missing_image_is_named_before_anything_starts(tmp_path, prefix, engine):
    lab = RunningLab(
        tmp_path, hub={"spawner": "docker"}, docker={"prefix": prefix, "image": "icslab-nope:1"}
    )
    with pytest.raises(RuntimeError, match=r"docker.image 'icslab-nope:1' is not on this machine"):
        lab.start(timeout=30)
    assert not (lab.data_dir / "credentials.csv").exists()


def test_participants_pick_among_the_languages_their_lab_lists(lab, tmp_path):
    # The image was built from the example settings (CI, `make images`): it holds their
    # languages' packs. This module's lab lists none: English only.
    p01 = lab.login("p01")
    p01.start_server()
    p01.open_server()
    assert p01.languages() == (["en"], "default", {})

    listed = load_settings(EXAMPLE_SETTINGS).workshop.languages
    assert listed, "the example settings offer languages besides English"
    own_prefix = unique_prefix()
    workshop = {"title": "Indo-Pacific week", "languages": listed}
    try:
        with docker_lab(tmp_path, own_prefix, workshop=workshop) as polyglot:
            p02 = polyglot.login("p02")
            p02.start_server()
            p02.open_server()
            offered, starts_in, strings = p02.languages()
            assert offered == sorted(["en", *map(locale, listed)])
            assert (starts_in, strings) == ("default", {})  # English until they pick one
    finally:
        remove_lab_resources(own_prefix, volumes=True)


def test_a_language_the_image_has_no_pack_for_is_named_before_anything_starts(tmp_path, prefix):
    lab = docker_lab(tmp_path, prefix, workshop={"title": "x", "languages": ["fr-FR"]})
    refused = r"workshop.languages lists fr-FR, but docker.image '.*' has no language pack for it"
    with pytest.raises(RuntimeError, match=refused):
        lab.start(timeout=30)
    assert "icslab images build --config" in lab.logs()
    assert not (lab.data_dir / "credentials.csv").exists()


def test_a_participant_pulls_published_material_into_their_volume(lab, engine, prefix):
    from icslab.material.publish import publish

    publish(lab.data_dir, "ics-week", "Day 1")
    link = lab.icslab("link", "ics-week", "--path", "00-welcome.ipynb").stdout.strip()
    p02 = lab.login("p02")
    p02.start_server()
    # The container fetches from the git service on the lab network's gateway.
    p02.follow_pull_link(link)
    listing = p02.run_code("import os; print(sorted(os.listdir('/home/jovyan/work/ics-week'))[:2])")
    assert listing == "['.git', '00-welcome.ipynb']\n"
    # The image's Jupyter config is what the server loaded: autopull (for
    # `material.pull_on_start`) and the kernel pool on, language servers off;
    # and the kernel above was the spare the server started with itself.
    log = engine.containers.get(f"{prefix}-p02").logs().decode()
    assert "icslab.singleuser.autopull | extension was successfully loaded" in log
    assert "icslab.singleuser.kernelpool | extension was successfully loaded" in log
    assert "jupyter_lsp | extension was successfully loaded" not in log
    assert "[icslab] handed out spare kernel" in log


def test_every_participant_notebook_runs_inside_the_image(lab):
    p03 = lab.login("p03")
    p03.start_server()
    # Module 08 watches its team's live plant: up, with 10 plant minutes of history.
    resolved = lab.resolved()
    lifecycle.up(resolved, speed=40)
    power = connect(lifecycle.data_url(lifecycle.folder_of(resolved, "power")))
    wait_for(lambda: len(power.history("1h")) >= 620, timeout=60, what="10 plant minutes")
    # In the participant's own container (600M limit), on the image's sample datasets.
    code = (
        "import glob, nbformat\n"
        "from icslab.notebooks.execute import QUICK, execute, printed\n"
        "from icslab.capstone import practice_environment\n"
        "exercises = unanswered = 0\n"
        "for path in sorted(glob.glob('/opt/icslab/workshops/ics-week/*.ipynb')):\n"
        "    notebook = nbformat.read(path, as_version=4)\n"
        "    exercises += sum('exercise' in c.metadata.get('tags', []) for c in notebook.cells)\n"
        "    done = execute(notebook, cwd='/home/jovyan/work', parameters=QUICK,\n"
        "                   env=practice_environment('/tmp/submissions'))\n"
        "    unanswered += printed(done).count('not answered yet')\n"
        "print(exercises, unanswered)"
    )
    # The last line: the inner kernels' stderr (an ipykernel warning) comes first.
    try:
        result = p03.run_code(code, timeout=400).strip().splitlines()[-1]
    finally:
        lifecycle.down(resolved)
    exercises, unanswered = map(int, result.split())
    assert exercises >= 9 * 3 and unanswered == exercises  # every check ran, none crashed


def test_team_volumes_are_shared_by_members_only_and_collect_reads_them(lab, prefix, tmp_path):
    p01, p02, p03 = lab.login("p01"), lab.login("p02"), lab.login("p03")
    for member in (p01, p02, p03):
        member.start_server()
    p01.run_code(
        "import nbformat; nbformat.write(nbformat.v4.new_notebook(), "
        "'/home/jovyan/work/team/detector.ipynb')"
    )
    team = "/home/jovyan/work/team"
    listing = f"import os; print(os.listdir('{team}'), os.stat('{team}').st_uid)"
    assert p02.run_code(listing) == "['detector.ipynb'] 1000\n"  # p01's teammate
    assert p03.run_code(listing) == "[] 1000\n"  # another team: its own, empty folder
    # A teammate joins p01's real-time collaboration room; another team cannot.
    room = {"format": "json", "type": "notebook"}
    p02.open_server("p01")
    joined = p02.server_api("p01", "PUT", "collaboration/session/team/detector.ipynb", json=room)
    assert joined.status_code in (200, 201) and joined.json()["fileId"]
    refused = p03.server_api("p01", "PUT", "collaboration/session/team/detector.ipynb", json=room)
    assert refused.status_code == 403
    code, submitted = p01.run_command(["icslab", "homework", "submit", "--message", "v1"])
    assert code == 0, submitted
    done = lab.icslab("homework", "collect", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (folder / "water" / "detector.html").exists()
    assert "team power: no submission yet" in done.stderr


def test_participants_follow_and_copy_an_instructors_live_notebook(lab):
    trainer = lab.login("trainer1")
    trainer.start_server()
    trainer.run_code(
        "import nbformat; nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("
        "'threshold = 3.5  # live')]); nbformat.write(nb, '/home/jovyan/work/live-demo.ipynb')"
    )
    started = lab.icslab("live", "start", "live-demo.ipynb", "--as", "trainer1")
    assert started.returncode == 0, started.stderr
    p01 = lab.login("p01")
    view = p01.http.get("services/icslab-live/live-demo/view").text  # read from the volume
    assert "threshold" in view and "# live" in view
    # From the participant's container, through the lab network's gateway.
    p01.start_server()
    code, copied = p01.run_command(["icslab", "live", "copy", "live-demo"])
    assert code == 0 and copied.startswith("copied to live/live-demo-"), copied
