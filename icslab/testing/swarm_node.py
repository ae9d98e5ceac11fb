"""A real second Docker Swarm node on this machine, for the swarm tests (issue 18).

The node is a container of its own image (Debian's docker.io on a debootstrapped
bookworm, built offline like the participant base) running a second dockerd with
its own /var/lib/docker volume; it joins this engine's swarm as a worker over
docker0, as an instructor's extra machine joins the lab server's:

    with swarm_manager() as (manager, token), WorkerNode(prefix) as node:
        node.join(token, manager)
        node.load_image("icslab-base:...")   # the worker has no images, and no registry
        node.exec("docker", "ps")

`--privileged` fails here (the host's bounding set lacks CAP_SYS_RESOURCE), so the
node gets every other capability and no seccomp/AppArmor/masked paths instead
(DESIGN.md, "A second swarm node on this machine, checked").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

from docker import errors as docker_errors
from rich.console import Console

from icslab.cluster.swarm import make_swarm
from icslab.hub.docker_env import client
from icslab.hub.swarm_spawner import GWBRIDGE
from icslab.images import (
    DEBIAN_MIRROR,
    ImageBuildError,
    base_image_tag,
    debootstrap_import,
    image_info,
)
from icslab.waiting import wait_for

NODE_REPOSITORY = "icslab-node"
NODE_PACKAGES = ["docker.io", "iptables", "ca-certificates", "procps"]
SWARM_PORT = 2377
TEST_NODE_LABEL = "org.icslab.swarm-node"  # on the node's container and volume: the caller's prefix
NODE_FLAGS = [
    "--init",  # tini as PID 1 reaps what the node's containers leave behind
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
]  # fmt: skip
# A registry address as docker's certs.d names its folder: host or host:port, nothing else.
REGISTRY_ADDRESS = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")


class NodeError(Exception):
    """The node or the swarm did not do what was asked; the message says what to do."""


def docker(*args: str, input: bytes | None = None, timeout: float = 120) -> str:
    """Run the docker CLI against this machine's engine; its output, or NodeError."""
    try:
        answer = subprocess.run(
            ["docker", *args], input=input, capture_output=True, timeout=timeout
        )
    except FileNotFoundError as missing:
        raise NodeError("no docker command: apt-get install -y docker.io") from missing
    except subprocess.TimeoutExpired as timed_out:
        command = " ".join(args[:3])
        raise NodeError(f"`docker {command} ...` took over {timeout:.0f} s") from timed_out
    if answer.returncode:
        error = answer.stderr.decode(errors="replace").strip()
        raise NodeError(f"`docker {' '.join(args[:4])} ...` failed: {error}")
    return answer.stdout.decode(errors="replace").strip()


# --- the node image ---------------------------------------------------------------------------


def node_image_tag() -> str:
    """icslab-node:bookworm-<hash of its package list>: a new list names a new image."""
    return base_image_tag(NODE_PACKAGES, repository=NODE_REPOSITORY)


def ensure_node_image(mirror: str = DEBIAN_MIRROR, out: Console | None = None) -> str:
    """The node image's tag, built first (about 45 s, as root, from a Debian mirror) when
    no image has it."""
    tag = node_image_tag()
    if image_info(tag):
        return tag
    if not shutil.which("debootstrap"):
        raise ImageBuildError("debootstrap is missing: apt-get install -y debootstrap")
    if os.geteuid() != 0:
        raise ImageBuildError(f"building {tag} runs debootstrap, which needs root: run as root")
    out = out or Console(stderr=True)
    started = time.monotonic()
    with out.status(f"[bold]building the swarm node image {tag}[/]") as status:

        def on_line(line: str) -> None:
            if line.strip():
                status.update(f"[bold]{tag}[/] {line.strip()[:100]}")
                if not out.is_terminal:  # a log gets every line instead of a spinner
                    out.print(f"  {line}", markup=False, highlight=False)

        debootstrap_import(tag, NODE_PACKAGES, mirror, on_line)
    out.print(f"[green]✓[/] {tag} built in {time.monotonic() - started:.0f} s")
    return tag


