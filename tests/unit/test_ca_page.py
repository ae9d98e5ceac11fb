"""The page that hands participants the lab CA over plain HTTP (lab-ca mode)."""

from __future__ import annotations

import re
import stat

import pytest

from icslab.hub.front import certs
from icslab.hub.front.ca_page import render_ca_page, write_ca_site

URL = "https://lab.test:8443/"


@pytest.fixture
def ca_cert(tmp_path):
    return certs.ensure_lab_ca(tmp_path / "lab-ca", "Water week")


def page(ca_cert, title="Water week", url=URL) -> str:
    return render_ca_page(title=title, ca_cert=ca_cert, https_url=url)


def test_the_page_shows_the_fingerprint_to_compare(ca_cert):
    text = page(ca_cert)
    fingerprint = certs.describe(ca_cert).sha256
    shown = re.search(r'<code class="fingerprint">(.*?)</code>', text, re.S).group(1)
    assert shown.replace("<br>", ":") == fingerprint
    assert "projector" in text


def test_the_page_offers_the_certificate_and_the_lab(ca_cert):
    text = page(ca_cert)
    assert '<a class="download" href="lab-ca.crt" download>' in text
    assert f'Then open <a href="{URL}">{URL}</a>' in text
    assert "<title>Water week: the lab certificate</title>" in text
    for heading in ("Windows", "macOS", "Linux", "ChromeOS"):
        assert f"<h2>{heading}</h2>" in text
    assert "Trusted Root Certification Authorities" in text and "Current User" in text
    assert "Always Trust" in text
    assert "sudo update-ca-certificates" in text
    assert "/usr/local/share/ca-certificates/icslab-lab-ca.crt" in text


def test_the_page_is_self_contained(ca_cert):
    text = page(ca_cert).lower()
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text.replace(URL, "")), (
        "nothing is fetched from elsewhere"
    )
    assert "<link" not in text and "@import" not in text


def test_the_title_and_url_are_escaped(ca_cert):
    text = page(ca_cert, title="<script>alert(1)</script>", url='https://lab.test/"><b>')
    assert "<script" not in text
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in text
    assert 'href="https://lab.test/&quot;&gt;&lt;b&gt;"' in text


def test_write_ca_site_writes_the_page_and_the_certificate(tmp_path, ca_cert):
    root = tmp_path / "site"
    assert write_ca_site(root, title="Water week", ca_cert=ca_cert, https_url=URL) == root
    index, copy = root / "ca" / "index.html", root / "ca" / "lab-ca.crt"
    assert index.read_text(encoding="utf-8") == page(ca_cert)
    assert copy.read_bytes() == ca_cert.read_bytes()
    for path in (index, copy):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in (root / "ca").iterdir()) == ["index.html", "lab-ca.crt"]


def test_write_ca_site_replaces_an_older_page(tmp_path, ca_cert):
    root = tmp_path / "site"
    write_ca_site(root, title="Old title", ca_cert=ca_cert, https_url=URL)
    write_ca_site(root, title="New title", ca_cert=ca_cert, https_url=URL)
    text = (root / "ca" / "index.html").read_text(encoding="utf-8")
    assert "<h1>New title</h1>" in text and "Old title" not in text
