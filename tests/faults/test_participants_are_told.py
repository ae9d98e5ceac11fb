"""A participant's server dies under them (its container is killed): their open
JupyterLab says so and offers a restart (JupyterLab's hub extension, "Server
unavailable or unreachable"), and after the restart their last saved notebook is
there.

In a real browser as tests/e2e/test_browser.py drives it: Debian's chromium on a
"laptop" network namespace, trusting the lab CA through its NSS database, against a
docker-mode lab-ca lab. Screenshots of what the participant sees go to tmp_path.
"""

import os
import re
import shutil
import subprocess
import time

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from icslab.hub.docker_env import engine_answers
from icslab.testing import TEST_HOST, docker_lab, lan_host
from icslab.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
CERTUTIL = shutil.which("certutil")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (engine_answers() and os.path.exists(CHROMIUM) and CERTUTIL)
        and not os.environ.get("CI"),
        reason="needs a Docker engine, Debian's chromium and certutil",
    ),
]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
SPAWN_MS = 90_000
# JupyterLab polls its server's kernels and sessions (every 10 s) and shows the
# dialog at the first failure; the hub notices the dead server at its next poll.
TOLD_MS = 60_000
NOTEBOOK = "tank2.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prefix):
    with docker_lab(tmp_path_factory.mktemp("told-lab"), prefix, tls={"mode": "lab-ca"}) as lab:
        yield lab


@pytest.fixture
def page(lab, tmp_path):
    """Chromium on a laptop in the room (a network namespace: on the lab server it
    would see containers' interfaces come and go, ERR_NETWORK_CHANGED), trusting
    the lab CA as a participant who installed it does."""
    nssdb = tmp_path / "home" / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    trust = ["-A", "-t", "C,,", "-n", "lab-ca", "-i", str(lab.trusted_ca())]
    for args in (["-N", "--empty-password"], trust):
        subprocess.run([CERTUTIL, "-d", f"sql:{nssdb}", *args], check=True)
    with lan_host() as (namespace, address), sync_api.sync_playwright() as playwright:
        launcher = tmp_path / "chromium-on-the-laptop"
        launcher.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        launcher.chmod(0o755)
        names = f"--host-resolver-rules=MAP {TEST_HOST} {address}, MAP *.{TEST_HOST} {address}"
        browser = playwright.chromium.launch(
            executable_path=str(launcher),
            args=[*CHROMIUM_ARGS, names],
            env={**os.environ, "HOME": str(tmp_path / "home")},
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


def open_jupyterlab(page, lab):
    page.goto(f"{lab.url}hub/login")
    page.locator("input[name=username]").fill("p01")
    page.locator("input[name=password]").fill(lab.credentials()["p01"])
    page.locator("form [type=submit]").click()
    wait_for_launcher(page)


def wait_for_launcher(page):
    expect(page).to_have_url(re.compile(rf"^https://p01\.{TEST_HOST}:\d+/user/p01/lab"),
                             timeout=SPAWN_MS)  # fmt: skip
    tile = '.jp-LauncherCard[data-category="Notebook"][title="Python 3 (ipykernel)"]'
    expect(page.locator(tile)).to_be_visible(timeout=SPAWN_MS)
    return page.locator(tile)


def saved_source(lab) -> str | None:
    """The first cell of p01's saved notebook, as the server has it on disk."""
    with lab.login("p01") as p01:
        p01.open_server()
        found = p01.server_api("p01", "GET", f"contents/{NOTEBOOK}")
        if found.status_code != 200:
            return None
        cells = found.json()["content"]["cells"]
        return "".join(cells[0]["source"]) if cells else None


def test_a_participant_is_told_their_server_stopped_and_gets_their_work_back(
    lab, page, engine, prefix, tmp_path
):
    open_jupyterlab(page, lab)
    wait_for_launcher(page).click()
    cell = page.locator(".jp-NotebookPanel:visible .jp-Cell").first
    expect(page.locator("#jp-main-statusbar").get_by_title(re.compile("^Change kernel"))
           ).to_have_text("Python 3 (ipykernel) | Idle", timeout=60_000)  # fmt: skip
    cell.locator(".cm-content").click()
    page.keyboard.type("level = 6*7")
    page.keyboard.press("Control+s")  # the first save asks for a name
    page.get_by_role("textbox", name="File name").fill(NOTEBOOK)
    page.get_by_role("button", name="Rename and Save").click()
    wait_for(lambda: saved_source(lab) == "level = 6*7", timeout=30, what="the notebook saved")

    engine.containers.get(f"{prefix}-p01").kill()
    killed = time.monotonic()

    expect_told(page)
    told_after = time.monotonic() - killed
    page.screenshot(path=tmp_path / "told.png")  # what the participant sees
    early = click_restart(page)
    # Until the hub polls the server (Spawner.poll_interval, 30 s) it thinks it runs,
    # and its spawn page sends the participant on to the dead server: a 503 page.
    early.screenshot(path=tmp_path / "restart-too-early.png")
    too_early = early.locator("body").inner_text().strip()
    early.close()

    with lab.login("p01") as p01:
        wait_for(lambda: not p01.server_status(), timeout=60, what="the hub to mark it stopped")
    marked = time.monotonic() - killed
    # JupyterLab keeps polling and asks again; this time Restart starts a new server.
    expect_told(page)
    back = click_restart(page)
    wait_for_launcher(back)
    back.locator(".jp-DirListing-item", has_text=NOTEBOOK).dblclick()
    cell = back.locator(".jp-NotebookPanel:visible .jp-Cell").first
    expect(cell.locator(".cm-content")).to_have_text("level = 6*7")
    working = time.monotonic() - killed
    back.screenshot(path=tmp_path / "back.png")
    print(
        f"\ncontainer killed: JupyterLab's dialog after {told_after:.1f}s; Restart at once "
        f"showed {too_early.splitlines()[0]!r}; hub marked the server stopped after "
        f"{marked:.1f}s; Restart then had the notebook open after {working:.1f}s"
    )


TOLD = "Server unavailable or unreachable"
# A file-browser refresh that reached the dead server first may say this; the
# participant closes it, and JupyterLab then asks about the server.
NOT_FOUND = "Directory not found"


def expect_told(page) -> None:
    dialog = page.get_by_role("dialog").first
    for _ in range(5):
        expect(dialog).to_contain_text(re.compile(f"{TOLD}|{NOT_FOUND}"), timeout=TOLD_MS)
        if TOLD in dialog.inner_text():
            break
        dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_contain_text(TOLD)
    expect(dialog).to_contain_text("Your server at /user/p01/ is not running.")


def click_restart(page):
    """The dialog's Restart opens the hub's spawn page in a new tab: that tab."""
    with page.context.expect_page() as opened:
        page.get_by_role("dialog").get_by_role("button", name="Restart").click()
    opened.value.wait_for_load_state()
    return opened.value