# --- the manager: this machine's engine --------------------------------------------------------


def swarm_state() -> dict:
    return json.loads(docker("info", "--format", "{{json .Swarm}}"))


def bridge_gateway() -> str:
    """docker0's address on this machine: where a node container reaches the manager.
    An engine that made docker0 itself records only the subnet, and gave docker0 its
    first address."""
    config = json.loads(docker("network", "inspect", "bridge", "--format",
                               "{{json (index .IPAM.Config 0)}}"))  # fmt: skip
    return config.get("Gateway") or str(next(ip_network(config["Subnet"]).hosts()))


@contextlib.contextmanager
def swarm_manager() -> Iterator[tuple[str, str]]:
    """(manager address, worker join token) of this engine's swarm. An engine in no swarm
    gets one advertised on docker0's gateway, which it leaves at the end; a swarm that
    was there already (another test's, an instructor's) is used and left alone."""
    created = False
    had_gwbridge = bool(docker("network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$").strip())
    if swarm_state()["LocalNodeState"] == "inactive":
        try:  # as `icslab cluster init` makes it: docker_gwbridge without inter-container traffic
            make_swarm(client(), bridge_gateway())
            created = True
        except docker_errors.APIError as error:
            if "already part of a swarm" not in str(error):  # else: another test was quicker
                raise
    state = swarm_state()
    if not state.get("ControlAvailable"):
        raise NodeError(
            "this engine is a swarm worker, not a manager: the swarm tests need a manager "
            "(`docker swarm leave` here, or run them on the manager)"
        )
    try:
        token = docker("swarm", "join-token", "--quiet", "worker")
        yield f"{state['NodeAddr']}:{SWARM_PORT}", token
    finally:
        if created:
            docker("swarm", "leave", "--force")
            if not had_gwbridge:
                docker("network", "rm", GWBRIDGE)


# --- the worker -------------------------------------------------------------------------------


