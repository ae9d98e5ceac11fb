"""Certificates for the lab's front door (caddy), made or checked before anything starts.

In lab-ca mode (rooms without internet) the lab is its own certificate authority:
one CA made once and kept across restarts, since participants install it in their
browsers, and a server certificate it signs for the public host and, with per-user
origins, `*.<public host>`. The CA key never leaves the lab's data folder.

In files mode the site's IT hands over a certificate and key: a wrong pair would
only show up as a browser warning in front of twenty participants, so every
problem is found here first and reported at once, naming the file and the fix.

Only cryptography's x509 builder signs anything; no crypto is written by hand.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from icslab.errors import InputError
from icslab.files import write_atomic

CA_KEY = "lab-ca.key"
CA_CERT = "lab-ca.crt"
SERVER_KEY = "server.key"
SERVER_CERT = "server.crt"

CA_VALIDITY = timedelta(days=3650)
# Browsers refuse longer-lived server certificates (CA/Browser Forum baseline).
SERVER_VALIDITY = timedelta(days=397)
RENEW_BEFORE = timedelta(days=30)
CLOCK_SKEW = timedelta(hours=1)  # a participant's laptop a little behind still accepts it
CN_MAX = 64  # X.509 upper bound for a common name, in UTF-8 bytes

KEY_USAGES = (
    *("digital_signature", "content_commitment", "key_encipherment", "data_encipherment"),
    *("key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CertInfo:
    """What the banner and `icslab check` show about a certificate."""

    subject: str  # RFC 4514, e.g. "CN=lab.test"
    issuer: str
    not_before: datetime  # aware, UTC
    not_after: datetime
    names: list[str]  # DNS SANs, then IP SANs
    sha256: str  # "AB:CD:..." of the DER certificate


def describe(cert_pem_path: Path) -> CertInfo:
    """The first certificate in a PEM file (a chain starts with the server's own)."""
    return _info(x509.load_pem_x509_certificate(Path(cert_pem_path).read_bytes()))


def ensure_lab_ca(folder: Path, title: str) -> Path:
    """The lab's CA certificate in `folder`, made on first use and reused afterwards.

    Participants trust this CA by hand, so it is never silently replaced (not even
    for a new title): a key without its certificate, or a pair that does not
    match, is refused.
    """
    folder = Path(folder)
    _private_folder(folder)
    key_path, cert_path = folder / CA_KEY, folder / CA_CERT
    if key_path.exists() or cert_path.exists():
        _load_ca(key_path, cert_path)  # refuses a half-present or mismatched pair
        return cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "icslab"),
            x509.NameAttribute(NameOID.COMMON_NAME, _ca_common_name(title)),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path


def ensure_server_cert(
    folder: Path, ca_cert: Path, *, hosts: list[str], ips: list[str], wildcard: bool
) -> tuple[Path, Path]:
    """`server.crt` (leaf then CA) and `server.key` in `folder`, signed by the lab CA.

    The CA key is `lab-ca.key` beside `ca_cert`. Files that already cover exactly
    these names, come from this CA and have 30 days or more left are kept as they
    are; otherwise a new key and certificate replace them.
    """
    folder, ca_cert = Path(folder), Path(ca_cert)
    dns, addresses = _wanted_names(hosts, ips, wildcard)
    ca, ca_key = _load_ca(ca_cert.parent / CA_KEY, ca_cert)
    _private_folder(folder)
    cert_path, key_path = folder / SERVER_CERT, folder / SERVER_KEY
    if _still_good(cert_path, key_path, ca, dns, addresses):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _sign_server(key, ca, ca_key, dns, addresses)
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca))
    # Key first: if we stop in between, the next call sees a mismatch and re-signs.
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(cert_path, chain, 0o644)
    return cert_path, key_path


def check_files(
    cert_file: Path, key_file: Path, *, hosts: list[str], now: datetime | None = None
) -> CertInfo:
    """Refuse a certificate and key from the site's IT that caddy or browsers would reject.

    Every problem found is reported at once (InputError); the certificate's
    description is returned when there is none.
    """
    cert_file, key_file = Path(cert_file), Path(key_file)
    now = now or datetime.now(UTC)
    problems: list[str] = []
    cert = _read_cert(cert_file, problems)
    key = _read_key(key_file, problems)
    if cert is not None and key is not None and not _same_public_key(cert, key):
        problems.append(
            f"{key_file} does not belong to {cert_file}: its public key is not the "
            "certificate's; give the key that was made together with this certificate"
        )
    if cert is not None:
        problems += _validity_problems(cert_file, cert, now)
        problems += _coverage_problems(cert_file, cert, hosts)
    if problems:
        raise InputError(*problems)
    assert cert is not None
    return _info(cert)


