"""What `icslab up` and `icslab check` do for the front door before anything
starts: certificates in place and valid (or refused, naming the file and the
problem), the Caddyfile written and accepted by caddy itself.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from icslab.errors import InputError
from icslab.hub.front import caddy, certs
from icslab.hub.front.ca_page import write_ca_site
from icslab.hub.front.status import certificate_problems, dns_problems
from icslab.lab import LIVE_SERVICE, ROOM_SERVICE, Lab


@dataclass(frozen=True)
class Certificate:
    """What the banner and `icslab check` say about the certificate in use."""

    source: str  # e.g. "lab CA", "files", "ACME (https://.../directory)"
    info: certs.CertInfo | None  # None: not obtained yet (acme, first start)


def hosts_to_cover(lab: Lab) -> list[str]:
    """The public host, and with per-user origins each user's host and each host of a
    service browsers open (a wildcard covers all of them; a list of names must name
    every one)."""
    hosts = [lab.public_host]
    if lab.user_origins:
        hosts += [lab.user_host(name) for name in lab.usernames()]
        hosts += [lab.service_host(service) for service in (LIVE_SERVICE, ROOM_SERVICE)]
    return hosts


def ensure_certificate(lab: Lab) -> Certificate:
    """Make or check the certificate the mode needs; raise InputError if unusable."""
    tls = lab.settings.tls
    if tls.mode == "lab-ca":
        ca = certs.ensure_lab_ca(lab.paths.lab_ca, lab.settings.workshop.title)
        ips = [str(ip) for ip in tls.ip_addresses]
        cert, _ = certs.ensure_server_cert(
            lab.paths.lab_ca, ca, hosts=[lab.public_host], ips=ips, wildcard=lab.user_origins
        )
        write_ca_site(
            lab.paths.ca_site, title=lab.settings.workshop.title, ca_cert=ca, https_url=lab.url
        )
        return Certificate("lab CA", certs.describe(cert))
    if tls.mode == "files":
        files = caddy.server_cert(lab)
        assert files is not None  # files mode: those its settings name
        cert, key = files
        return Certificate("files", certs.check_files(cert, key, hosts=hosts_to_cover(lab)))
    if tls.mode == "acme":
        return Certificate(f"ACME ({tls.acme_directory})", stored_acme_certificate(lab))
    return Certificate("none", None)


def check_front(lab: Lab) -> tuple[Certificate | None, list[str]]:
    """`icslab check`: the certificate and DNS, changing nothing. Files that cannot
    serve raise InputError; other problems (DNS, renewal) come back as a list."""
    tls = lab.settings.tls
    if tls.mode == "off":
        return None, []
    if tls.mode == "lab-ca":
        files = caddy.server_cert(lab)
        assert files is not None  # lab-ca mode: those the lab CA signs
        server = files[0]
        if server.exists():
            certificate = Certificate("lab CA", certs.describe(server))
        else:
            certificate = Certificate("lab CA (made at the first `icslab up`)", None)
    else:
        certificate = ensure_certificate(lab)  # files: checked; acme: read, never requested
    problems = dns_problems(lab)
    if certificate.info and tls.mode != "lab-ca":
        problems += certificate_problems(certificate.info, acme=tls.mode == "acme")
    return certificate, problems


def stored_acme_certificate(lab: Lab) -> certs.CertInfo | None:
    """The public host's certificate caddy obtained earlier, if any (newest first)."""
    host = lab.public_host
    found = sorted(
        lab.paths.caddy_storage.glob(f"certificates/*/{host}/{host}.crt"),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    return certs.describe(found[0]) if found else None


def write_caddyfile(lab: Lab) -> Path:
    """Write the Caddyfile and have caddy check it; refuse with caddy's own words."""
    lab.paths.tls.mkdir(mode=0o700, exist_ok=True)
    lab.paths.caddyfile.write_text(caddy.render(lab), encoding="utf-8")
    try:
        checked = subprocess.run(
            [
                caddy.CADDY,
                "validate",
                "--config",
                str(lab.paths.caddyfile),
                "--adapter",
                "caddyfile",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=caddy.environment(lab.paths),
        )
    except FileNotFoundError:
        raise InputError(
            "caddy is not installed: `apt-get install caddy` (or scripts/debian-deps), or set "
            "tls.mode = 'off' for a trial on this machine"
        ) from None
    if checked.returncode != 0:
        last = [line for line in checked.stderr.splitlines() if line.strip()][-1:]
        raise InputError(f"caddy refused {lab.paths.caddyfile}: {' '.join(last)}")
    return lab.paths.caddyfile
