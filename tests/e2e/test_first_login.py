"""A participant's first login, as a new user meets it in chromium: with the example
material settings (`make up` publishes ics-week, pulls it on start and lands on it),
p01 logs in and JupyterLab opens the week's welcome notebook: rendered, not a
"file not found", with the workshop beside it in the file browser.

Local mode on loopback (no TLS): what is tested is the material, not the front door,
which tests/e2e/test_browser.py covers."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from icslab.testing import RunningLab

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE_MATERIAL = {"publish": ["ics-week"], "pull_on_start": ["ics-week"], "landing": "ics-week"}


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found", pytrace=False)
        pytest.skip(f"{CHROMIUM} not found")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        yield browser
        browser.close()


def test_a_first_login_opens_the_welcome_notebook(tmp_path, chromium):
    with RunningLab(tmp_path / "lab", material=EXAMPLE_MATERIAL) as lab:
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.goto(f"{lab.url}hub/login")
        page.locator("input[name=username]").fill("p01")
        page.locator("input[name=password]").fill(lab.credentials()["p01"])
        page.locator("form [type=submit]").click()

        expect(page).to_have_url(re.compile(r"/user/p01/lab/tree/ics-week/00-welcome\.ipynb$"))
        notebook = page.locator(".jp-NotebookPanel:visible")
        expect(
            notebook.get_by_role("heading", name=re.compile("Welcome to the ICS"))
        ).to_be_visible()
        page.screenshot(path=tmp_path / "first-login.png")
        # The file browser shows the workshop's folder: the rest of the week is one click away.
        listing = page.locator(".jp-DirListing-itemText")
        expect(listing.filter(has_text="01-historian.ipynb")).to_have_count(1)
        expect(listing.filter(has_text="07-capstone.ipynb")).to_have_count(1)
        expect(page.get_by_text("File Load Error")).to_have_count(0)
