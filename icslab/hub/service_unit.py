"""Running the lab unattended: a systemd unit that starts `icslab up` at boot and
restarts it after a crash, and systemd's view of it.

`icslab up` execs JupyterHub (icslab.hub.launch.exec_hub), so the unit's main
process is the hub itself: on SIGTERM it stops its services and proxy (and, in
local mode, participants' servers) and exits 0; containers keep running for the
next start.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from icslab.errors import InputError
from icslab.files import write_atomic

SYSTEMD_RUNS = Path("/run/systemd/system")  # what sd_booted() checks
UNIT_DIR = Path("/etc/systemd/system")
ICSLAB = Path(sys.executable).absolute().with_name("icslab")  # this venv's, not one on PATH
# systemd's own default PATH, after the venv's (jupyterhub, jupyterhub-singleuser, the
# culler are found there, as in an activated venv; node, caddy, nft in the system's).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STATUS_PROPERTIES = (
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "NRestarts",
    "StateChangeTimestamp",
    "ExecMainStatus",
    "FragmentPath",
)


def systemd_runs() -> bool:
    return SYSTEMD_RUNS.is_dir()


def unit_name(prefix: str) -> str:
    """icslab-<docker.prefix>.service: the prefix already tells two labs on one machine
    apart (their containers and volumes). The default prefix is not doubled."""
    return f"{prefix}.service" if prefix.startswith("icslab") else f"icslab-{prefix}.service"


@dataclass(frozen=True)
class Unit:
    title: str
    config: Path
    data_dir: Path
    working_dir: Path
    spawner: str  # local | docker: resolved at install, so a boot never picks another
    roster: Path | None = None
    icslab: Path = ICSLAB

    def command(self) -> list[str]:
        args = [str(self.icslab), "up", "--config", str(self.config)]
        args += ["--data-dir", str(self.data_dir), "--spawner", self.spawner]
        return args + (["--roster", str(self.roster)] if self.roster else [])

    def text(self) -> str:
        docker = self.spawner == "docker"
        after = "network-online.target" + (" docker.service" if docker else "")
        title = " ".join(self.title.split()).replace("%", "%%")
        lines = [
            f"# Written by `icslab service install` for {self.config}.",
            "[Unit]",
            f"Description=icslab: {title}",
            f"After={after}",
            f"Wants={after}",
            # A hub that keeps failing (bad settings, a port taken) is given up after
            # 5 starts in 10 minutes: `icslab service status` then shows it failed.
            "StartLimitIntervalSec=600",
            "StartLimitBurst=5",
            "",
            "[Service]",
            "Type=exec",
            f"WorkingDirectory={_quote(str(self.working_dir))}",
            f"Environment={_quote(f'PATH={self.icslab.parent}:{SYSTEM_PATH}')}",
            f"ExecStart={' '.join(_quote(arg) for arg in self.command())}",
            "Restart=on-failure",
            "RestartSec=5",
            # SIGTERM to the hub alone, which stops its children itself (stopping every
            # process at once would race it); then SIGKILL for anything left over.
            "KillMode=mixed",
            "KillSignal=SIGTERM",
            # Local servers get up to 20 s each (in parallel), services and proxy less.
            "TimeoutStopSec=90",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
        return "\n".join(lines) + "\n"


def _quote(arg: str) -> str:
    """One word of a unit file: `%` and `$` escaped, quoted if it has blanks."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.search(r'[\s"\\]', arg):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def install(unit: Unit, path: Path, *, force: bool = False) -> str:
    """Write the unit: 'written', 'unchanged' or 'replaced'. A different unit already
    there (another lab's, or edited by hand) is only replaced with `force`."""
    text = unit.text()
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
        if existing == text:
            return "unchanged"
        if existing is not None and not force:
            raise InputError(
                f"{path} exists with different content (another lab's unit, or edited by "
                "hand): compare it with `icslab service install --unit-dir /tmp`, then "
                "replace it with --force"
            )
        write_atomic(path, text.encode(), 0o644)
    except PermissionError as error:
        raise InputError(f"cannot write {path}: {error.strerror} (run as root)") from None
    return "written" if existing is None else "replaced"


def status(name: str) -> dict[str, str]:
    """systemctl's properties of the unit (LoadState=not-found if not installed)."""
    shown = subprocess.run(
        ["systemctl", "show", name, f"--property={','.join(STATUS_PROPERTIES)}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)


def describe(name: str, properties: dict[str, str]) -> list[str]:
    """What `icslab service status` prints."""
    if properties.get("LoadState") == "not-found":
        return [f"{name} is not installed: `icslab service install` writes it"]
    state = f"{properties.get('ActiveState')} ({properties.get('SubState')})"
    since = properties.get("StateChangeTimestamp")
    lines = [
        f"{name}: {state}" + (f" since {since}" if since else ""),
        f"  restarted {properties.get('NRestarts', '0')} times after a failure",
        f"  unit file: {properties.get('FragmentPath')}",
    ]
    if properties.get("ActiveState") == "failed":
        result = properties.get("Result")
        lines.append(f"  failed: {result}, exit status {properties.get('ExecMainStatus')}")
    lines.append(f"  its log: journalctl -u {name} -e")
    return lines
