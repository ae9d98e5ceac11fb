"""The lab in a real browser, over HTTPS, as participants and instructors meet it.

- A participant's day one: log in with the password from the credentials sheet,
  land in JupyterLab on their own host (https://p01.lab.test:PORT), run a cell.
- The attack per-user origins exist for: a page served from a participant's
  server, opened by a visiting instructor, tries to act on the hub with the
  instructor's session. With per-user origins it cannot; with one shared origin
  (hub.user_origins = false) the same page makes the instructor an API token.

Drives Debian's chromium (never a downloaded browser) with Playwright against a
real `icslab up` in lab-ca mode, in docker mode when an engine answers (always on
CI). The browser runs on a "laptop" on the room's network (a network namespace
wired to this host, icslab.testing.lan_host) and reaches the lab's front there,
as participants do. It trusts the lab's CA as a participant's Linux machine
would: through the NSS database in its HOME, never by ignoring certificate
errors. `lab.test` and `*.lab.test` reach the lab through chromium's own
resolver rules.

ICSLAB_E2E_SCREENSHOTS=/some/folder keeps a screenshot of each page the tests reach;
ICSLAB_E2E_DEBUG=1 prints the browser's console, navigations and failed requests (-s).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import docker
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from icslab.hub.docker_env import engine_answers
from icslab.languages import LANGUAGES
from icslab.paths import REPO, SETTINGS_FILE
from icslab.settings import Limits, load_settings, size_bytes
from icslab.testing import PARTICIPANT_IMAGE, TEST_HOST, RunningLab, docker_lab, lan_host
from icslab.waiting import wait_for

pytestmark = pytest.mark.e2e
ON_CI = bool(os.environ.get("CI"))


def _missing(what: str) -> None:
    if ON_CI:
        pytest.fail(what, pytrace=False)  # CI must never pass by skipping these
    pytest.skip(what, allow_module_level=True)


CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    _missing(f"{CHROMIUM} not found: install Debian's chromium (scripts/debian-deps browser)")
CERTUTIL = shutil.which("certutil")
if CERTUTIL is None:
    _missing(
        "certutil not found (it puts the lab CA in the browser's trust store): "
        "apt-get install libnss3-tools (or scripts/debian-deps browser)"
    )

# We run as root in a closed network: no sandbox, and no background calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 30_000  # any click, fill or page load
SPAWN_TIMEOUT_MS = 90_000  # login -> spawn-pending -> JupyterLab loaded
KERNEL_TIMEOUT_MS = 60_000  # kernel start + first execution
ATTACK_TIMEOUT_MS = 30_000  # the attack page's script, start to finish
LAB_CA = {"mode": "lab-ca"}
# The example's languages: the participant image is built for them (CI, `make images`).
WORKSHOP = {
    "title": "Test lab",
    "languages": load_settings(REPO / SETTINGS_FILE).workshop.languages,
}
SCREENSHOTS = os.environ.get("ICSLAB_E2E_SCREENSHOTS")


def evidence(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=True)


# -- the labs ------------------------------------------------------------------


def docker_image_present() -> bool:
    engine = docker.from_env(timeout=30)
    try:
        engine.images.get(PARTICIPANT_IMAGE)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        engine.close()


@pytest.fixture(scope="module")
def spawner() -> str:
    """Docker when an engine answers and the participant image exists (and always on
    CI), else local servers."""
    if not engine_answers():
        if ON_CI:
            pytest.fail(
                "no Docker engine answers: CI runs these tests in docker mode", pytrace=False
            )
        return "local"
    if not docker_image_present() and not ON_CI:  # on CI, the engine fixture fails
        return "local"
    return "docker"


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory, spawner):
    """The lab as a room gets it: HTTPS with the lab's CA, each participant's server
    on its own host."""
    folder = tmp_path_factory.mktemp("lab")
    if spawner == "docker":
        # The shared `prefix` fixture (tests/conftest.py) removes this lab's containers,
        # volumes, network and firewall table, and only those, once the lab stopped.
        prefix = request.getfixturevalue("prefix")
        running = docker_lab(folder, prefix, tls=LAB_CA, workshop=WORKSHOP)
    else:
        running = RunningLab(folder, tls=LAB_CA, hub={"spawner": "local"}, workshop=WORKSHOP)
    with running:
        yield running


@pytest.fixture(scope="module")
def shared_origin_lab(tmp_path_factory):
    """HTTPS still, but every participant's server under the hub's own origin."""
    folder = tmp_path_factory.mktemp("shared-origin-lab")
    with RunningLab(folder, tls=LAB_CA, hub={"spawner": "local", "user_origins": False}) as lab:
        yield lab


# -- a browser that trusts the lab's CA ------------------------------------------


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def laptop(tmp_path_factory) -> tuple[Path, str]:
    """A participant's laptop on the room's network: chromium runs in a network
    namespace of its own and reaches the lab at this host's address there. (On the
    lab server itself it would also see each container's new interface appear and
    abort every request in flight, net::ERR_NETWORK_CHANGED; a laptop never does.)
    Yields the command that starts chromium there, and the lab's address."""
    with lan_host() as (namespace, lab_address):
        launcher = tmp_path_factory.mktemp("laptop") / "chromium-on-the-laptop"
        launcher.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        launcher.chmod(0o755)
        yield launcher, lab_address


