"""What `icslab up` tells the instructor before the hub takes over the terminal."""

from __future__ import annotations

import os

from icslab.hub.front import certs
from icslab.hub.front.status import dns_records, summary
from icslab.hub.launch import Started
from icslab.lab import ROOM_SERVICE, Lab
from icslab.settings import origin

USER_ORIGINS_OFF_RISK = (
    "  [bold red]hub.user_origins = false: every participant's server shares the hub's "
    "origin. A page a participant serves runs with the visitor's hub session: instructors "
    "and teammates must not open other people's servers in this lab (see the README).[/]"
)


def banner(started: Started) -> list[str]:
    lab, accounts = started.lab, started.accounts
    lines = [
        f"[bold]{lab.settings.workshop.title}[/]",
        f"  URL          {lab.url}",
        f"  room view    {lab.service_url(ROOM_SERVICE)}  (instructors: who is stuck where)",
        *_front(started),
    ]
    if lab.swarm_image:
        docker = lab.settings.docker
        lines += [
            f"  spawner      swarm: a service per participant on the {len(lab.swarm_nodes)} "
            f"nodes, {docker.prefix}-<name> (`icslab cluster status`: who is where)",
            f"  image        {lab.swarm_image}",
            f"  network      one overlay per participant (no egress; hub API on "
            f"{lab.docker_gateway}; firewall tables inet {docker.prefix}-lab and, on every "
            f"node, inet {docker.prefix}-lab-node)",
            f"  volumes      {docker.prefix}-user-<name> on the node that holds it",
        ]
    elif lab.spawner == "docker":
        docker = lab.settings.docker
        egress = "egress allowed" if docker.egress else "no egress"
        lines += [
            f"  spawner      docker: a container per participant, {docker.prefix}-<name>",
            f"  image        {docker.image}",
            f"  network      {lab.docker_network} ({egress}; hub API on {lab.docker_gateway}; "
            f"firewall table inet {docker.prefix}-lab)",
            f"  volumes      {docker.prefix}-user-<name> (each participant's work)",
            f"  disk         {lab.settings.limits.disk} per participant, checked every "
            f"{lab.settings.limits.disk_check_seconds} s"
            + ("; the engine caps each container's own files" if lab.docker_disk_quota else ""),
        ]
    else:
        lines.append("  spawner      local (participants' servers run as local processes)")
    lines += [
        f"  data dir     {lab.data_dir}",
        f"  credentials  {lab.paths.credentials}  (hand out; mode 0600)",
        f"  accounts     {len(lab.members)} in roster: {len(accounts.added)} new, "
        f"{len(accounts.removed)} removed, {len(accounts.kept)} kept their password",
        *(f"  groups       {change}" for change in started.group_changes),
        *(f"  servers      {change}" for change in started.servers_stopped),
    ]
    if started.cleaned_up:
        # The previous hub was killed (OOM, kill -9) without stopping what it started.
        lines.append(f"  [yellow]cleaned up after a crash: {', '.join(started.cleaned_up)}[/]")
    if lab.spawner == "local":
        lines.append(
            "  [yellow]local mode does not isolate participants from each other: "
            "for trying the lab and for tests; use docker mode for a real week.[/]"
        )
        if lab.settings.hub.local_mode_as_root and os.geteuid() == 0:
            lines.append(
                "  [bold red]hub.local_mode_as_root: every participant's code runs as root "
                "on this server, with the lab's secrets in reach.[/]"
            )
    return lines


def _front(started: Started) -> list[str]:
    """TLS, where it listens, DNS, and the risk of shared origins, when serving a room."""
    lab, certificate = started.lab, started.certificate
    if not lab.tls_on or certificate is None:
        return ["  listens      on this machine only (tls.mode = 'off'): a trial, not a room"]
    if certificate.info:
        tls = f"{certificate.source}: {summary(certificate.info)}"
    else:
        tls = f"{certificate.source}: requested when the front starts (see the log)"
    listen = lab.settings.hub.listen or "all interfaces"
    lines = [
        f"  TLS          {tls}",
        f"  listens      {listen}: HTTPS on {lab.public_port}, plain HTTP on {lab.http_port} "
        "(redirects only); proxy and hub API on loopback"
        + (" and the lab network's gateway" if lab.spawner == "docker" else ""),
    ]
    if lab.settings.tls.mode == "lab-ca":
        assert lab.http_port is not None  # a lab with TLS has its plain HTTP port
        lines.append(
            f"  lab CA       participants install it from "
            f"{origin('http', lab.public_host, lab.http_port)}/ca/ "
            f"(SHA-256 {_ca_fingerprint(lab)})"
        )
    lines += [f"  DNS          {record}" for record in dns_records(lab)]
    if lab.user_origins:
        lines.append(f"  servers      each on its own host: {lab.user_host('p01')}, ...")
    else:
        lines.append(USER_ORIGINS_OFF_RISK)
    return lines


def _ca_fingerprint(lab: Lab) -> str:
    return certs.describe(lab.paths.lab_ca / certs.CA_CERT).sha256
