"""`icslab up`: check everything, bring accounts in line with the roster, then
hand the process over to JupyterHub (so SIGTERM/Ctrl-C reach it directly and it
stops the proxy and participants' servers itself).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from icslab import languages
from icslab.errors import InputError
from icslab.hub import firewall, leftovers
from icslab.hub.accounts import AccountChanges, ensure_secret, sync_accounts
from icslab.hub.configure import roster_groups
from icslab.hub.docker_env import (
    check_free_space,
    client,
    disk_quota_supported,
    engine_answers,
    ensure_network,
    require_image,
    require_languages,
)
from icslab.hub.firewall import LabFirewall
from icslab.hub.front.setup import Certificate, ensure_certificate, write_caddyfile
from icslab.hub.groups import prune_groups
from icslab.hub.proxy import proxy_command
from icslab.hub.state_check import check_state
from icslab.hub.swarm_spawner import GWBRIDGE
from icslab.hub.teams import stop_servers_out_of_step
from icslab.lab import LAB_FILE_ENV, Lab, LabPaths, load_inputs
from icslab.paths import JUPYTERHUB_CONFIG
from icslab.roster import Member
from icslab.settings import site_address


@dataclass(frozen=True)
class Started:
    lab: Lab
    accounts: AccountChanges
    group_changes: list[str]
    lock_fd: int
    certificate: Certificate | None = None
    servers_stopped: list[str] = field(default_factory=list)
    # What a crashed run of this lab had left running, stopped before this start.
    cleaned_up: list[str] = field(default_factory=list)


def resolve_spawner(requested: str, settings) -> str:
    """auto means docker when an engine answers; local only for a trial on loopback."""
    hub = settings.hub
    if requested == "auto":
        if engine_answers():
            return "docker"
        if not hub.host_is_loopback:
            raise InputError(
                f"hub.spawner = 'auto' and the Docker engine does not answer: start it "
                f"(`systemctl start docker`, or `dockerd &`). A lab serving {hub.public_url} "
                "never falls back to local mode, which does not isolate participants"
            )
        return "local"
    as_root_on_a_network = os.geteuid() == 0 and not hub.host_is_loopback
    if requested == "local" and as_root_on_a_network and not hub.local_mode_as_root:
        raise InputError(
            f"hub.spawner = 'local' as root, serving {hub.public_url}: every participant's "
            "code would run as root on this server, with the lab's secrets in reach. Use "
            "spawner = 'docker' (or 'auto'), or a loopback public_url for a trial; a "
            "demo that accepts it sets hub.local_mode_as_root = true"
        )
    return requested


def require_local_languages(listed: list[str], config_file: Path) -> None:
    """Local servers run from this venv: each listed language's pack must be installed."""
    if lacking := languages.missing(listed):
        them = "it" if len(lacking) == 1 else "them"
        raise InputError(
            f"workshop.languages lists {', '.join(lacking)}, but local mode has no language "
            f"pack for {them} in {languages.LANGUAGE_PACKS}: install the listed packs with "
            f"`icslab languages install --config {config_file}` (`make install` does it for "
            "hub_config/lab.toml)"
        )


def docker_fields(settings, config_file: Path) -> dict:
    """Check the engine and image, and make sure the lab's network exists."""
    engine = client()
    require_image(engine, settings.docker.image)
    require_languages(engine, settings.docker.image, settings.workshop.languages, config_file)
    network = ensure_network(engine, settings.docker.prefix, settings.docker.egress)
    mounts = Path("/proc/mounts").read_text()
    return {
        "docker_network": network.name,
        "docker_gateway": network.gateway,
        "docker_bridge": network.bridge,
        "docker_disk_quota": disk_quota_supported(engine.info(), mounts),
    }


def swarm_fields(settings, config_file: Path, swarm: dict) -> dict:
    """Swarm mode: the image exists here (its languages are checked here); the hub API
    and services listen on the manager's cluster address, where every node reaches it."""
    engine = client()
    require_image(engine, settings.docker.image)
    require_languages(engine, settings.docker.image, settings.workshop.languages, config_file)
    return {"docker_bridge": GWBRIDGE, **swarm}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _reuse_port(data_dir: Path, field: str, chosen: set[int]) -> int:
    """The port the last start of this lab used, if still free; else a new free one. Never
    one already `chosen` for another service (a stopped service's port is free too, and
    the kernel may hand it out again): two services on one port would leave one dead and
    its clients talking to the other."""
    previous = LabPaths(data_dir.resolve()).lab_file
    port = getattr(Lab.load(previous), field) if previous.exists() else 0
    if not (port and port not in chosen and _port_is_free(port)):
        port = free_port()
        while port in chosen:
            port = free_port()
    chosen.add(port)
    return port


