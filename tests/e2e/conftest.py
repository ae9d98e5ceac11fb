"""Browser tests leave evidence when one fails."""

import pytest
from playwright.sync_api import Page

from icslab.testing import RunningLab

HUB_LOG_LINES = 40


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, screenshot its pages (into its tmp_path, which every
    page fixture requests) and show its labs' last hub log lines."""
    report = yield
    if report.when != "call" or not report.failed:
        return report
    fixtures = getattr(item, "funcargs", {})
    for name, value in fixtures.items():
        if isinstance(value, Page):
            screenshot = fixtures["tmp_path"] / f"failure-{name}.png"
            try:
                value.screenshot(path=screenshot, full_page=True)
                report.sections.append((name, f"page {value.url}\nscreenshot {screenshot}"))
            except Exception as error:  # the browser itself may be what failed
                report.sections.append((name, f"no screenshot: {error}"))
        elif isinstance(value, RunningLab):
            tail = value.logs().splitlines()[-HUB_LOG_LINES:]
            report.sections.append((f"{name}: hub log (last lines)", "\n".join(tail)))
    return report
