"""Browser tests leave evidence when one fails."""

import pytest

HUB_LOG_LINES = 40


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, screenshot the page and show the hub log's last lines."""
    report = yield
    fixtures = getattr(item, "funcargs", {})
    if report.when != "call" or not report.failed or "page" not in fixtures:
        return report
    page, screenshot = fixtures["page"], fixtures["tmp_path"] / "failure.png"
    try:
        page.screenshot(path=screenshot, full_page=True)
        report.sections.append(("browser", f"page {page.url}\nscreenshot {screenshot}"))
    except Exception as error:  # the browser itself may be what failed
        report.sections.append(("browser", f"no screenshot: {error}"))
    if "lab" in fixtures:
        tail = fixtures["lab"].logs().splitlines()[-HUB_LOG_LINES:]
        report.sections.append(("hub log (last lines)", "\n".join(tail)))
    return report