def covers(names: list[str], host: str) -> bool:
    """Whether a certificate naming `names` (SANs) is valid for `host`, as browsers judge.

    RFC 6125: a wildcard is a whole left-most label and stands for exactly one
    label (`*.lab.test` covers `p01.lab.test`, not `lab.test` nor `a.b.lab.test`);
    case does not matter; an IP host matches IP names only.
    """
    addresses = [ip for name in names if (ip := _as_ip(name)) is not None]
    return _covered([name for name in names if _as_ip(name) is None], addresses, host)


# --- names ---------------------------------------------------------------------------


def _covered(dns: list[str], addresses: list[IP], host: str) -> bool:
    ip = _as_ip(host)
    if ip is not None:
        return ip in addresses
    host = _normal(host)
    for name in map(_normal, dns):
        if name == host:
            return True
        if name.startswith("*.") and "*" not in name[2:]:
            label, _, rest = host.partition(".")
            if label and label != "*" and rest == name[2:]:
                return True
    return False


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _as_ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _wanted_names(hosts: list[str], ips: list[str], wildcard: bool) -> tuple[list[str], list[IP]]:
    """The SANs asked for: DNS names (with wildcards) and addresses, in order, no repeats.

    A host that is an address (a lab reached by IP) can only be an IP SAN, and
    comes before the listed addresses.
    """
    dns: list[str] = []
    addresses: list[IP] = []
    bad = []
    for text in [*hosts, *ips]:
        ip = _as_ip(text)
        if ip is not None:
            addresses += [ip] if ip not in addresses else []
        elif text in ips:
            bad.append(f"{text!r} is not an IP address")
        elif not (host := _normal(text)) or not host.isascii() or "*" in host:
            bad.append(f"{text!r} is not a host name for a certificate")
        else:
            wanted = [host, f"*.{host}"] if wildcard else [host]
            dns += [name for name in wanted if name not in dns]
    if not dns and not addresses and not bad:
        bad.append("a server certificate needs at least one host name or IP address")
    if bad:
        raise InputError(*bad)
    return dns, addresses


