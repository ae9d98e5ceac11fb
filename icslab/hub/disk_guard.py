"""The disk guard: one participant must not fill the lab's disk.

Docker's overlay2 on ext4 (Debian's default) cannot cap a container's writable
layer or a volume, so this hub-managed service (docker mode) measures, every
`limits.disk_check_seconds`, what each running participant's server holds: their
work volume plus their container's writable layer. Above 90 % of `limits.disk`
it leaves a note in their work folder; above the limit it stops their server
through the hub API and records it (DATA_DIR/disk/<user>.json). When they start
again, the note says why; a restarted server may stay over the limit only while
it does not grow, so they can delete what they do not need.

    python -m icslab.hub.disk_guard --lab-file DATA_DIR/lab.json
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from docker.errors import NotFound

from icslab.hub.teams import IMAGE_HOME, user_volume
from icslab.lab import Lab
from icslab.settings import size_bytes

log = logging.getLogger("icslab-disk")
WARN_AT = 0.9
NOTE = "DISK-SPACE.txt"  # in the participant's work folder


@dataclass(frozen=True)
class Usage:
    user: str
    volume: int  # bytes
    layer: int  # bytes written in the container outside its volumes

    @property
    def total(self) -> int:
        return self.volume + self.layer


def folder_bytes(folder: Path) -> int:
    """Disk blocks used under `folder`, never following a link (a participant's links
    point anywhere), each hard-linked file counted once."""
    seen, total = set(), 0
    for top, folders, files in os.walk(folder, followlinks=False):
        for name in folders + files:
            try:
                info = os.lstat(os.path.join(top, name))
            except OSError:
                continue  # deleted meanwhile
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            if not stat.S_ISDIR(info.st_mode):
                total += info.st_blocks * 512
    return total


def measure(engine, prefix: str, users: list[str]) -> list[Usage]:
    """What each participant's running container holds."""
    running = engine.api.containers(size=True, filters={"name": f"{prefix}-"})
    layers = {name.lstrip("/"): c.get("SizeRw") or 0 for c in running for name in c["Names"]}
    found = []
    for user in users:
        if f"{prefix}-{user}" not in layers:
            continue
        try:
            volume = engine.volumes.get(user_volume(prefix, user))
        except NotFound:  # gone meanwhile: nothing to measure
            continue
        used = folder_bytes(Path(volume.attrs["Mountpoint"]))
        found.append(Usage(user, used, layers[f"{prefix}-{user}"]))
    return found


def _gb(size: int) -> str:
    return f"{size / 1024**3:.2f} GB"


class Guard:
    def __init__(self, lab: Lab, engine, hub_api: str, token: str):
        self.lab, self.engine, self.hub_api, self.token = lab, engine, hub_api, token
        self.limit = size_bytes(lab.settings.limits.disk)
        self.records = lab.paths.disk
        self.warned: set[str] = set()

    def check(self) -> None:
        users = self.lab.usernames("participant")
        for usage in measure(self.engine, self.lab.settings.docker.prefix, users):
            record = self._record(usage.user)
            if record and usage.total < WARN_AT * self.limit:
                (self.records / f"{usage.user}.json").unlink(missing_ok=True)  # cleared up
                record = None
            if usage.total > max(self.limit, record["used"] if record else 0):
                self._stop(usage)
            elif record and not record.get("told"):
                stopped = f"Your server was stopped at {record['at']}: your files used "
                self._note(usage, f"{stopped}{_gb(record['used'])}. {self._advice}")
                self._write(usage.user, {**record, "told": True})
            elif usage.total > WARN_AT * self.limit and usage.user not in self.warned:
                self._note(usage, f"Your files use {_gb(usage.total)}. {self._advice}")
                self.warned.add(usage.user)
            elif usage.total < WARN_AT * self.limit:
                self.warned.discard(usage.user)

    @property
    def _advice(self) -> str:
        return (
            f"Each participant may keep {_gb(self.limit)} (work folder and the server's own "
            "files); above it the server is stopped. Delete what you do not need: large "
            "outputs, copies of the datasets, files in /tmp."
        )

    def _stop(self, usage: Usage) -> None:
        import requests

        log.warning("stopping %s's server: %s of %s", usage.user, _gb(usage.total), _gb(self.limit))
        at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        self._write(usage.user, {"used": usage.total, "at": at})
        answer = requests.delete(
            f"{self.hub_api}/users/{usage.user}/server",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )
        if answer.status_code not in (202, 204):
            log.error("the hub did not stop %s's server: HTTP %s", usage.user, answer.status_code)

    def _note(self, usage: Usage, text: str) -> None:
        """Write the note inside their container, as them: never as root into their folder."""
        log.info("%s: %s of %s; note left", usage.user, _gb(usage.total), _gb(self.limit))
        write = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2] + '\\n')"
        container = self.engine.containers.get(f"{self.lab.settings.docker.prefix}-{usage.user}")
        container.exec_run(["python3", "-c", write, f"{IMAGE_HOME}/{NOTE}", text], user="1000")

    def _record(self, user: str) -> dict | None:
        try:
            return json.loads((self.records / f"{user}.json").read_text())
        except (OSError, ValueError):
            return None

    def _write(self, user: str, record: dict) -> None:
        from icslab.files import write_atomic

        self.records.mkdir(mode=0o700, exist_ok=True)
        write_atomic(self.records / f"{user}.json", json.dumps(record).encode(), 0o600)


def main(argv: list[str] | None = None) -> None:
    import argparse

    import docker

    parser = argparse.ArgumentParser(description="Stop servers that fill the lab's disk.")
    parser.add_argument("--lab-file", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[icslab-disk] %(message)s")
    lab = Lab.load(args.lab_file)
    guard = Guard(
        lab, docker.from_env(), os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"]
    )
    every = lab.settings.limits.disk_check_seconds
    log.info("each participant may hold %s; checked every %d s", lab.settings.limits.disk, every)
    while True:
        started = time.monotonic()
        try:
            guard.check()
        except Exception:  # one bad pass (the engine restarting) must not end the guard
            log.exception("disk check failed; trying again")
        time.sleep(max(1.0, every - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
