"""tls.mode = "files": `icslab up` and `icslab check` refuse a certificate that
cannot serve the room, naming the file and the problem, and nothing starts."""

from datetime import UTC, datetime, timedelta

import pytest
from cert_fixtures import write_pair
from typer.testing import CliRunner

from icslab.cli import app
from icslab.testing import write_roster, write_settings

NOW = datetime.now(UTC)
VALID = {"not_before": NOW - timedelta(days=1), "not_after": NOW + timedelta(days=90)}
ROSTER = [("trainer1", "", "instructor"), ("p01", "water", "participant")]


@pytest.fixture
def site(tmp_path):
    """A room's settings in files mode, certificate and key given by the site's IT."""
    write_roster(tmp_path / "roster.csv", ROSTER)
    write_settings(
        tmp_path / "lab.toml",
        # Local mode, so no engine is needed; as root on lab.test that is said outright.
        hub={
            "public_url": "https://lab.test:18443",
            "http_port": 18080,
            "local_mode_as_root": True,
        },
        tls={"mode": "files", "cert_file": "site.crt", "key_file": "site.key"},
    )
    return tmp_path


def run(site, command: str):
    args = [command, "--config", str(site / "lab.toml"), "--data-dir", str(site / "data")]
    return CliRunner().invoke(app, args)


def refused_by_up(site) -> str:
    result = run(site, "up")
    assert result.exit_code == 2, result.output
    # Nothing started and nothing was stored: no accounts, no resolved lab, no front.
    assert not (site / "data" / "credentials.csv").exists()
    assert not (site / "data" / "lab.json").exists()
    assert not (site / "data" / "tls" / "Caddyfile").exists()
    return " ".join(result.output.split())


def test_a_key_that_does_not_belong_to_the_certificate(site):
    write_pair(site, "site", **VALID)
    write_pair(site, "other", **VALID)
    (site / "site.key").write_bytes((site / "other.key").read_bytes())
    assert "site.key does not belong to" in refused_by_up(site)


def test_an_expired_certificate(site):
    write_pair(site, "site", not_before=NOW - timedelta(days=90), not_after=NOW - timedelta(1))
    assert "expired on" in refused_by_up(site)


def test_a_certificate_not_yet_valid(site):
    write_pair(site, "site", not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(9))
    assert "valid only from" in refused_by_up(site)


def test_a_certificate_without_the_participants_hosts_names_the_missing_one(site):
    write_pair(site, "site", dns=("lab.test",), **VALID)
    assert "does not cover p01.lab.test" in refused_by_up(site)


def test_a_certificate_for_another_site(site):
    write_pair(site, "site", dns=("other.test", "*.other.test"), cn="other.test", **VALID)
    output = refused_by_up(site)
    assert "does not cover lab.test" in output and "does not cover p01.lab.test" in output


def test_an_unreadable_file(site):
    write_pair(site, "site", **VALID)
    (site / "site.crt").unlink()
    output = refused_by_up(site)
    assert "site.crt" in output and "No such file" in output


def test_a_good_certificate_passes_the_check_and_is_described(site, monkeypatch):
    write_pair(site, "site", **VALID)
    # The room's DNS is not this machine's business in a unit test: nothing resolves.
    monkeypatch.setattr("icslab.hub.front.status.resolve", lambda host: [])
    result = run(site, "check")
    assert "certificate from files: CN=lab.test" in result.output
    assert "lab.test does not resolve: add an A record" in result.output
    assert result.exit_code == 1  # the DNS problem, not the certificate


def test_check_refuses_the_same_bad_file_as_up(site):
    write_pair(site, "site", **VALID)
    (site / "site.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    result = run(site, "check")
    assert result.exit_code == 2
    assert "site.key" in result.output


def test_tls_off_for_a_room_is_refused_naming_the_setting(tmp_path):
    write_roster(tmp_path / "roster.csv", ROSTER)
    write_settings(tmp_path / "lab.toml", hub={"public_url": "http://192.0.2.10:8000"})
    result = run(tmp_path, "up")
    assert result.exit_code == 2
    assert "tls.mode = 'off' would send passwords in clear text" in " ".join(result.output.split())
    assert not (tmp_path / "data" / "credentials.csv").exists()
