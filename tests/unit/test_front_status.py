"""What the instructor is told about the front door: DNS, certificate renewal,
the risk of shared origins, and which hosts may get a certificate on demand."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from icslab.hub.banner import USER_ORIGINS_OFF_RISK, _front
from icslab.hub.front import ask
from icslab.hub.front.certs import CertInfo
from icslab.hub.front.setup import Certificate
from icslab.hub.front.status import certificate_problems, dns_problems
from icslab.hub.launch import Started, free_port

ROOM = {"hub": {"public_url": "https://lab.test"}, "tls": {"mode": "acme"}}
HERE = ["192.0.2.10"]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def room(make_lab):
    return make_lab(**ROOM)


def test_dns_that_points_here_is_fine(room):
    assert dns_problems(room, resolver=lambda host: ["192.0.2.10"], here=HERE) == []


def test_a_missing_record_names_the_host_and_the_wildcard(room):
    found = dns_problems(room, resolver=lambda host: [] if host != "lab.test" else HERE, here=HERE)
    assert found == [
        "p01.lab.test does not resolve: add an A record (a wildcard record *.lab.test) for "
        "this server's address"
    ]


def test_a_record_pointing_elsewhere_is_named(room):
    (problem,) = dns_problems(
        room, resolver=lambda host: ["198.51.100.7"] if host == "lab.test" else HERE, here=HERE
    )
    assert problem.startswith("lab.test points at 198.51.100.7, not at this server (192.0.2.10)")


def cert(days_total: int, days_left: int) -> CertInfo:
    return CertInfo(
        subject="CN=lab.test",
        issuer="CN=Pebble Intermediate",
        not_before=NOW - timedelta(days=days_total - days_left),
        not_after=NOW + timedelta(days=days_left),
        names=["lab.test"],
        sha256="AB",
    )


def test_a_fresh_acme_certificate_is_fine():
    assert certificate_problems(cert(90, 60), acme=True, now=NOW) == []


def test_an_acme_certificate_past_its_renewal_point_says_renewal_failed():
    (problem,) = certificate_problems(cert(90, 20), acme=True, now=NOW)
    assert "caddy has not renewed it yet: it keeps serving this one" in problem


def test_a_site_file_certificate_is_not_expected_to_renew():
    assert certificate_problems(cert(90, 20), acme=False, now=NOW) == []


def test_an_expired_certificate_is_a_problem_in_any_mode():
    (problem,) = certificate_problems(cert(90, -1), acme=False, now=NOW)
    assert "expired on" in problem


def started(lab) -> Started:
    return Started(
        lab, accounts=None, group_changes=[], lock_fd=-1, certificate=Certificate("x", None)
    )


def test_shared_origins_print_the_risk_at_every_start(make_lab):
    shared = make_lab(hub={**ROOM["hub"], "user_origins": False}, tls={"mode": "acme"})
    assert USER_ORIGINS_OFF_RISK in _front(started(shared))
    assert USER_ORIGINS_OFF_RISK not in _front(started(make_lab(**ROOM)))


def test_only_the_labs_own_hosts_may_get_a_certificate_on_demand(room):
    port = free_port()
    server = ask.serve(ask.lab_hosts(room, ["icslab-live"]), port)
    try:

        def answer(domain: str) -> int:
            url = f"http://127.0.0.1:{port}/ask"
            return httpx.get(url, params={"domain": domain}).status_code

        for own in (
            "lab.test",
            "p01.lab.test",
            "trainer1.lab.test",
            "icslab-live--service.lab.test",
        ):
            assert answer(own) == 200, own
        for other in (
            "evil.lab.test",
            "p01.other.test",
            "lab.test.evil.example",
            "",
            "x.p01.lab.test",
        ):
            assert answer(other) == 403, other
    finally:
        server.shutdown()


def test_a_fingerprint_is_printed_as_it_is(capsys):
    """Rich read ':CD:' in a SHA-256 fingerprint as an emoji code and printed a 💿:
    participants compare these with the projector, byte for byte."""
    from icslab.cli.output import console

    console.print("SHA-256 9C:CD:1B:7F", highlight=False)
    assert capsys.readouterr().out == "SHA-256 9C:CD:1B:7F\n"
