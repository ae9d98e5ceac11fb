"""The lab's own registry: how the nodes of a swarm get the participant image with no
outside registry.

Debian's `docker-registry` (the CNCF distribution registry) serves the image over
TLS, with a certificate from the lab CA, on the manager's cluster address. Nodes
trust that CA for this registry only (/etc/docker/certs.d/<address>:<port>/ca.crt).
The serving registry is read-only: nothing that reaches it can push. A push goes
through a second, writable instance on loopback, over the same storage, for the
time of the push.

The image is pushed under a tag that is its content hash (its image ID) and the
spawner names it by digest, so a rebuilt image never mixes with an old one and a
node that joins late pulls exactly what the others run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import docker

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.hub.front import certs
from icslab.lab import LabPaths
from icslab.waiting import wait_for

REGISTRY_PORT = 5000
REPOSITORY = "icslab-participant"
REGISTRY_COMMAND = "docker-registry"  # Debian's package of the same name
ENGINE_CERTS = Path("/etc/docker/certs.d")


@dataclass(frozen=True)
class RegistryFiles:
    """Everything of the registry under the lab's cluster folder, named once."""

    folder: Path

    @classmethod
    def of(cls, paths: LabPaths) -> RegistryFiles:
        return cls(paths.cluster / "registry")

    @property
    def storage(self) -> Path:
        return self.folder / "storage"

    @property
    def tls(self) -> Path:
        return self.folder / "tls"

    @property
    def config(self) -> Path:
        return self.folder / "serve.json"

    @property
    def push_config(self) -> Path:
        return self.folder / "push.json"

    @property
    def pid(self) -> Path:
        return self.folder / "registry.pid"

    @property
    def log(self) -> Path:
        return self.folder / "registry.log"

    @property
    def image(self) -> Path:
        """The reference of the image last pushed (what the spawner runs)."""
        return self.folder / "image.json"


def config(storage: Path, listen: str, *, tls: tuple[Path, Path] | None) -> dict:
    """A registry configuration (JSON is YAML, which the registry reads): read-only when
    it serves the nodes over TLS, writable on loopback for a push."""
    filesystem: dict = {"filesystem": {"rootdirectory": str(storage)}}
    if tls:
        filesystem["maintenance"] = {"readonly": {"enabled": True}}
    http: dict = {"addr": listen}
    if tls:
        http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    return {"version": 0.1, "log": {"level": "warn"}, "storage": filesystem, "http": http}


def address(host: str, port: int = REGISTRY_PORT) -> str:
    return f"{host}:{port}"


def ensure_serving(paths: LabPaths, host: str, title: str, port: int = REGISTRY_PORT) -> str:
    """Start the serving registry on host:port unless it already answers; its address."""
    files = RegistryFiles.of(paths)
    ca = certs.ensure_lab_ca(paths.lab_ca, title)
    cert, key = certs.ensure_server_cert(files.tls, ca, hosts=[], ips=[host], wildcard=False)
    where = address(host, port)
    if answers(f"https://{where}/v2/", ca):
        return where
    files.storage.mkdir(parents=True, exist_ok=True)
    listen = config(files.storage, where, tls=(cert, key))
    write_atomic(files.config, json.dumps(listen, indent=2).encode(), 0o600)
    process = _start(files.config, files.log)
    write_atomic(files.pid, f"{process.pid}\n".encode(), 0o600)
    _wait_answering(process, f"https://{where}/v2/", ca, files.log)
    return where


def trust_on_this_engine(registry: str, ca_cert: Path) -> Path:
    """Let this machine's engine pull from the lab registry (what each node does too)."""
    target = ENGINE_CERTS / registry / "ca.crt"
    write_atomic(target, ca_cert.read_bytes(), 0o644)
    return target


def push(engine: docker.DockerClient, paths: LabPaths, image: str, registry: str) -> str:
    """Push `image` into the lab registry; the reference nodes run (tag and digest)."""
    try:
        local = engine.images.get(image)
    except docker.errors.ImageNotFound:
        raise InputError(f"no image {image}: build it first (`make images`)") from None
    tag = str(local.id).removeprefix("sha256:")[:16]
    files = RegistryFiles.of(paths)
    files.storage.mkdir(parents=True, exist_ok=True)
    loopback = address("127.0.0.1", _free_port())
    writable = config(files.storage, loopback, tls=None)
    write_atomic(files.push_config, json.dumps(writable, indent=2).encode(), 0o600)
    process = _start(files.push_config, files.log)
    try:
        _wait_answering(process, f"http://{loopback}/v2/", None, files.log)
        digest = _push_through(engine, local, f"{loopback}/{REPOSITORY}", tag)
    finally:
        process.terminate()
        process.wait(timeout=30)
    reference = f"{registry}/{REPOSITORY}:{tag}@{digest}"
    record = {"image": image, "id": local.id, "reference": reference}
    write_atomic(files.image, json.dumps(record, indent=2).encode(), 0o644)
    return reference


def _last_push(paths: LabPaths) -> dict[str, str]:
    """What the last push recorded ({} before any push)."""
    try:
        return json.loads(RegistryFiles.of(paths).image.read_text())
    except FileNotFoundError:
        return {}


def pushed_reference(paths: LabPaths) -> str | None:
    """The image as servers name it: in the lab registry, by digest."""
    return _last_push(paths).get("reference")


def pushed_id(paths: LabPaths) -> str | None:
    """The local image id of the last push: a rebuilt image has another."""
    return _last_push(paths).get("id")


def stop(paths: LabPaths) -> bool:
    """Stop the serving registry if it runs; whether it did."""
    files = RegistryFiles.of(paths)
    try:
        pid = int(files.pid.read_text())
    except (FileNotFoundError, ValueError):
        return False
    files.pid.unlink()
    if not _is_registry(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    return True


def _push_through(engine: docker.DockerClient, local, repository: str, tag: str) -> str:
    local.tag(repository, tag)
    try:
        digest = None
        for line in engine.images.push(repository, tag, stream=True, decode=True):
            if "error" in line:
                raise InputError(f"pushing {repository}:{tag} failed: {line['error']}")
            digest = line.get("aux", {}).get("Digest", digest)
    finally:
        engine.images.remove(f"{repository}:{tag}", noprune=True)
    if not digest:
        raise InputError(f"pushing {repository}:{tag} gave no digest: see the engine's log")
    return digest


def _start(config_file: Path, log: Path) -> subprocess.Popen:
    try:
        with open(log, "ab") as out:
            return subprocess.Popen(
                [REGISTRY_COMMAND, "serve", str(config_file)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives `icslab cluster init`
            )
    except FileNotFoundError:
        raise InputError(
            f"{REGISTRY_COMMAND} is not installed: `apt-get install docker-registry` "
            "(scripts/debian-deps installs it)"
        ) from None


def _wait_answering(process: subprocess.Popen, url: str, ca: Path | None, log: Path) -> None:
    def up() -> bool:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise InputError(f"the lab registry stopped at start ({url}): " + " / ".join(tail))
        return answers(url, ca)

    wait_for(up, timeout=30, what=f"the lab registry at {url}")


def answers(url: str, ca: Path | None) -> bool:
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _is_registry(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return bool(command) and Path(command[0].decode()).name == REGISTRY_COMMAND


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
