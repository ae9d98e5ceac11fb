"""What `icslab up` tells the instructor before the hub takes over the terminal."""

from __future__ import annotations

from icslab.hub.launch import Started


def banner(started: Started) -> list[str]:
    lab, accounts = started.lab, started.accounts
    lines = [
        f"[bold]{lab.settings.workshop.title}[/]",
        f"  URL          {lab.url}",
    ]
    if lab.spawner == "docker":
        docker = lab.settings.docker
        egress = "egress allowed" if docker.egress else "no egress"
        lines += [
            f"  spawner      docker: a container per participant, {docker.prefix}-<name>",
            f"  image        {docker.image}",
            f"  network      {lab.docker_network} ({egress}; hub API on {lab.docker_gateway})",
            f"  volumes      {docker.prefix}-user-<name> (each participant's work)",
        ]
    else:
        lines.append("  spawner      local (participants' servers run as local processes)")
    lines += [
        f"  data dir     {lab.data_dir}",
        f"  credentials  {lab.paths.credentials}  (hand out; mode 0600)",
        f"  accounts     {len(lab.members)} in roster: {len(accounts.added)} new, "
        f"{len(accounts.removed)} removed, {len(accounts.kept)} kept their password",
        *(f"  groups       {change}" for change in started.group_changes),
    ]
    if lab.spawner == "local":
        lines.append(
            "  [yellow]local mode does not isolate participants from each other: "
            "for trying the lab and for tests; use docker mode for a real week.[/]"
        )
    return lines
