"""What an instructor needs to know about the front door before participants
arrive: the DNS records the lab needs and whether they point here, and whether
the certificate in use is valid and being renewed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psutil

from icslab.hub.front.certs import CertInfo
from icslab.lab import Lab

# Interfaces that are the lab's own or Docker's, never where participants arrive.
INTERNAL_INTERFACES = ("lo", "docker", "br-", "veth")
# Caddy renews an ACME certificate when a third of its lifetime is left.
RENEWAL_SHARE = 1 / 3


def server_addresses() -> list[str]:
    """This machine's addresses on the networks participants may use."""
    found = []
    for name, addresses in psutil.net_if_addrs().items():
        if name.startswith(INTERNAL_INTERFACES):
            continue
        found += [a.address for a in addresses if a.family == socket.AF_INET]
    return found


def dns_records(lab: Lab) -> list[str]:
    """The records a site needs, one line each (or how to use the lab's own DNS)."""
    if lab.settings.hub.host_is_ip:
        return []
    dns = lab.settings.dns
    if dns.serve:
        return [
            f"the lab answers {lab.public_host} and *.{lab.public_host} with {dns.address} "
            f"(port {dns.port}): point the room's DHCP DNS option, or participants' DNS "
            f"setting, at {dns.address}"
        ]
    here = ", ".join(server_addresses()) or "this server's address"
    records = [f"{lab.public_host}  A  {here}"]
    if lab.user_origins:
        records.append(f"*.{lab.public_host}  A  (the same: participants' hosts)")
    return records


Resolver = Callable[[str], list[str]]


def resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, socket.AF_INET)})


def dns_problems(
    lab: Lab, resolver: Resolver | None = None, here: list[str] | None = None
) -> list[str]:
    """Resolve the public host and one participant's host; say what is wrong."""
    resolver = resolver or resolve
    if lab.settings.hub.host_is_ip or lab.settings.dns.serve:
        return []  # no names, or names the lab answers itself
    here = server_addresses() if here is None else here
    hosts = [lab.public_host]
    participants = lab.usernames("participant")
    if lab.user_origins and participants:
        hosts.append(lab.user_host(participants[0]))
    problems = []
    for host in hosts:
        try:
            found = resolver(host)
        except OSError:
            found = []
        wildcard = (
            " (a wildcard record *." + lab.public_host + ")" if host != lab.public_host else ""
        )
        if not found:
            problems.append(
                f"{host} does not resolve: add an A record{wildcard} for this server's address"
            )
        elif here and not set(found) & set(here) and not _all_loopback(found):
            problems.append(
                f"{host} points at {', '.join(found)}, not at this server "
                f"({', '.join(here)}): fix its record{wildcard}"
            )
    return problems


def _all_loopback(addresses: list[str]) -> bool:
    return all(ipaddress.ip_address(a).is_loopback for a in addresses)


def certificate_problems(info: CertInfo, *, acme: bool, now: datetime | None = None) -> list[str]:
    """Expired, or (acme) past the point where caddy should have renewed it."""
    now = now or datetime.now(UTC)
    if info.not_after <= now:
        return [f"the certificate for {info.subject} expired on {info.not_after:%Y-%m-%d}"]
    lifetime = info.not_after - info.not_before
    left = info.not_after - now
    if acme and left < lifetime * RENEWAL_SHARE - timedelta(days=1):
        return [
            f"the certificate expires on {info.not_after:%Y-%m-%d} and caddy has not renewed "
            "it yet: it keeps serving this one; the hub log shows the ACME error "
            "(look for 'renew' lines from the icslab-front service)"
        ]
    return []


def summary(info: CertInfo) -> str:
    return f"{info.subject}, issued by {info.issuer}, expires {info.not_after:%Y-%m-%d}"