def check_port(port: int, address: str = "127.0.0.1", setting: str = "--port") -> None:
    """Refuse early, naming the port, rather than let the proxy or the front fail later."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            interfaces = address or "all interfaces"
            if error.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port {port} on {interfaces} is already in use: stop what listens there "
                    f"(`ss -ltnp 'sport = :{port}'` shows it) or pick another with {setting}"
                ) from None
            raise InputError(f"cannot listen on {interfaces}:{port}: {error.strerror}") from None


def public_url_with_port(settings, port: int | None) -> str:
    """hub.public_url, with --port (when given) as its port."""
    if port is None:
        return settings.hub.public_url
    scheme = urlsplit(settings.hub.public_url).scheme
    return site_address(scheme, settings.hub.public_host, port)


def network_fields(settings, data_dir: Path, port: int | None, chosen: set[int]) -> dict:
    """Where things listen. Without TLS the proxy is the front, on the (loopback) public
    address; with TLS, caddy takes the public and plain-HTTP ports and the proxy moves
    to a loopback port of its own."""
    public_url = public_url_with_port(settings, port)
    if not settings.tls_on:
        return {"public_url": public_url, "proxy_port": port or settings.hub.public_port}
    on_demand = settings.tls.mode == "acme" and settings.user_origins
    return {
        "public_url": public_url,
        "proxy_port": _reuse_port(data_dir, "proxy_port", chosen),
        "http_port": settings.hub.http_port,
        "ask_port": _reuse_port(data_dir, "ask_port", chosen) if on_demand else 0,
    }


def check_ports(lab: Lab) -> None:
    if not lab.tls_on:
        check_port(lab.proxy_port, lab.public_host, "--port or hub.public_url")
        return
    listen = lab.settings.hub.listen
    check_port(lab.public_port, listen, "--port or the port of hub.public_url")
    assert lab.http_port is not None  # a lab with TLS has its plain HTTP port
    check_port(lab.http_port, listen, "hub.http_port")
    if lab.settings.dns.serve:
        check_port(lab.settings.dns.port, listen, "dns.port")


def check_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as error:
        raise InputError(
            f"data dir {data_dir} is not writable ({error.strerror}): choose another with "
            "--data-dir or ICSLAB_DATA_DIR, or fix its permissions"
        ) from None


def lock_data_dir(paths: LabPaths) -> int:
    """Hold an exclusive lock for the hub's lifetime: one lab per data dir."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(
            f"a lab is already running from {paths.data_dir}: stop it first, or use another "
            "--data-dir"
        ) from None
    os.set_inheritable(fd, True)  # kept by JupyterHub after exec
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def prepare(
    config_file: Path,
    data_dir: Path,
    *,
    roster_file: Path | None = None,
    port: int | None = None,
    spawner: str | None = None,
    swarm: dict | None = None,
) -> Started:
    """swarm: swarm mode's Lab fields (swarm_image, docker_gateway, swarm_nodes), from
    the cluster (`icslab.cluster.setup.plan_up`)."""
    """Validate, then (only if everything is valid) update the lab's stored state."""
    settings, roster_file, members = load_inputs(config_file, roster_file)
    chosen = resolve_spawner(spawner or settings.hub.spawner, settings)
    if chosen == "local":
        require_local_languages(settings.workshop.languages, config_file)
    if swarm and chosen != "docker":
        raise InputError(f"cluster.mode = 'swarm' runs containers: not --spawner {chosen}")
    # A hub of this lab ran here before (hub.lock exists). Had it crashed, what it
    # started may still hold the ports this start reuses: take the lock first (refused
    # while that hub lives), then stop them, before choosing and checking ports.
    lock_fd, cleaned_up = None, []
    previous = LabPaths(data_dir.resolve())
    if previous.lock.exists():
        check_data_dir(previous.data_dir)
        lock_fd = lock_data_dir(previous)
        cleaned_up = leftovers.clean_up(previous)
    # The public (and plain-HTTP) ports are no service's either.
    ports = {p for p in (port or settings.hub.public_port, settings.hub.http_port) if p}
    lab = _lab(
        settings,
        config_file,
        data_dir,
        members,
        spawner=chosen,
        **network_fields(settings, data_dir, port, ports),
        # Running containers know the hub API's address: keep it across restarts.
        hub_api_port=_reuse_port(data_dir, "hub_api_port", ports),
        proxy_api_port=_reuse_port(data_dir, "proxy_api_port", ports),
        git_port=_reuse_port(data_dir, "git_port", ports),
        live_port=_reuse_port(data_dir, "live_port", ports),
        submit_port=_reuse_port(data_dir, "submit_port", ports),
        room_port=_reuse_port(data_dir, "room_port", ports),
        proxy_command=proxy_command(),
        **(docker_fields(settings, config_file) if chosen == "docker" and not swarm else {}),
        **(swarm_fields(settings, config_file, swarm) if swarm else {}),
    )
    check_ports(lab)
    check_data_dir(lab.data_dir)
    if lab.spawner == "docker" and not lab.swarm_image:  # on the nodes: cluster status
        participants = len(lab.usernames("participant"))
        check_free_space(client(), settings.docker.prefix, participants, settings.limits.disk)
    if lock_fd is None:
        lock_fd = lock_data_dir(lab.paths)
    damaged = check_state(lab.paths)  # before anything below writes to the state
    if damaged:
        raise InputError(*damaged)
    certificate = prepare_front(lab) if lab.tls_on else None
    servers_stopped = []
    if lab.spawner == "docker":
        guard_lab_network(lab)
        prefix = lab.settings.docker.prefix
        if not lab.swarm_image:
            servers_stopped = stop_servers_out_of_step(client(), prefix, lab.members)
    accounts = sync_accounts(lab.paths, lab.usernames())
    ensure_secret(lab.paths.cli_token)
    group_changes = prune_groups(lab.paths.database, roster_groups(lab.members))
    lab.paths.users.mkdir(exist_ok=True)
    lab.datasets_dir.mkdir(parents=True, exist_ok=True)  # empty until datasets are built
    lab.save()
    return Started(lab, accounts, group_changes, lock_fd, certificate, servers_stopped, cleaned_up)


