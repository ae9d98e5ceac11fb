"""A lab in acme mode against a real ACME CA on this machine (Debian's pebble):
the public host's certificate at start, each roster user's on their first visit,
none for a host that is not the lab's, and the stored ones reused after a restart.

Pebble issues without contacting the lab (PEBBLE_VA_ALWAYS_VALID) and makes a new
root on every start: the lab's clients trust only that root.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import NamedTuple
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from icslab.hub.launch import free_port
from icslab.testing import TEST_ADDRESS, TEST_HOST, RunningLab
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration

TOOLS = ("pebble", "caddy")  # Debian's packages


class Pebble(NamedTuple):
    directory_url: str
    listener_cert: Path  # pebble's own HTTPS listener: what caddy trusts (acme_ca_root)
    issuing_root: Path  # the root pebble issues under: what the lab's clients trust
    log: Path
    management_url: str  # pebble's test-only API: its intermediate, certificates by serial


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _write_listener_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for pebble's HTTPS listener on 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble listener (test)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "listener.crt", folder / "listener.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _get(url: str, listener_cert: Path, timeout: float = 5) -> bytes:
    context = ssl.create_default_context(cafile=str(listener_cert))
    with urlopen(url, context=context, timeout=timeout) as response:
        return response.read()


@contextlib.contextmanager
def running_pebble(
    folder: Path, *, validate: bool = False, http_port=5002, tls_port=5001, dns: str = ""
):
    """Pebble on free loopback ports. By default it issues at once without contacting
    the lab; with `validate`, it checks challenges for real on the lab's ports, asking
    `dns` (host:port) where the lab's names are."""
    _require_tools()
    folder.mkdir(parents=True, exist_ok=True)
    listener_cert, listener_key = _write_listener_cert(folder)
    port, management_port = free_port(), free_port()
    config = folder / "pebble.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{port}",
                    "managementListenAddress": f"127.0.0.1:{management_port}",
                    "certificate": str(listener_cert),
                    "privateKey": str(listener_key),
                    "httpPort": http_port,  # where it checks HTTP-01: the lab's port 80
                    "tlsPort": tls_port,
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PEBBLE_VA_NOSLEEP": "1",
        "PEBBLE_WFE_NONCEREJECT": "0",  # no random bad-nonce rejections to retry
        "PEBBLE_AUTHZREUSE": "100",
        **({} if validate else {"PEBBLE_VA_ALWAYS_VALID": "1"}),  # pass without a request
    }
    log = folder / "pebble.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["pebble", "-config", str(config), *(["-dnsserver", dns] if dns else [])],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )
    directory_url = f"https://127.0.0.1:{port}/dir"
    management_url = f"https://127.0.0.1:{management_port}"

    def answers(url: str) -> bytes | None:
        if process.poll() is not None:
            raise RuntimeError(f"pebble exited with {process.returncode}:\n{log.read_text()}")
        try:
            return _get(url, listener_cert, timeout=2)
        except (URLError, OSError):
            return None

    try:
        wait_for(lambda: answers(directory_url), timeout=30, what=f"pebble on {directory_url}")
        root = wait_for(
            lambda: answers(f"{management_url}/roots/0"), timeout=30, what="pebble's root"
        )
        issuing_root = folder / "issuing-root.pem"
        issuing_root.write_bytes(root)
        yield Pebble(directory_url, listener_cert, issuing_root, log, management_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def pebble(tmp_path_factory):
    with running_pebble(tmp_path_factory.mktemp("pebble")) as running:
        yield running


def _acme(pebble: Pebble) -> dict:
    return {
        "mode": "acme",
        "acme_directory": pebble.directory_url,
        "acme_ca_root": str(pebble.listener_cert),
    }


@pytest.fixture(scope="module")
def acme_lab(pebble, tmp_path_factory):
    """A lab whose certificates come from pebble; its clients trust only pebble's root."""
    folder = tmp_path_factory.mktemp("acme-lab")
    with RunningLab(folder, ca=pebble.issuing_root, tls=_acme(pebble)) as lab:
        yield lab


# -- what the tests look at ----------------------------------------------------------


def _trusting(root: Path) -> ssl.SSLContext:
    """Verifies as the lab's clients do: pebble's root only, and the host name."""
    return ssl.create_default_context(cafile=str(root))


def _served(lab: RunningLab, host: str, context: ssl.SSLContext) -> x509.Certificate:
    """The certificate the front presents for `host` (SNI), at the lab's address."""
    with (
        socket.create_connection((TEST_ADDRESS, lab.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def _stored(lab: RunningLab, host: str) -> list[Path]:
    """Certificates for `host` in caddy's storage (one folder per ACME CA)."""
    storage = lab.resolved().paths.caddy_storage
    return sorted(storage.glob(f"certificates/*/{host}/{host}.crt"))


def _names(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _orders(pebble: Pebble) -> int:
    """Orders pebble has taken, from any account, for any name."""
    return len(re.findall(r"Added order \S+ to the db", pebble.log.read_text()))


_issued_names: dict[str, list[str]] = {}


def _issued_for(pebble: Pebble, host: str) -> list[int]:
    """Serials of the certificates pebble issued that name `host`: its log lists each
    serial (in hex), its management API the certificate itself."""
    serials = re.findall(r"Issued certificate serial ([0-9a-f]+) for order", pebble.log.read_text())
    for serial in serials:
        if serial not in _issued_names:
            status = json.loads(
                _get(
                    f"{pebble.management_url}/cert-status-by-serial/{serial}", pebble.listener_cert
                )
            )
            cert = x509.load_pem_x509_certificate(status["Certificate"].encode())
            _issued_names[serial] = _names(cert)
    return [int(serial, 16) for serial in serials if host in _issued_names[serial]]


# -- the stories ---------------------------------------------------------------------


def test_the_public_host_gets_its_certificate_from_the_acme_ca(pebble, acme_lab):
    p01 = acme_lab.login("p01")  # over https://lab.test, trusting only pebble's root
    p01.start_server()

    assert p01.server_url("p01") == f"https://p01.{TEST_HOST}:{acme_lab.port}/user/p01/"
    assert p01.run_code("6*7") == "42"

    served = _served(acme_lab, TEST_HOST, _trusting(pebble.issuing_root))
    intermediate = x509.load_pem_x509_certificate(
        _get(f"{pebble.management_url}/intermediates/0", pebble.listener_cert)
    )
    served.verify_directly_issued_by(intermediate)
    assert _names(served) == [TEST_HOST]
    assert served.serial_number in _issued_for(pebble, TEST_HOST)
    [stored] = _stored(acme_lab, TEST_HOST)
    assert _fingerprint(x509.load_pem_x509_certificate(stored.read_bytes())) == _fingerprint(served)


def test_a_roster_users_host_gets_its_certificate_on_first_visit(pebble, acme_lab):
    # p02: no other test here visits p02's host, so this is its first visit.
    host = f"p02.{TEST_HOST}"
    assert _stored(acme_lab, host) == []
    assert _issued_for(pebble, host) == []

    p02 = acme_lab.login("p02")
    p02.start_server()
    assert p02.open_server().url.host == host

    [stored] = _stored(acme_lab, host)
    served = _served(acme_lab, host, _trusting(pebble.issuing_root))
    assert _names(served) == [host]
    assert _fingerprint(served) == _fingerprint(x509.load_pem_x509_certificate(stored.read_bytes()))
    assert _issued_for(pebble, host) == [served.serial_number]


@pytest.mark.parametrize("host", [f"evil.{TEST_HOST}", "other.test"])
def test_a_host_that_is_not_the_labs_gets_no_certificate(pebble, acme_lab, host):
    orders = _orders(pebble)
    # Not even an unchecked certificate: the front has none to present for this name.
    anything = ssl.create_default_context()
    anything.check_hostname = False
    anything.verify_mode = ssl.CERT_NONE

    with pytest.raises(ssl.SSLError):
        _served(acme_lab, host, anything)

    refusal = f"refused a certificate for {host!r}"
    wait_for(lambda: refusal in acme_lab.logs(), timeout=10, what=f"{refusal!r} in the hub log")
    assert _stored(acme_lab, host) == []
    assert _orders(pebble) == orders  # caddy asked the lab, not the CA
    assert host not in pebble.log.read_text()  # pebble names each host it validates
    assert _issued_for(pebble, host) == []


def test_a_restart_reuses_the_stored_certificate(pebble, tmp_path):
    lab = RunningLab(tmp_path, ca=pebble.issuing_root, tls=_acme(pebble))
    trusting = _trusting(pebble.issuing_root)
    try:
        lab.start()
        before = _served(lab, TEST_HOST, trusting)
        lab.stop()
        issued = _issued_for(pebble, TEST_HOST)
        assert before.serial_number in issued

        lab.start()  # the same folder and data dir (on another free port)
        after = _served(lab, TEST_HOST, trusting)
        assert lab.login("p01").server_status() == {}  # participants log in again
    finally:
        lab.stop()

    assert _fingerprint(after) == _fingerprint(before)
    assert _issued_for(pebble, TEST_HOST) == issued  # nothing new from the CA
    assert len(_stored(lab, TEST_HOST)) == 1


def test_a_real_challenge_through_the_labs_own_ports_and_names(tmp_path):
    """Pebble checks the challenge for real: it asks the lab's own DNS (dns.serve)
    where lab.test is, then fetches the key authorization from the lab's plain-HTTP
    port (or its HTTPS port, for TLS-ALPN), as Let's Encrypt would on 80 and 443."""
    http_port, https_port, dns_port = free_port(), free_port(), free_port()
    with running_pebble(
        tmp_path / "pebble",
        validate=True,
        http_port=http_port,
        tls_port=https_port,
        dns=f"127.0.0.1:{dns_port}",
    ) as pebble:
        lab = RunningLab(
            tmp_path / "lab",
            ca=pebble.issuing_root,
            port=https_port,
            tls=_acme(pebble),
            hub={"http_port": http_port},
            dns={"serve": True, "address": TEST_ADDRESS, "port": dns_port},
        )
        with lab:
            served = _served(lab, TEST_HOST, _trusting(pebble.issuing_root))
            assert served.subject.rfc4514_string() == f"CN={TEST_HOST}"
        checked = pebble.log.read_text()
        assert "set VALID by completed challenge" in checked
        # Caddy chose the challenge; either way the lab's own port answered pebble.
        answered = re.search(
            r'"served key authentication[^"]*".*"challenge":"([a-z0-9-]+)"', lab.logs()
        )
        assert answered, lab.logs()[-3000:]
        if answered.group(1) == "http-01":
            wanted = f"validate w/ HTTP: http://{TEST_HOST}:{http_port}/.well-known/acme-challenge/"
            assert wanted in checked
