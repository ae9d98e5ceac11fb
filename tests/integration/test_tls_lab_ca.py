"""A room with no internet, served over HTTPS by the lab's own CA: participants
reach https://lab.test (here on 127.0.0.2, as if on the room's network), each
participant's server lives on its own host, and plain HTTP only redirects or
hands out the CA.
"""

import socket
import ssl
import subprocess

import dns.message
import dns.query
import dns.rcode
import httpx
import nbformat
import psutil
import pytest

from icslab.hub.front.certs import describe
from icslab.hub.launch import free_port
from icslab.material.publish import publish
from icslab.testing import TEST_ADDRESS, TEST_HOST, RunningLab
from icslab.testing.client import LabClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A room with no name server of its own: the lab answers for its names."""
    with RunningLab(
        tmp_path_factory.mktemp("tls-lab"),
        tls={"mode": "lab-ca"},
        dns={"serve": True, "address": TEST_ADDRESS, "port": free_port()},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def p01(lab):
    client = lab.login("p01")
    client.start_server()
    yield client
    client.close()


def handshake(lab, host: str, context: ssl.SSLContext) -> dict:
    with ssl_socket(lab, host, context) as tls:
        return tls.getpeercert()


def ssl_socket(lab, host, context):
    raw = socket.create_connection((TEST_ADDRESS, lab.port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def test_a_client_trusting_only_the_lab_ca_logs_in_and_runs_code_on_its_own_host(lab, p01):
    only_lab_ca = ssl.create_default_context(cafile=str(lab.trusted_ca()))
    for host in (TEST_HOST, f"p01.{TEST_HOST}"):
        assert handshake(lab, host, only_lab_ca)["subject"]  # verified against the lab CA
    opened = p01.open_server()
    assert str(opened.url) == f"https://p01.{TEST_HOST}:{lab.port}/user/p01/lab"
    assert p01.run_code("6*7") == "42"


def test_a_client_that_does_not_trust_the_lab_ca_is_refused(lab):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(lab, TEST_HOST, ssl.create_default_context())


def test_plain_http_redirects_to_https_keeping_the_port(lab):
    answer = httpx.get(
        f"http://{TEST_ADDRESS}:{lab.http_port}/hub/login?next=%2Fhub%2F",
        headers={"Host": TEST_HOST},
    )
    assert answer.status_code == 308
    assert answer.headers["location"] == f"https://{TEST_HOST}:{lab.port}/hub/login?next=%2Fhub%2F"


def test_plain_http_hands_out_the_lab_ca_and_its_fingerprint(lab):
    base = f"http://{TEST_ADDRESS}:{lab.http_port}"
    page = httpx.get(f"{base}/ca/", headers={"Host": TEST_HOST})
    ca = httpx.get(f"{base}/ca/lab-ca.crt", headers={"Host": TEST_HOST})
    assert page.status_code == ca.status_code == 200
    assert describe(lab.trusted_ca()).sha256 in page.text.replace("<br>", ":")  # two rows
    assert ca.content == lab.trusted_ca().read_bytes()
    # The command an instructor runs for the projector prints the same fingerprint.
    out = lab.folder / "handout.crt"
    done = lab.icslab("tls", "ca", "--out", str(out), "--config", str(lab.config))
    assert done.returncode == 0, done.stderr
    assert describe(lab.trusted_ca()).sha256 in done.stdout
    assert out.read_bytes() == ca.content


@pytest.mark.parametrize("where", ["hub", "server"])
def test_responses_carry_hsts_and_the_lab_headers(lab, p01, where):
    url = "hub/login" if where == "hub" else f"{p01.server_url('p01')}api/status"
    headers = p01.http.get(url).headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    # Added beside the server's own policy (its sandbox on /files/ stays), never instead.
    assert "frame-ancestors 'self'" in headers.get_list("content-security-policy")


def test_every_cookie_is_secure_and_the_hubs_never_reach_a_participants_host(lab, p01):
    assert p01.http.cookies.jar, "logged in, so there are cookies"
    assert all(cookie.secure for cookie in p01.http.cookies.jar)
    sent = []
    with LabClient(
        lab.url, ca=lab.trusted_ca(), resolve={TEST_HOST: TEST_ADDRESS}, user_domain=TEST_HOST
    ) as visitor:
        visitor.http.event_hooks["request"].append(sent.append)  # after the cookies are set
        visitor.login("trainer1", lab.credentials()["trainer1"])
        visitor.open_server("p01")  # an instructor opening a participant's server
    to_p01 = [r for r in sent if r.url.host == f"p01.{TEST_HOST}"]
    assert to_p01
    for request in to_p01:
        assert "jupyterhub-hub-login" not in request.headers.get("cookie", "")


def test_only_the_front_listens_beyond_loopback(lab, p01):
    hub = psutil.Process(lab.process.pid)
    listening = {}
    for process in [hub, *hub.children(recursive=True)]:
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                listening[connection.laddr.port] = (process.name(), connection.laddr.ip)
    front = {lab.port, lab.http_port}
    names = lab.resolved().settings.dns.port
    for port, (name, address) in listening.items():
        if port in front:
            assert (name, address) in {("caddy", "::"), ("caddy", "0.0.0.0")}, (port, name)
        elif port == names:
            assert name == "dnsmasq"  # one socket per interface address
        else:
            assert address == "127.0.0.1", (port, name, address)  # proxy, APIs, servers
    assert front <= set(listening)


def test_caddy_accepts_the_config_icslab_wrote(lab):
    checked = subprocess.run(
        ["caddy", "validate", "--config", str(lab.data_dir / "tls" / "Caddyfile")],
        capture_output=True,
        text=True,
        env={"HOME": str(lab.data_dir / "tls"), "PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr


def ask_the_lab(lab, name: str) -> dns.message.Message:
    query = dns.message.make_query(name, "A")
    return dns.query.udp(query, "127.0.0.1", port=lab.resolved().settings.dns.port, timeout=5)


@pytest.mark.parametrize(
    "name", [TEST_HOST, f"p01.{TEST_HOST}", f"icslab-live--service.{TEST_HOST}"]
)
def test_a_laptop_pointed_at_the_labs_dns_finds_the_lab_and_every_server(lab, name):
    answer = ask_the_lab(lab, name)
    assert answer.rcode() == dns.rcode.NOERROR
    assert [item.address for rrset in answer.answer for item in rrset] == [TEST_ADDRESS]


@pytest.mark.parametrize("name", ["example.org", f"{TEST_HOST}.evil.example"])
def test_the_labs_dns_answers_nothing_but_the_labs_names(lab, name):
    answer = ask_the_lab(lab, name)
    assert answer.rcode() == dns.rcode.REFUSED and not answer.answer


def test_a_pull_link_is_https_and_lands_on_the_participants_own_host(lab, p01, tmp_path):
    source = tmp_path / "water-week"
    source.mkdir()
    (source / "workshop.toml").write_text(
        'title = "Water week"\n'
        '[[modules]]\nfile = "01-levels.ipynb"\ntitle = "Levels"\nminutes = 20\ngoal = "Levels"\n'
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("level = 4.2")])
    nbformat.write(notebook, source / "01-levels.ipynb")
    publish(lab.data_dir, "water-week", "Day 1", root=tmp_path)

    link = lab.icslab("link", "water-week").stdout.strip()
    assert link.startswith(f"https://{TEST_HOST}:{lab.port}/hub/user-redirect/git-pull?")
    events = p01.follow_pull_link(link)
    assert events[-1]["phase"] == "finished"
    assert (lab.data_dir / "users" / "p01" / "water-week" / "01-levels.ipynb").exists()


def test_the_live_follow_page_is_on_the_services_own_host(lab, p01):
    trainer = lab.login("trainer1")
    trainer.start_server()
    trainer.open_server()
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    saved = trainer.server_api(
        "trainer1", "PUT", "contents/demo.ipynb", json={"type": "notebook", "content": notebook}
    )
    assert saved.status_code in (200, 201), saved.text
    started = lab.icslab("live", "start", "demo.ipynb", "--as", "trainer1")
    assert started.returncode == 0, started.stderr
    page_url = f"https://icslab-live--service.{TEST_HOST}:{lab.port}/services/icslab-live/demo"
    assert page_url in started.stdout
    page = p01.http.get(page_url)  # the service's own OAuth round trip, on its host
    assert page.status_code == 200 and "icslab live copy demo" in page.text