class WorkerNode:
    """A second dockerd in a container of the node image, named `<prefix>-node` (container,
    hostname, swarm node name) with its own `<prefix>-node-docker` volume. On exit it leaves
    the swarm, is removed from the manager's node list, and its container and volume go."""

    def __init__(
        self, prefix: str, *, image: str | None = None, timeout: float = 90,
        engine_socket: Path | None = None, dockerd_options: tuple[str, ...] | list[str] = (),
    ) -> None:  # fmt: skip
        """engine_socket: a folder of this machine where the node's engine also listens
        (docker.sock), for a test that drives it as an engine of its own."""
        self.prefix = prefix
        self.name = f"{prefix}-node"
        self.volume = f"{prefix}-node-docker"
        self.image = image
        self.timeout = timeout
        self.engine_socket = engine_socket
        self.dockerd_options = list(dockerd_options)  # e.g. the options a lab node needs
        self.node_id: str | None = None  # once joined
        self._made: list[str] = []  # "volume", "container": what exit removes

    def __enter__(self) -> WorkerNode:
        image = self.image or ensure_node_image()
        label = f"{TEST_NODE_LABEL}={self.prefix}"
        mounts = ["-v", f"{self.volume}:/var/lib/docker"]
        command = ["dockerd", *self.dockerd_options]
        if self.engine_socket:
            mounts += ["-v", f"{self.engine_socket}:/run/outside"]
            command += ["-H", "unix:///var/run/docker.sock",
                        "-H", "unix:///run/outside/docker.sock"]  # fmt: skip
        try:
            docker("volume", "create", "--label", label, self.volume)
            self._made.append("volume")
            docker("run", "--detach", "--name", self.name, "--hostname", self.name,
                   "--label", label, *NODE_FLAGS, *mounts, image, *command)  # fmt: skip
            self._made.append("container")
            wait_for(self._engine_answers, timeout=self.timeout,
                     what=f"the Docker engine inside {self.name}")  # fmt: skip
        except (NodeError, TimeoutError) as error:
            logs = self._logs()
            self._remove()
            said = f"{self.name} did not start: {error}\nits dockerd said:\n{logs}"
            raise NodeError(said) from error
        return self

    def __exit__(self, *exc: object) -> None:
        self._remove()

    @property
    def address(self) -> str:
        """The node's address on docker0."""
        return docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", self.name)

    def exec(self, *command: str, input: bytes | None = None, timeout: float = 120) -> str:
        """Run a command inside the node (`docker ps` there talks to its own engine)."""
        return docker("exec", "-i", self.name, *command, input=input, timeout=timeout)

    def trust_registry(self, address: str, ca_pem: str) -> None:
        """Make the node's engine trust a registry's CA, as an instructor does on a
        machine joining the lab: /etc/docker/certs.d/<address>/ca.crt."""
        if not REGISTRY_ADDRESS.fullmatch(address):
            raise ValueError(f"{address!r} is not a registry address (host or host:port)")
        if "-----BEGIN CERTIFICATE-----" not in ca_pem:
            raise ValueError("ca_pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        folder = f"/etc/docker/certs.d/{address}"
        self.exec("sh", "-c", 'mkdir -p "$1" && cat > "$1/ca.crt"', "sh", folder,
                  input=ca_pem.encode())  # fmt: skip

    def join(self, token: str, manager: str) -> str:
        """Join the swarm as a worker; its node id, once the manager sees it Ready."""
        self.exec("docker", "swarm", "join", "--token", token, manager)
        self.node_id = self.exec("docker", "info", "--format", "{{.Swarm.NodeID}}")
        wait_for(lambda: self.state() == "ready", timeout=self.timeout,
                 what=f"the manager to see {self.name} Ready")  # fmt: skip
        return self.node_id

    def state(self) -> str | None:
        """The node's state as the manager sees it (ready, down, ...); None if unknown."""
        if self.node_id is None:
            return None
        try:
            return docker("node", "inspect", "--format", "{{.Status.State}}", self.node_id)
        except NodeError:
            return None

    def load_image(self, image: str) -> None:
        """Copy an image of this machine's engine into the node's (`docker save | docker load`)."""
        with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
            load = subprocess.run(["docker", "exec", "-i", self.name, "docker", "load"],
                                  stdin=save.stdout, capture_output=True, timeout=300)  # fmt: skip
        if save.returncode or load.returncode:
            raise NodeError(f"copying {image} into {self.name} failed: "
                            f"{load.stderr.decode(errors='replace').strip()} "
                            f"(is {image} on this machine? `docker image ls`)")  # fmt: skip

    # --- leaving --------------------------------------------------------------------------

    def _engine_answers(self) -> bool:
        try:
            self.exec("docker", "version", "--format", "{{.Server.Version}}", timeout=10)
        except NodeError:
            if docker("inspect", "--format", "{{.State.Running}}", self.name) != "true":
                raise  # dockerd exited: waiting longer will not help
            return False
        return True

    def _logs(self) -> str:
        if "container" not in self._made:
            return "(no container)"
        answer = subprocess.run(["docker", "logs", "--tail", "20", self.name],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        return (answer.stdout + answer.stderr).strip()

    def _remove(self) -> None:
        """Everything this node made, each step tried even when an earlier one failed."""
        problems = []
        if self.node_id is not None:
            with contextlib.suppress(NodeError):
                self.exec("docker", "swarm", "leave", timeout=60)
            try:
                docker("node", "rm", "--force", self.node_id)
                self.node_id = None
            except NodeError as error:
                if "not found" not in str(error):
                    problems.append(str(error))
        if "container" in self._made:
            # Its own containers first, so their cgroups (under the host's) go with them.
            with contextlib.suppress(NodeError):
                inner = self.exec("docker", "ps", "--all", "--quiet", timeout=30).split()
                if inner:
                    self.exec("docker", "rm", "--force", *inner, timeout=120)
            try:
                docker("rm", "--force", "--volumes", self.name)
                self._made.remove("container")
            except NodeError as error:
                problems.append(str(error))
        if "volume" in self._made:
            try:
                docker("volume", "rm", self.volume)
                self._made.remove("volume")
            except NodeError as error:
                problems.append(str(error))
        if problems:
            raise NodeError(f"{self.name} left things behind: " + "; ".join(problems))