def prepare_front(lab: Lab) -> Certificate:
    """Certificates and the Caddyfile, checked before any account or state changes."""
    certificate = ensure_certificate(lab)
    write_caddyfile(lab)
    return certificate


def guard_lab_network(lab: Lab) -> None:
    """Containers reach the lab's own ports on the gateway and nothing else of this
    host; nothing else reaches those ports. Installed (atomically) and checked at
    every start: refuse to start without it."""
    # docker_env found the lab network's bridge and gateway before the lab was planned.
    assert lab.docker_bridge is not None and lab.docker_gateway is not None
    wanted = LabFirewall(
        prefix=lab.settings.docker.prefix,
        bridge=lab.docker_bridge,
        gateway=lab.docker_gateway,
        ports=lab_ports(lab),
        nodes=tuple(lab.swarm_nodes) if lab.swarm_image else None,
    )
    firewall.install(wanted)
    problems = firewall.check(wanted)
    if problems:
        raise InputError(*(f"the lab network's firewall: {problem}" for problem in problems))


def lab_ports(lab: Lab) -> tuple[int, ...]:
    """The lab's ports that participants' servers reach."""
    return (lab.hub_api_port, lab.git_port, lab.live_port, lab.submit_port, lab.room_port)


def planned_lab(settings, config_file: Path, data_dir: Path, members: list[Member]) -> Lab:
    """The lab validated inputs describe, without choosing ports or touching the
    engine: what `icslab check` inspects."""
    return _lab(
        settings,
        config_file,
        data_dir,
        members,
        spawner="local" if settings.hub.spawner == "local" else "docker",
        public_url=settings.hub.public_url,
        proxy_port=0,
        http_port=settings.hub.http_port,
        hub_api_port=0,
        proxy_api_port=0,
        proxy_command=[],
    )


def _lab(settings, config_file: Path, data_dir: Path, members: list[Member], **fields) -> Lab:
    """What every lab resolves the same way: its files and its datasets folder."""
    return Lab(
        settings=settings,
        config_file=config_file.resolve(),
        data_dir=data_dir.resolve(),
        members=members,
        datasets_dir=(config_file.parent / settings.data.datasets).resolve(),
        **fields,
    )


def hub_config_file(lab: Lab) -> Path:
    beside = lab.config_file.parent / "jupyterhub_config.py"
    return beside if beside.exists() else JUPYTERHUB_CONFIG


def exec_hub(lab: Lab) -> None:
    """Replace this process with JupyterHub running the lab."""
    jupyterhub = str(Path(sys.executable).with_name("jupyterhub"))
    env = {**os.environ, LAB_FILE_ENV: str(lab.paths.lab_file)}
    os.chdir(lab.data_dir)  # anything JupyterHub writes by default lands in the lab
    # A shell's background job ignores SIGINT, and the hub stops its children
    # with SIGINT first: restore the default so they stop at once, however we started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(jupyterhub, [jupyterhub, "-f", str(hub_config_file(lab))], env)