def trusting_chromium(playwright, ca: Path, home: Path, laptop: tuple[Path, str]):
    """Chromium with a fresh HOME whose NSS database trusts `ca`, as a participant
    who followed the lab CA page's Linux instructions has."""
    nssdb = f"sql:{home / '.pki' / 'nssdb'}"
    (home / ".pki" / "nssdb").mkdir(parents=True)
    for command in (
        ["-N", "--empty-password"],
        ["-A", "-t", "C,,", "-n", "icslab-lab-ca", "-i", str(ca)],
    ):
        subprocess.run([CERTUTIL, "-d", nssdb, *command], check=True, capture_output=True)
    launcher, address = laptop
    # The room's DNS, for this browser only: the lab and every participant's host.
    names = f"--host-resolver-rules=MAP {TEST_HOST} {address}, MAP *.{TEST_HOST} {address}"
    return playwright.chromium.launch(
        executable_path=str(launcher),
        args=[*CHROMIUM_ARGS, names],
        env={**os.environ, "HOME": str(home)},
    )


@pytest.fixture(scope="module")
def browser(playwright, lab, laptop, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    chromium = trusting_chromium(playwright, lab.trusted_ca(), home, laptop)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def shared_origin_browser(playwright, shared_origin_lab, laptop, tmp_path_factory):
    ca, home = shared_origin_lab.trusted_ca(), tmp_path_factory.mktemp("shared-origin-home")
    chromium = trusting_chromium(playwright, ca, home, laptop)
    yield chromium
    chromium.close()


def fresh_page(browser):
    """A fresh browser profile (no cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    if os.environ.get("ICSLAB_E2E_DEBUG"):
        page.on("requestfailed", lambda r: print("FAILED", r.url, r.failure, flush=True))
        page.on("console", lambda m: print("CONSOLE", m.type, m.text, flush=True))
        page.on("framenavigated", lambda f: print("NAV", f.url, flush=True))
    return page


@pytest.fixture
def page(browser, tmp_path):  # tmp_path receives failure-page.png
    page = fresh_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def shared_origin_page(shared_origin_browser, tmp_path):
    page = fresh_page(shared_origin_browser)
    yield page
    page.context.close()


# -- what a participant does ---------------------------------------------------


def log_in(page, lab, username, password, next_url=None):
    query = f"?next={quote(next_url, safe='')}" if next_url else ""
    page.goto(f"{lab.url}hub/login{query}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form [type=submit]").click()


def server_url(lab, username) -> str:
    """Where `username`'s server is as browsers reach it (their own host, here)."""
    with lab.client() as client:
        return client.server_url(username)


def wait_for_jupyterlab(page, lab, username):
    """The hub shows spawn-pending, then redirects to the server; wait for the Launcher."""
    lab_page = re.compile(rf"^{re.escape(server_url(lab, username))}lab/?(\?|$)")
    expect(page).to_have_url(lab_page, timeout=SPAWN_TIMEOUT_MS)
    expect(python_notebook_tile(page)).to_be_visible(timeout=SPAWN_TIMEOUT_MS)


def python_notebook_tile(page):
    # The Console section has a tile with the same label: pick the Notebook one.
    return page.locator('.jp-LauncherCard[data-category="Notebook"][title="Python 3 (ipykernel)"]')


def create_python_notebook(page):
    """Click the Launcher's notebook tile (no kernel dialog: the tile names the kernel)."""
    python_notebook_tile(page).click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(notebook).to_have_count(1)
    return notebook


def wait_for_idle_kernel(page):
    """Wait for the status bar's "Python 3 (ipykernel) | Idle", which JupyterLab shows
    only once the kernel is connected. Shift+Enter before that is dropped without a
    word (the cell stays `[ ]:`), and the toolbar's status circle cannot tell: it
    reads data-status="idle" before the kernel has even started."""
    kernel_status = page.locator("#jp-main-statusbar").get_by_title(
        re.compile(r"^Change kernel for ")
    )
    expect(kernel_status).to_have_text("Python 3 (ipykernel) | Idle", timeout=KERNEL_TIMEOUT_MS)


def run_in_first_cell(page, notebook, code):
    cell = notebook.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".cm-content").click()  # edit mode in the cell's CodeMirror editor
    page.keyboard.type(code)
    expect(cell.locator(".cm-content")).to_have_text(code)
    page.keyboard.press("Shift+Enter")
    return cell


