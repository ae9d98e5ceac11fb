"""The lab CA, its server certificate, and the check of a site's own certificate files.

Every certificate here is made by the test itself with cryptography: none is committed.
"""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cert_fixtures import NOW, build_cert, key_pem, new_key, pem, write_pair
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from icslab.errors import InputError
from icslab.hub.front import certs

verification = pytest.importorskip("cryptography.x509.verification")

LAB_HOSTS = ["lab.test", "p01.lab.test", "icslab-live--service.lab.test"]


def problems_of(cert_file: Path, key_file: Path, **options) -> list[str]:
    options.setdefault("hosts", ["lab.test"])
    options.setdefault("now", NOW)
    with pytest.raises(InputError) as refused:
        certs.check_files(cert_file, key_file, **options)
    return refused.value.problems


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def lab_ca(tmp_path: Path) -> Path:
    return certs.ensure_lab_ca(tmp_path / "lab-ca", "Test lab")


def server(tmp_path: Path, ca: Path, **names) -> tuple[Path, Path]:
    names = {"hosts": ["lab.test"], "ips": ["10.0.0.5"], "wildcard": True, **names}
    return certs.ensure_server_cert(ca.parent, ca, **names)


# --- the lab CA -------------------------------------------------------------------------


def test_a_new_lab_ca_is_a_private_ca(tmp_path):
    ca_file = lab_ca(tmp_path)
    folder = tmp_path / "lab-ca"
    assert ca_file == folder / "lab-ca.crt"
    assert mode(folder) == 0o700
    assert mode(folder / "lab-ca.key") == 0o600
    assert not list(folder.glob(".*")), "no temporary file is left behind"

    ca = load(ca_file)[0]
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"
    ca.verify_directly_issued_by(ca)  # self-signed
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=3640)

    info = certs.describe(ca_file)
    assert info.subject == info.issuer == "CN=icslab lab CA (Test lab),O=icslab"
    assert info.names == []
    assert info.sha256 == ca.fingerprint(hashes.SHA256()).hex(":").upper()


