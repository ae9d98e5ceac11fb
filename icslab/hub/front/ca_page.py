"""The page that hands participants the lab CA (lab-ca mode), served over plain HTTP at /ca/.

A participant's browser does not trust the lab's own CA until it is installed, so
this page is the one thing reached without HTTPS: it offers the certificate, its
SHA-256 fingerprint to compare with the projector (plain HTTP can be tampered
with), and the few clicks each system needs. It is one static file with inline
CSS: no script, nothing fetched from elsewhere (the room may have no internet).
"""

from __future__ import annotations

import html
from pathlib import Path

from icslab.files import write_atomic
from icslab.hub.front.certs import describe

CSS = """
body { margin: 0; background: #f4f6f8; color: #1d2430;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
section { background: #fff; border: 1px solid #d8dee6; border-radius: 8px;
  padding: 1rem 1.25rem; margin: 1rem 0; }
ol { margin: .25rem 0; padding-left: 1.5rem; }
li { margin: .2rem 0; }
a { color: #0b5cad; }
.lead { color: #485466; margin: 0 0 1.25rem; }
.download { display: inline-block; background: #0b5cad; color: #fff; text-decoration: none;
  font-weight: 600; padding: .6rem 1.1rem; border-radius: 6px; }
.check { border-color: #e0b341; background: #fffaf0; }
.fingerprint { display: block; font: 1rem/1.6 ui-monospace, Menlo, Consolas, monospace;
  background: #fff; border: 1px solid #e0c98a; border-radius: 6px; padding: .5rem .75rem;
  margin: .5rem 0; word-break: break-all; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .92em;
  background: #eef1f4; padding: 0 .25em; border-radius: 3px; }
.path { font-weight: 600; }
.then { font-size: 1.15rem; font-weight: 600; text-align: center; margin-top: 1.5rem; }
""".strip()

# Menu paths as each system words them; `→` separates the steps.
CHROME_AUTHORITIES = "Settings → Privacy and security → Security → Manage certificates"
STEPS: dict[str, list[tuple[str, list[str]]]] = {
    "Windows": [
        (
            "",
            [
                "Open the downloaded <code>lab-ca.crt</code> and click "
                "<span class=path>Install Certificate…</span>.",
                "Choose <span class=path>Current User</span>, then Next.",
                "Choose <span class=path>Place all certificates in the following store</span>, "
                "click Browse and pick "
                "<span class=path>Trusted Root Certification Authorities</span>; "
                "then Next and Finish.",
                "Answer Yes to the security warning. Edge and Chrome now trust the lab; "
                "if Firefox still warns, follow its steps under Linux.",
            ],
        )
    ],
    "macOS": [
        (
            "",
            [
                "Open the downloaded <code>lab-ca.crt</code>: Keychain Access adds it to the "
                "<span class=path>login</span> keychain "
                "(or pick <span class=path>System</span> for every user of this Mac).",
                "In Keychain Access, double-click the certificate "
                "<span class=path>icslab lab CA</span>.",
                "Open <span class=path>Trust</span> and set "
                "<span class=path>When using this certificate</span> to "
                "<span class=path>Always Trust</span>.",
                "Close the window and confirm with your password. "
                "If Firefox still warns, follow its steps under Linux.",
            ],
        )
    ],
    "Linux": [
        (
            "Chrome or Chromium",
            [
                f"Open <span class=path>{CHROME_AUTHORITIES} → Authorities → Import</span> "
                "(newer versions: <span class=path>Manage certificates → Installed by you → "
                "Trusted certificates → Import</span>).",
                "Choose <code>lab-ca.crt</code> and tick "
                "<span class=path>Trust this certificate for identifying websites</span>.",
            ],
        ),
        (
            "Firefox (on any system)",
            [
                "Open <span class=path>Settings → Privacy &amp; Security → Certificates → "
                "View Certificates… → Authorities → Import…</span>",
                "Choose <code>lab-ca.crt</code> and tick "
                "<span class=path>Trust this CA to identify websites</span>.",
            ],
        ),
        (
            "Whole system, Debian or Ubuntu (command-line tools)",
            [
                "<code>sudo cp lab-ca.crt /usr/local/share/ca-certificates/icslab-lab-ca.crt"
                "</code>",
                "<code>sudo update-ca-certificates</code>",
            ],
        ),
    ],
    "ChromeOS": [
        (
            "",
            [
                f"Open <span class=path>{CHROME_AUTHORITIES} → Authorities → Import</span>.",
                "Choose <code>lab-ca.crt</code>, tick "
                "<span class=path>Trust this certificate for identifying websites</span>, "
                "then OK.",
            ],
        )
    ],
}


def render_ca_page(*, title: str, ca_cert: Path, https_url: str) -> str:
    """The whole page as HTML text: download, fingerprint, steps per system, the lab link."""
    title, url = html.escape(title), html.escape(https_url, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: the lab certificate</title>
<style>
{CSS}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="lead">This lab signs its own HTTPS certificates. Install its certificate
authority once on this device, and the lab opens without security warnings.</p>
<p><a class="download" href="lab-ca.crt" download>Download lab-ca.crt</a></p>
{_fingerprint_section(ca_cert)}
{"".join(_system_section(name, groups) for name, groups in STEPS.items())}
<p class="then">Then open <a href="{url}">{url}</a></p>
</main>
</body>
</html>
"""


def write_ca_site(folder: Path, *, title: str, ca_cert: Path, https_url: str) -> Path:
    """(Re)write `folder/ca/index.html` and `folder/ca/lab-ca.crt`; `folder` is caddy's root."""
    folder, ca_cert = Path(folder), Path(ca_cert)
    site = folder / "ca"
    site.mkdir(parents=True, exist_ok=True)
    page = render_ca_page(title=title, ca_cert=ca_cert, https_url=https_url)
    write_atomic(site / "index.html", page.encode("utf-8"), 0o644)
    write_atomic(site / "lab-ca.crt", ca_cert.read_bytes(), 0o644)
    return folder


def _fingerprint_section(ca_cert: Path) -> str:
    pairs = describe(ca_cert).sha256.split(":")
    half = len(pairs) // 2
    # Two rows of sixteen bytes: easier to compare with the projector than one long line.
    rows = "<br>".join(html.escape(":".join(row)) for row in (pairs[:half], pairs[half:]))
    return f"""<section class="check">
<h2>Check it first</h2>
<p>The certificate's SHA-256 fingerprint:</p>
<code class="fingerprint">{rows}</code>
<p>Compare it with the fingerprint the instructor shows on the projector before you
trust it. If they differ, stop and tell the instructor. The certificate viewers below
show it too; or run <code>openssl x509 -noout -fingerprint -sha256 -in lab-ca.crt</code>.</p>
</section>
"""


def _system_section(name: str, groups: list[tuple[str, list[str]]]) -> str:
    parts = [f"<section>\n<h2>{name}</h2>\n"]
    for heading, steps in groups:
        if heading:
            parts.append(f"<h3>{heading}</h3>\n")
        parts.append("<ol>\n" + "".join(f"<li>{step}</li>\n" for step in steps) + "</ol>\n")
    return "".join(parts) + "</section>\n"