# -- what a malicious participant does ------------------------------------------

# A page that, opened by a visitor, tries to make itself an API token for the
# visiting instructor trainer1: first as a plain cross-site POST (no preflight),
# then as the hub's own pages call the API, with the _xsrf token read from the
# hub's home page. It writes what happened in its title: "done:{...}".
ATTACK_PAGE = """<!doctype html>
<html><head><title>loading</title></head>
<body><h1>Tank 2 mass balance: results</h1><pre id="log">running</pre>
<script>
(async () => {
  const hub = %HUB%;
  const seen = {origin: self.origin};
  let xsrf = "";
  try {
    const home = await fetch(hub + "home", {credentials: "include"});
    const found = (await home.text()).match(/xsrf_token:\\s*"([^"]+)"/);
    xsrf = found ? found[1] : "";
    seen.home = home.status;
  } catch (error) {
    seen.home = "blocked";
  }
  const tokens = hub + "api/users/trainer1/tokens";
  const body = JSON.stringify({note: %NOTE%});
  try {
    await fetch(tokens, {method: "POST", credentials: "include", mode: "no-cors", body});
    seen.plain = "sent";
  } catch (error) {
    seen.plain = "blocked";
  }
  try {
    const headers = {"Content-Type": "application/json"};
    if (xsrf) headers["X-XSRFToken"] = xsrf;
    const made = await fetch(tokens, {method: "POST", credentials: "include", headers, body});
    seen.json = made.status;
  } catch (error) {
    seen.json = "blocked";
  }
  document.getElementById("log").textContent = JSON.stringify(seen, null, 2);
  document.title = "done:" + JSON.stringify(seen);
})();
</script>
</body></html>
"""
# Where a participant's server serves whatever its owner writes, as the server's own
# scripts: a JupyterLab extension's static files, from the owner's data directory.
EXTENSION = "icslab-notes"
PUBLISH = """
import os, jupyter_core.paths
folder = os.path.join(jupyter_core.paths.jupyter_data_dir(), "labextensions", {name!r}, "static")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "attack.html"), "w") as page:
    page.write({html!r})
"""
TOKEN_POSTS = re.compile(r"\] (\d{3}) POST /hub/api/users/trainer1/tokens\b")


