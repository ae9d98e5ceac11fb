"""A room without DNS: the lab names itself (`[dns] serve = true`).

Debian's dnsmasq answers the public host and every name under it (participants'
and services' hosts) with the lab server's address, and refuses every other
question: it is not the room's resolver, only the lab's. The room's DHCP (its
DNS server option) or each participant points at it.
"""

from __future__ import annotations

from icslab.lab import Lab

DNSMASQ = "/usr/sbin/dnsmasq"
DNS_SERVICE = "icslab-dns"


def dnsmasq_command(lab: Lab) -> list[str]:
    dns, listen = lab.settings.dns, lab.settings.hub.listen
    return [
        DNSMASQ,
        "--keep-in-foreground",
        "--conf-file=/dev/null",  # not the machine's /etc/dnsmasq.conf
        "--no-resolv",  # no upstream: anything but the lab's names is refused
        "--no-hosts",
        "--pid-file=",
        "--log-facility=-",
        f"--port={dns.port}",
        # One socket per address, so a resolver already on 127.0.0.53:53 is left alone.
        *([f"--listen-address={listen}", "--bind-interfaces"] if listen else ["--bind-dynamic"]),
        f"--address=/{lab.public_host}/{dns.address}",
    ]


def service(lab: Lab) -> dict:
    """The hub-managed service that runs it (started and stopped with the hub)."""
    return {"name": DNS_SERVICE, "command": dnsmasq_command(lab)}