def _sans(cert: x509.Certificate) -> tuple[list[str], list[IP]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    # An IPAddress name may also hold a network (name constraints), never in a SAN.
    ips = san.get_values_for_type(x509.IPAddress)
    return san.get_values_for_type(x509.DNSName), [
        ip for ip in ips if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
    ]


def _info(cert: x509.Certificate) -> CertInfo:
    dns, addresses = _sans(cert)
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        names=[*dns, *map(str, addresses)],
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


# --- the lab CA ----------------------------------------------------------------------


def _ca_common_name(title: str) -> str:
    """`icslab lab CA (<title>)`, the title shortened to fit X.509's 64 bytes."""
    title = " ".join(title.split())
    name = f"icslab lab CA ({title})" if title else "icslab lab CA"
    while len(name.encode("utf-8")) > CN_MAX:
        title = title[:-1].rstrip()
        name = f"icslab lab CA ({title}…)"
    return name


def _load_ca(
    key_path: Path, cert_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    def refuse(why: str) -> InputError:
        return InputError(
            f"the lab CA is broken: {why}. Delete both {key_path} and {cert_path} to make a "
            "new lab CA (participants will then have to install the new one)"
        )

    missing = [path for path in (key_path, cert_path) if not path.is_file()]
    if len(missing) == 2:
        raise InputError(f"no lab CA in {cert_path.parent}: {key_path} and {cert_path} are missing")
    if missing:
        (present,) = {key_path, cert_path} - set(missing)
        raise refuse(f"{missing[0]} is missing while {present} is there")
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise refuse(f"it cannot be read ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not _same_public_key(cert, key):
        raise refuse(f"{key_path} is not the key of {cert_path}")
    return cert, key


# --- the server certificate ----------------------------------------------------------


def _still_good(
    cert_path: Path, key_path: Path, ca: x509.Certificate, dns: list[str], addresses: list[IP]
) -> bool:
    """Whether the existing server files can stay as they are (see ensure_server_cert)."""
    try:
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    leaf = chain[0]
    have_dns, have_addresses = _sans(leaf)
    return (
        chain[1:] == [ca]
        and _same_public_key(leaf, key)
        and _issued_by(leaf, ca)
        and {_normal(n) for n in have_dns} == set(dns)
        and set(have_addresses) == set(addresses)
        and leaf.not_valid_after_utc - datetime.now(UTC) >= RENEW_BEFORE
    )


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _sign_server(
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns: list[str],
    addresses: list[IP],
) -> x509.Certificate:
    first = dns[0] if dns else str(addresses[0])
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, first)] if len(first) <= CN_MAX else []
    sans = [*map(x509.DNSName, dns), *map(x509.IPAddress, addresses)]
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now - CLOCK_SKEW + SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # With an empty subject the names are all there is: RFC 5280 makes them critical.
        .add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


# --- files mode ----------------------------------------------------------------------


def _read_bytes(path: Path, what: str, problems: list[str]) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as error:
        problems.append(f"{path} ({what}) cannot be read: {error.strerror or error}")
        return None


def _read_cert(path: Path, problems: list[str]) -> x509.Certificate | None:
    data = _read_bytes(path, "certificate", problems)
    if data is None:
        return None
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError:
        pass
    if b"PRIVATE KEY-----" in data:
        hint = "it holds a private key: were the certificate and key files swapped?"
    elif _is_der_cert(data):
        hint = f"it is DER: convert it with `openssl x509 -in {path} -out cert.pem`"
    else:
        hint = "expected PEM text starting with -----BEGIN CERTIFICATE-----"
    problems.append(f"{path} is not a PEM certificate: {hint}")
    return None


def _is_der_cert(data: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def _read_key(path: Path, problems: list[str]) -> object | None:
    data = _read_bytes(path, "private key", problems)
    if data is None:
        return None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        problems.append(
            f"{path} is encrypted: give caddy an unencrypted key, mode 0600 "
            f"(`openssl pkey -in {path} -out key.pem`, then `chmod 600 key.pem`)"
        )
    except (ValueError, UnsupportedAlgorithm):
        if b"BEGIN CERTIFICATE" in data:
            hint = "it holds a certificate: were the certificate and key files swapped?"
        else:
            hint = "expected PEM text starting with -----BEGIN PRIVATE KEY----- (or EC/RSA)"
        problems.append(f"{path} is not a private key: {hint}")
    return None


def _validity_problems(path: Path, cert: x509.Certificate, now: datetime) -> list[str]:
    if now > cert.not_valid_after_utc:
        return [f"{path} expired on {_when(cert.not_valid_after_utc)}: ask for a renewed one"]
    if now < cert.not_valid_before_utc:
        return [
            f"{path} is valid only from {_when(cert.not_valid_before_utc)}: check this "
            "machine's clock, or wait until then"
        ]
    return []


def _coverage_problems(path: Path, cert: x509.Certificate, hosts: list[str]) -> list[str]:
    dns, addresses = _sans(cert)
    names = [*dns, *map(str, addresses)]
    have = ", ".join(names) or "no names: it has no subjectAltName and browsers ignore its CN"
    found = [
        f"{path} does not cover {host} (it covers: {have})"
        for host in hosts
        if not _covered(dns, addresses, host)
    ]
    if not _serves_tls(cert):
        found.append(f"{path} is not for TLS servers (its extended key usage lacks serverAuth)")
    return found


def _serves_tls(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return (
        ExtendedKeyUsageOID.SERVER_AUTH in usage
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- keys and files ------------------------------------------------------------------


def _same_public_key(cert: x509.Certificate, key: object) -> bool:
    public = getattr(key, "public_key", None)
    if public is None:
        return False
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return cert.public_key().public_bytes(*spki) == public().public_bytes(*spki)
    except (ValueError, UnsupportedAlgorithm):
        return False


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage with only `allowed` set (its constructor wants all nine flags)."""
    return x509.KeyUsage(**{usage: allowed.get(usage, False) for usage in KEY_USAGES})


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