def attack_page(lab, note: str) -> str:
    hub = json.dumps(f"{lab.url}hub/")
    return ATTACK_PAGE.replace("%HUB%", hub).replace("%NOTE%", json.dumps(note))


def publish_attack_page(lab) -> tuple[str, str]:
    """p01 writes the page from their kernel into their server's extension files,
    which the server serves as its own scripts; its address and the token note."""
    note = f"{EXTENSION}/static/attack.html"
    with lab.login("p01") as p01:
        p01.start_server()
        p01.run_code(PUBLISH.format(name=EXTENSION, html=attack_page(lab, note)))
    return f"{server_url(lab, 'p01')}lab/extensions/{note}", note


def upload_attack_page(lab) -> tuple[str, str]:
    """p01 uploads the page into their files, as JupyterLab's upload button does
    (jupyter-server serves /files/ sandboxed); its address and the token note."""
    note = "files/attack.html"
    with lab.login("p01") as p01:
        p01.start_server()
        p01.open_server()  # the server's _xsrf cookie, as a browser would have it
        model = {"type": "file", "format": "text", "content": attack_page(lab, note)}
        p01.server_api("p01", "PUT", "contents/attack.html", json=model).raise_for_status()
    return f"{server_url(lab, 'p01')}{note}", note


def visit(page, url: str, name: str) -> dict:
    """trainer1 opens `url` (consenting to identify themselves to p01's server if the
    hub asks) and waits for the page's script to report."""
    page.goto(url)
    if "/hub/api/oauth2/authorize" in page.url:
        evidence(page, f"consent-{name}")
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_function("document.title.startsWith('done:')", timeout=ATTACK_TIMEOUT_MS)
    return json.loads(page.title().removeprefix("done:"))


def trainer1_tokens(lab, note: str) -> list[dict]:
    """trainer1's API tokens with this note, as the hub lists them to trainer1 (the CLI's
    token may not read instructors' tokens)."""
    with lab.login("trainer1") as trainer1:
        listed = trainer1.api("GET", "users/trainer1/tokens")
        listed.raise_for_status()
    return [token for token in listed.json()["api_tokens"] if token.get("note") == note]


def attack(page, lab, url: str) -> tuple[dict, list[str]]:
    """trainer1 logs in and opens the page; what the page reports, and the statuses the
    hub gave the token requests it received meanwhile (from its log)."""
    log_in(page, lab, "trainer1", lab.credentials()["trainer1"], next_url="/hub/home")
    expect(page).to_have_url(f"{lab.url}hub/home")
    before = len(lab.logs())
    name = f"{lab.folder.name}-{Path(urlsplit(url).path).parent.name}"
    outcome = visit(page, url, name)
    evidence(page, f"attack-{name}")
    # The plain POST always leaves the page (no-cors); the JSON one, if it has a status.
    received = 1 + isinstance(outcome["json"], int)

    def token_requests() -> list[str] | None:
        found = TOKEN_POSTS.findall(lab.logs()[before:])
        return found if len(found) >= received else None

    return outcome, wait_for(token_requests, timeout=10, what="the token requests in the log")


# -- scenarios -----------------------------------------------------------------


def test_participant_logs_in_from_a_browser_and_runs_a_cell(page, lab):
    log_in(page, lab, "p01", lab.credentials()["p01"])
    wait_for_jupyterlab(page, lab, "p01")
    evidence(page, "jupyterlab")

    notebook = create_python_notebook(page)
    wait_for_idle_kernel(page)
    cell = run_in_first_cell(page, notebook, "6*7")

    expect(cell.locator(".jp-OutputArea-output")).to_have_text("42", timeout=KERNEL_TIMEOUT_MS)
    expect(cell.locator(".jp-InputPrompt")).to_have_text("[1]:")
    # their memory use against their limit (limits.memory), in the status bar
    limit = size_bytes(Limits().memory) / 2**20  # this lab's, the default
    memory = page.locator("#jp-main-statusbar").get_by_text(re.compile(r"^Mem: "))
    expect(memory).to_have_text(re.compile(rf"^Mem:\s+[\d.]+ / {limit:.2f} MB$"))
    evidence(page, "notebook")