def test_the_lab_ca_is_kept_across_restarts(tmp_path):
    folder = tmp_path / "lab-ca"
    lab_ca(tmp_path)
    before = {name: (folder / name).read_bytes() for name in ("lab-ca.key", "lab-ca.crt")}
    assert certs.ensure_lab_ca(folder, "Another title") == folder / "lab-ca.crt"
    assert {name: (folder / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("title", ["A very long workshop title " * 5, "Wasserwoche Zürich " * 5])
def test_a_long_title_still_makes_a_lab_ca(tmp_path, title):
    ca_file = certs.ensure_lab_ca(tmp_path / "ca", title)
    common_name = load(ca_file)[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(common_name.encode("utf-8")) <= 64
    assert common_name.startswith(f"icslab lab CA ({title[:20]}")
    assert common_name.endswith("…)")


@pytest.mark.parametrize("left", ["lab-ca.key", "lab-ca.crt"])
def test_half_a_lab_ca_is_refused_naming_both_files(tmp_path, left):
    folder = tmp_path / "lab-ca"
    lab_ca(tmp_path)
    for name in {"lab-ca.key", "lab-ca.crt"} - {left}:
        (folder / name).unlink()
    with pytest.raises(InputError) as refused:
        certs.ensure_lab_ca(folder, "Test lab")
    message = str(refused.value)
    assert str(folder / "lab-ca.key") in message and str(folder / "lab-ca.crt") in message
    assert "Delete both" in message and "install the new one" in message
    assert (folder / left).exists(), "nothing is deleted for the instructor"


def test_a_lab_ca_key_of_another_ca_is_refused(tmp_path):
    folder = tmp_path / "lab-ca"
    lab_ca(tmp_path)
    (folder / "lab-ca.key").write_bytes(key_pem(new_key()))
    with pytest.raises(InputError, match="is not the key of") as refused:
        certs.ensure_lab_ca(folder, "Test lab")
    assert str(folder / "lab-ca.crt") in str(refused.value)


# --- the server certificate -------------------------------------------------------------


def test_the_server_certificate_is_signed_by_the_lab_ca(tmp_path):
    ca_file = lab_ca(tmp_path)
    cert_file, key_file = server(tmp_path, ca_file)
    assert (cert_file, key_file) == (ca_file.parent / "server.crt", ca_file.parent / "server.key")
    assert mode(key_file) == 0o600

    leaf, *rest = load(cert_file)
    ca = load(ca_file)[0]
    assert rest == [ca], "the file is the chain: the server's certificate, then the CA"
    ca.public_key().verify(
        leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
    )
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert key.public_key() == leaf.public_key()

    assert certs.describe(cert_file).names == ["lab.test", "*.lab.test", "10.0.0.5"]
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    authority = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority.key_identifier == ca_id.digest

    now = datetime.now(UTC)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=397)
    assert leaf.not_valid_before_utc <= now - timedelta(minutes=59), "allows for clock skew"


@pytest.mark.parametrize(
    "subject",
    [
        x509.DNSName("lab.test"),
        x509.DNSName("p01.lab.test"),
        x509.DNSName("icslab-live--service.lab.test"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.5")),
    ],
)
def test_a_browser_like_verifier_accepts_the_chain(tmp_path, subject):
    ca_file = lab_ca(tmp_path)
    leaf = load(server(tmp_path, ca_file)[0])[0]
    chain = browser_verifier(ca_file, subject).verify(leaf, [])
    assert chain == [leaf, load(ca_file)[0]]


@pytest.mark.parametrize(
    "subject",
    [
        x509.DNSName("a.b.lab.test"),
        x509.DNSName("other.test"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.6")),
    ],
)
def test_a_browser_like_verifier_refuses_other_names(tmp_path, subject):
    ca_file = lab_ca(tmp_path)
    leaf = load(server(tmp_path, ca_file)[0])[0]
    with pytest.raises(verification.VerificationError):
        browser_verifier(ca_file, subject).verify(leaf, [])


def browser_verifier(ca_file: Path, subject) -> verification.ServerVerifier:
    store = verification.Store(load(ca_file))
    return verification.PolicyBuilder().store(store).build_server_verifier(subject)


def test_the_server_certificate_is_kept_when_nothing_changed(tmp_path):
    ca_file = lab_ca(tmp_path)
    cert_file, key_file = server(tmp_path, ca_file)
    before = cert_file.read_bytes(), key_file.read_bytes()
    assert server(tmp_path, ca_file) == (cert_file, key_file)
    assert (cert_file.read_bytes(), key_file.read_bytes()) == before
    # The same names asked in another order or case are the same names.
    server(tmp_path, ca_file, hosts=["LAB.test", "lab.test"], ips=["10.0.0.5", "10.0.0.5"])
    assert (cert_file.read_bytes(), key_file.read_bytes()) == before


@pytest.mark.parametrize(
    "change",
    [
        {"hosts": ["lab.test", "lab.example.org"]},
        {"ips": ["10.0.0.5", "192.168.1.2"]},
        {"ips": []},
        {"wildcard": False},
    ],
)
def test_the_server_certificate_is_signed_again_for_other_names(tmp_path, change):
    ca_file = lab_ca(tmp_path)
    cert_file, key_file = server(tmp_path, ca_file)
    before = cert_file.read_bytes(), key_file.read_bytes()
    server(tmp_path, ca_file, **change)
    assert cert_file.read_bytes() != before[0] and key_file.read_bytes() != before[1]
    names = certs.describe(cert_file).names
    asked = {"hosts": ["lab.test"], "ips": ["10.0.0.5"], "wildcard": True, **change}
    assert set(asked["hosts"]) <= set(names) and set(asked["ips"]) <= set(names)
    assert ("*.lab.test" in names) == asked["wildcard"]


@pytest.mark.parametrize(("days_left", "signed_again"), [(29, True), (31, False)])
def test_the_server_certificate_is_renewed_30_days_before_it_expires(
    tmp_path, days_left, signed_again
):
    ca_file = lab_ca(tmp_path)
    cert_file, key_file = server(tmp_path, ca_file)
    ca = load(ca_file)[0]
    ca_key = serialization.load_pem_private_key(
        (ca_file.parent / "lab-ca.key").read_bytes(), password=None
    )
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    now = datetime.now(UTC)
    short = build_cert(
        key,
        ips=("10.0.0.5",),
        issuer=(ca, ca_key),
        not_before=now - timedelta(days=300),
        not_after=now + timedelta(days=days_left),
    )
    cert_file.write_bytes(pem(short, ca))

    server(tmp_path, ca_file)
    leaf = load(cert_file)[0]
    assert (leaf != short) == signed_again
    if signed_again:
        assert leaf.not_valid_after_utc > now + timedelta(days=390)


def test_a_server_certificate_from_another_ca_is_signed_again(tmp_path):
    first_ca = lab_ca(tmp_path)
    cert_file, _ = server(tmp_path, first_ca)
    second_ca = certs.ensure_lab_ca(tmp_path / "second", "Test lab")
    # Same folder, same names, a CA of the same name but another key.
    certs.ensure_server_cert(
        first_ca.parent, second_ca, hosts=["lab.test"], ips=["10.0.0.5"], wildcard=True
    )
    leaf, ca = load(cert_file)
    assert ca == load(second_ca)[0]
    leaf.verify_directly_issued_by(ca)


@pytest.mark.parametrize("lost", ["server.crt", "server.key"])
def test_a_lost_server_file_is_made_again(tmp_path, lost):
    ca_file = lab_ca(tmp_path)
    cert_file, key_file = server(tmp_path, ca_file)
    (ca_file.parent / lost).unlink()
    server(tmp_path, ca_file)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert key.public_key() == load(cert_file)[0].public_key()


@pytest.mark.parametrize(
    ("names", "complaint"),
    [
        ({"hosts": [], "ips": []}, "at least one host name or IP address"),
        ({"ips": ["10.0.0.300"]}, "'10.0.0.300' is not an IP address"),
    ],
)
def test_a_server_certificate_needs_valid_names(tmp_path, names, complaint):
    ca_file = lab_ca(tmp_path)
    with pytest.raises(InputError, match=complaint):
        server(tmp_path, ca_file, **names)


def test_an_address_only_lab_gets_an_ip_certificate(tmp_path):
    ca_file = lab_ca(tmp_path)
    cert_file, _ = server(tmp_path, ca_file, hosts=[], ips=["192.168.1.10"], wildcard=False)
    info = certs.describe(cert_file)
    assert info.names == ["192.168.1.10"] and info.subject == "CN=192.168.1.10"


# --- files mode: the site's own certificate ---------------------------------------------


def test_a_good_pair_passes_and_is_described(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    info = certs.check_files(cert_file, key_file, hosts=LAB_HOSTS, now=NOW)
    assert info.subject == info.issuer == "CN=lab.test"
    assert info.names == ["lab.test", "*.lab.test"]
    assert info.not_before == NOW - timedelta(days=30)
    assert info.not_after == NOW + timedelta(days=60)
    assert info == certs.describe(cert_file)


def test_a_chain_file_is_judged_by_its_first_certificate(tmp_path):
    issuer_key = new_key()
    issuer = build_cert(issuer_key, dns=(), cn="Site CA")
    key = new_key()
    cert_file, key_file = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert_file.write_bytes(pem(build_cert(key, issuer=(issuer, issuer_key)), issuer))
    key_file.write_bytes(key_pem(key))
    assert certs.check_files(cert_file, key_file, hosts=LAB_HOSTS, now=NOW).issuer == "CN=Site CA"


def test_the_key_of_another_pair_is_refused(tmp_path):
    cert_file, _ = write_pair(tmp_path, "site")
    _, other_key = write_pair(tmp_path, "other")
    [problem] = problems_of(cert_file, other_key)
    assert problem.startswith(f"{other_key} does not belong to {cert_file}: ")


@pytest.mark.parametrize(("minutes", "expired"), [(1, True), (-1, False)])
def test_an_expired_certificate_is_refused(tmp_path, minutes, expired):
    end = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    cert_file, key_file = write_pair(tmp_path, "site", not_after=end)
    now = end + timedelta(minutes=minutes)
    if not expired:
        certs.check_files(cert_file, key_file, hosts=["lab.test"], now=now)
        return
    [problem] = problems_of(cert_file, key_file, now=now)
    assert problem.startswith(f"{cert_file} expired on 2026-01-02 09:30 UTC")


@pytest.mark.parametrize(("minutes", "too_early"), [(-1, True), (1, False)])
def test_a_certificate_not_yet_valid_is_refused(tmp_path, minutes, too_early):
    start = datetime(2026, 1, 3, 8, 0, tzinfo=UTC)
    cert_file, key_file = write_pair(tmp_path, "site", not_before=start)
    now = start + timedelta(minutes=minutes)
    if not too_early:
        certs.check_files(cert_file, key_file, hosts=["lab.test"], now=now)
        return
    [problem] = problems_of(cert_file, key_file, now=now)
    assert problem.startswith(f"{cert_file} is valid only from 2026-01-03 08:00 UTC")


def test_a_certificate_without_the_wildcard_names_each_host_it_misses(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site", dns=("lab.test", "www.lab.test"))
    problems = problems_of(cert_file, key_file, hosts=LAB_HOSTS)
    assert problems == [
        f"{cert_file} does not cover {host} (it covers: lab.test, www.lab.test)"
        for host in ("p01.lab.test", "icslab-live--service.lab.test")
    ]


def test_only_subject_alternative_names_count_not_the_common_name(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site", dns=(), cn="lab.test")
    [problem] = problems_of(cert_file, key_file, hosts=["lab.test"])
    assert problem.startswith(f"{cert_file} does not cover lab.test (it covers: no names")


def test_a_certificate_for_clients_only_is_refused(tmp_path):
    usage = ExtendedKeyUsageOID.CLIENT_AUTH
    cert_file, key_file = write_pair(tmp_path, "site", usage=usage)
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{cert_file} is not for TLS servers")


@pytest.mark.parametrize("which", ["certificate", "key"])
@pytest.mark.parametrize(("make", "reason"), [(None, "No such file"), ("dir", "Is a directory")])
def test_an_unreadable_file_is_named_with_the_reason(tmp_path, which, make, reason):
    cert_file, key_file = write_pair(tmp_path, "site")
    gone = cert_file if which == "certificate" else key_file
    gone.unlink()
    if make == "dir":
        gone.mkdir()
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{gone} ({'private key' if which == 'key' else which})")
    assert "cannot be read" in problem and reason in problem


def test_a_garbage_certificate_is_refused(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    cert_file.write_text("hello, this is not a certificate\n")
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{cert_file} is not a PEM certificate")


def test_a_garbage_key_is_refused(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    key_file.write_bytes(b"\x00\x01garbage")
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{key_file} is not a private key")


def test_swapped_files_are_pointed_out(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    problems = problems_of(key_file, cert_file)
    assert problems == [
        f"{key_file} is not a PEM certificate: it holds a private key: "
        "were the certificate and key files swapped?",
        f"{cert_file} is not a private key: it holds a certificate: "
        "were the certificate and key files swapped?",
    ]


def test_a_der_certificate_is_refused_with_the_conversion(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    der = load(cert_file)[0].public_bytes(serialization.Encoding.DER)
    cert_file.write_bytes(der)
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{cert_file} is not a PEM certificate: it is DER")
    assert "openssl x509" in problem


def test_an_encrypted_key_is_refused(tmp_path):
    cert_file, key_file = write_pair(tmp_path, "site")
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    key_file.write_bytes(key_pem(key, password=b"secret"))
    [problem] = problems_of(cert_file, key_file)
    assert problem.startswith(f"{key_file} is encrypted: give caddy an unencrypted key, mode 0600")


def test_every_problem_is_reported_at_once(tmp_path):
    cert_file, _ = write_pair(tmp_path, "site", dns=("lab.test",), not_after=NOW)
    _, other_key = write_pair(tmp_path, "other")
    problems = problems_of(cert_file, other_key, hosts=LAB_HOSTS, now=NOW + timedelta(days=1))
    assert len(problems) == 4
    assert problems[0].startswith(f"{other_key} does not belong to {cert_file}")
    assert problems[1].startswith(f"{cert_file} expired on ")
    assert "does not cover p01.lab.test" in problems[2]
    assert "does not cover icslab-live--service.lab.test" in problems[3]


def test_both_unusable_files_are_reported_together(tmp_path):
    missing, directory = tmp_path / "missing.crt", tmp_path
    problems = problems_of(missing, directory)
    assert [problem.split(" (")[0] for problem in problems] == [str(missing), str(directory)]


# --- which names a certificate covers ---------------------------------------------------


@pytest.mark.parametrize(
    ("host", "covered"),
    [
        ("lab.test", True),
        ("p01.lab.test", True),
        ("P01.LAB.Test", True),
        ("p01.lab.test.", True),
        ("a.b.lab.test", False),
        ("other.test", False),
        ("p01.other.test", False),
        ("xlab.test", False),
        ("10.0.0.5", True),
        ("10.0.0.6", False),
        ("2001:db8::1", True),
        ("2001:0db8:0:0::1", True),
    ],
)
def test_covers_by_rfc_6125(host, covered):
    names = ["lab.test", "*.LAB.test", "10.0.0.5", "2001:db8::1"]
    assert certs.covers(names, host) is covered


@pytest.mark.parametrize(
    ("names", "host", "covered"),
    [
        (["*.lab.test"], "lab.test", False),  # a wildcard needs a label of its own
        (["*.lab.test"], "p01.lab.test", True),
        (["*.lab.test"], ".lab.test", False),
        (["p*.lab.test"], "p01.lab.test", False),  # partial wildcards are not honoured
        (["*.*.test"], "a.lab.test", False),
        (["www.*.test"], "www.lab.test", False),
        (["lab.test"], "10.0.0.5", False),  # an address matches address names only
        (["10.0.0.5"], "lab.test", False),
        ([], "lab.test", False),
    ],
)
def test_covers_edge_cases(names, host, covered):
    assert certs.covers(names, host) is covered