def menu_item(page, label):
    """An item of the open menus (Lumino's items have no accessible name of their own)."""
    text = label if isinstance(label, re.Pattern) else re.compile(f"^{re.escape(label)}$")
    return page.locator(".lm-Menu:visible .lm-Menu-itemLabel").filter(has_text=text)


def test_a_participant_switches_jupyterlab_to_a_language_the_lab_offers(page, lab):
    log_in(page, lab, "p03", lab.credentials()["p03"])
    wait_for_jupyterlab(page, lab, "p03")
    menus = page.locator("#jp-MainMenu")
    menus.get_by_role("menuitem", name="Settings", exact=True).click()
    menu_item(page, "Language").click()
    offered = page.locator(".lm-Menu:visible").last.locator(".lm-Menu-itemLabel")
    expect(offered.first).to_be_visible()
    evidence(page, "language-menu")
    names = [LANGUAGES[language] for language in WORKSHOP["languages"]]
    # "Name - native name", after English; then JupyterLab's link to its documentation.
    labels = [label.split(" - ")[0] for label in offered.all_inner_texts()]
    assert labels[: 1 + len(names)] == ["English", *names]  # and no other language
    assert labels[1 + len(names) :] in (
        ["", "Install more languages…"],
        ["Install more languages…"],
    )

    menu_item(page, re.compile(r"^Japanese \(Japan\)")).click()
    page.get_by_role("button", name="Change and reload").click()

    expect(menus.get_by_role("menuitem", name="設定", exact=True)).to_be_visible(
        timeout=SPAWN_TIMEOUT_MS
    )
    evidence(page, "japanese")


def test_a_wrong_password_stays_on_the_login_page_with_an_error(page, lab):
    log_in(page, lab, "p02", "not-the-sheet-password")

    expect(page.locator(".login_error")).to_have_text("Invalid username or password")
    expect(page).to_have_url(re.compile(rf"^{re.escape(lab.url)}hub/login"))
    evidence(page, "wrong-password")


def keep(page, tmp_path, name: str) -> Path:
    """A screenshot kept as the test's artifact (and in ICSLAB_E2E_SCREENSHOTS if set)."""
    evidence(page, name)
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def test_the_room_view_shows_a_new_check_without_a_reload(page, lab, tmp_path):
    room = lab.resolved().service_url("icslab-room")
    log_in(page, lab, "trainer1", lab.credentials()["trainer1"], next_url="/hub/home")
    page.goto(room)
    expect(page.locator("#updated")).to_have_text(re.compile(r"^updated "))
    cell = page.locator('tr[data-user="p02"] td[data-exercise="welcome.sensor_count"]')
    expect(cell).to_have_class("none")

    p02 = lab.login("p02")
    p02.start_server(timeout=SPAWN_TIMEOUT_MS / 1000)
    assert p02.self_checks("3").strip().endswith("sent True")
    expect(cell).to_have_class("notyet", timeout=10_000)  # the page polls every 2 s
    expect(cell).to_have_text("1")
    assert p02.self_checks("2").strip().endswith("sent True")
    expect(cell).to_have_class("correct", timeout=10_000)
    expect(page.locator("#chart .main-svg").first).to_be_visible()  # plotly drew the bars
    keep(page, tmp_path, "room-view")


def test_an_announcement_appears_in_a_participants_jupyterlab(page, lab, tmp_path):
    log_in(page, lab, "p03", lab.credentials()["p03"])
    wait_for_jupyterlab(page, lab, "p03")
    told = lab.icslab("announce", "Lunch: back at 13:30")
    assert told.returncode == 0, told.stderr
    try:
        toast = page.locator(".Toastify__toast").filter(has_text="Lunch: back at 13:30")
        expect(toast).to_be_visible(timeout=15_000)  # notices are polled every 5 s
        expect(toast).to_be_in_viewport(ratio=1)  # slid all the way in
        keep(page, tmp_path, "announcement")
    finally:
        lab.icslab("announce", "--clear")


def save_notebook(client, path: str, source: str) -> None:
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
    cell["execution_count"] = None
    content = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    body = {"type": "notebook", "format": "json", "content": content}
    saved = client.server_api(client.username, "PUT", f"contents/{path}", json=body)
    assert saved.status_code in (200, 201), saved.text


def test_a_follow_page_shows_the_instructors_next_save_without_a_reload(page, lab):
    trainer = lab.login("trainer1")
    trainer.start_server(timeout=SPAWN_TIMEOUT_MS / 1000)
    trainer.open_server()
    save_notebook(trainer, "follow-me.ipynb", "first = 1")
    started = lab.icslab("live", "start", "follow-me.ipynb", "--as", "trainer1")
    assert started.returncode == 0, started.stderr
    try:
        log_in(page, lab, "p01", lab.credentials()["p01"], next_url="/hub/home")
        page.goto(lab.resolved().service_url("icslab-live") + "follow-me")
        view = page.frame_locator("#view")
        expect(view.get_by_text("first = 1")).to_be_visible()
        save_notebook(trainer, "follow-me.ipynb", "second = 2")
        expect(view.get_by_text("second = 2")).to_be_visible(timeout=10_000)
        expect(page.locator("#state")).to_have_text("following")
    finally:
        lab.icslab("live", "stop", "follow-me")


@pytest.mark.parametrize(
    "place", [publish_attack_page, upload_attack_page], ids=["served-as-extension", "uploaded"]
)
def test_a_participants_page_cannot_act_on_the_hub_as_a_visiting_instructor(page, lab, place):
    url, note = place(lab)
    p01_origin = f"https://p01.{TEST_HOST}:{lab.port}"
    assert url.startswith(f"{p01_origin}/user/p01/")

    outcome, answered = attack(page, lab, url)

    # The page's script runs on p01's host (or, from /files/ once sandboxed, in an
    # origin of its own): it cannot read the hub's pages, and its API call with JSON
    # never leaves the browser (CORS). The plain POST reaches the hub, which refuses it.
    origins = {p01_origin} if place is publish_attack_page else {p01_origin, "null"}
    assert outcome.pop("origin") in origins
    assert outcome == {"home": "blocked", "plain": "sent", "json": "blocked"}
    assert answered == ["403"]
    assert trainer1_tokens(lab, note) == []


def test_with_one_shared_origin_the_same_page_makes_the_instructor_a_token(
    shared_origin_page, shared_origin_lab
):
    """Why per-user origins are the default with TLS: this is the risk of
    hub.user_origins = false, where participants' servers share the hub's origin."""
    lab = shared_origin_lab
    url, note = publish_attack_page(lab)
    assert url.startswith(f"{lab.url}user/p01/")

    outcome, answered = attack(shared_origin_page, lab, url)

    # Same origin as the hub: the script reads the _xsrf token from /hub/home and
    # calls the API as trainer1. Only the plain POST fails (no JSON content type).
    assert outcome == {
        "origin": f"https://{TEST_HOST}:{lab.port}",
        "home": 200,
        "plain": "sent",
        "json": 201,
    }
    assert answered == ["403", "201"]
    assert len(trainer1_tokens(lab, note)) == 1


def test_an_uploaded_page_runs_sandboxed_even_on_a_shared_origin(
    shared_origin_page, shared_origin_lab
):
    """jupyter-server serves /files/ with `Content-Security-Policy: ...; sandbox
    allow-scripts`: an uploaded page's script runs in an origin of its own ("null"),
    so even under the hub's origin it can neither read the hub nor call its API."""
    lab = shared_origin_lab
    url, note = upload_attack_page(lab)

    outcome, answered = attack(shared_origin_page, lab, url)

    assert (outcome["origin"], outcome["home"], outcome["json"]) == ("null", "blocked", "blocked")
    assert "201" not in answered
    assert trainer1_tokens(lab, note) == []
