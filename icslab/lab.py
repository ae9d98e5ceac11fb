"""A lab: validated settings + roster + data dir, resolved once by `icslab up`.

The resolved lab is written to `DATA_DIR/lab.json`; the hub's config file reads
it back, so the hub runs with exactly what the CLI validated.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.roster import Member, read_roster
from icslab.settings import LabSettings, PublicAddress, load_settings, origin

DATA_DIR_ENV = "ICSLAB_DATA_DIR"
# The lab's hub services that browsers or participants' servers reach.
GIT_SERVICE = "icslab-git"
LIVE_SERVICE = "icslab-live"
GIT_URL_ENV = "ICSLAB_GIT_URL"  # in participants' servers: where the lab's workshops come from
LIVE_URL_ENV = "ICSLAB_LIVE_URL"  # in participants' servers: `icslab live copy` fetches there
SUBMIT_SERVICE = "icslab-submit"
ROOM_SERVICE = "icslab-room"
ROOM_URL_ENV = "ICSLAB_ROOM_URL"  # in participants' servers: self-checks record verdicts there
HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # in participants' servers: their server's own hub token
LAB_FILE_ENV = "ICSLAB_LAB_FILE"


def room_endpoint(name: str) -> tuple[str, str] | None:
    """In a participant's server: the room service's endpoint `name` and the server's
    hub token to send it (the service takes user and team from the token); None
    outside a lab's server."""
    url, token = os.environ.get(ROOM_URL_ENV), os.environ.get(HUB_TOKEN_ENV)
    if not (url and token):
        return None
    return f"{url.rstrip('/')}/{name}", token


PLANT_SERVERS = "servers"  # in a plant's folder: one file per server address, holding its user


def record_plant_server(plant_folder: Path, ip: str, username: str) -> None:
    """Tell a plant whose server has `ip` on its network: the plant runs with no Docker
    socket, and names a red team's writes from these files."""
    ipaddress.IPv4Address(ip)  # a file name, so an address and nothing else
    folder = plant_folder / PLANT_SERVERS
    folder.mkdir(mode=0o755, exist_ok=True)
    write_atomic(folder / ip, f"{username}\n".encode(), 0o644)


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or ".icslab")


@dataclass(frozen=True)
class LabPaths:
    """Where a lab keeps its state; every `icslab` command finds it from the data dir."""

    data_dir: Path

    @property
    def credentials(self) -> Path:
        return self.data_dir / "credentials.csv"

    @property
    def passwords(self) -> Path:
        return self.data_dir / "passwords.dbm"

    @property
    def database(self) -> Path:
        return self.data_dir / "jupyterhub.sqlite"

    @property
    def cookie_secret(self) -> Path:
        return self.data_dir / "jupyterhub_cookie_secret"

    @property
    def users(self) -> Path:
        return self.data_dir / "users"

    @property
    def teams(self) -> Path:
        """Local mode: each team's shared folder, linked into its members' homes."""
        return self.data_dir / "teams"

    @property
    def lab_file(self) -> Path:
        return self.data_dir / "lab.json"

    @property
    def lock(self) -> Path:
        return self.data_dir / "hub.lock"

    @property
    def proxy_pid(self) -> Path:
        return self.data_dir / "proxy.pid"

    @property
    def git(self) -> Path:
        """The workshops' git repositories (`icslab publish`), served by the git service."""
        return self.data_dir / "git"

    @property
    def cli_token(self) -> Path:
        """The API token `icslab warm` and friends use (the icslab-cli service's)."""
        return self.data_dir / "cli_token"

    @property
    def submissions(self) -> Path:
        """The hand-in store (icslab.handin.store): the hub's, never mounted anywhere."""
        return self.data_dir / "submissions"

    @property
    def room(self) -> Path:
        """Participants' self-check verdicts and teams' alerts (icslab.room.store, SQLite)."""
        return self.data_dir / "room.sqlite"

    @property
    def plants(self) -> Path:
        """Live plants (icslab.plant): each team's folder, with its plant's ground truth
        and historian. The lab's: never mounted into a participant's container."""
        return self.data_dir / "plants"

    @property
    def announcements(self) -> Path:
        """What `icslab announce` shows participants (icslab.hub.announcements)."""
        return self.data_dir / "announcements.json"

    @property
    def disk(self) -> Path:
        """Whose server the disk guard stopped, and at what size (icslab.hub.disk_guard)."""
        return self.data_dir / "disk"

    @property
    def cluster(self) -> Path:
        """Swarm mode's state: the cluster's address, the lab registry (its storage,
        certificate and process), the image pushed there, who lives on which node."""
        return self.data_dir / "cluster"

    @property
    def tls(self) -> Path:
        """The front door's state: caddy's config and storage, the lab CA, the CA page."""
        return self.data_dir / "tls"

    @property
    def caddyfile(self) -> Path:
        return self.tls / "Caddyfile"

    @property
    def caddy_storage(self) -> Path:
        """Certificates caddy obtained (ACME) and its account keys: kept across restarts."""
        return self.tls / "caddy"

    @property
    def lab_ca(self) -> Path:
        """The lab's own CA (lab-ca mode) and the server certificate it signs."""
        return self.tls / "lab-ca"

    @property
    def ca_site(self) -> Path:
        """What plain HTTP serves besides redirects: the lab CA page, under /ca/."""
        return self.tls / "site"


class Lab(BaseModel, PublicAddress):
    model_config = ConfigDict(frozen=True)

    settings: LabSettings
    config_file: Path
    data_dir: Path
    members: list[Member]
    spawner: Literal["local", "docker"]
    # What participants type (scheme://host[:port]); --port may have changed the port.
    public_url: str
    # configurable-http-proxy: on the public port without TLS, else on a loopback port
    # behind the TLS front (caddy), which listens on the public and plain-HTTP ports.
    proxy_port: int
    http_port: int | None = None
    # acme: where caddy asks whether a participant's host may get a certificate.
    ask_port: int = 0
    hub_api_port: int
    proxy_api_port: int
    datasets_dir: Path
    proxy_command: list[str]
    # Docker mode: the lab's network and the gateway address the hub API binds to.
    docker_network: str | None = None
    docker_gateway: str | None = None
    docker_bridge: str | None = None  # its interface on this host (firewall rules)
    # Swarm mode: the participant image in the lab registry, by digest (None: one server).
    swarm_image: str | None = None
    # Swarm mode: the addresses of the swarm's nodes when the lab started (the firewall
    # lets only them reach the lab's ports on the manager's address).
    swarm_nodes: list[str] = []
    # Whether the engine caps a container's own files (overlay2 on xfs with quotas).
    docker_disk_quota: bool = False
    # The git service (workshop material): where participants' servers fetch from.
    git_port: int = 0
    # The live-coding service (follow pages), reached the same way.
    live_port: int = 0
    # The hand-in service (homework, capstone predictions), reached the same way.
    submit_port: int = 0
    # The room service (self-check verdicts, the instructors' room view, notices).
    room_port: int = 0

    @property
    def paths(self) -> LabPaths:
        return LabPaths(self.data_dir)

    @property
    def url(self) -> str:
        """The lab's address for participants, with a trailing slash."""
        return f"{self.public_url}/"

    @property
    def tls_on(self) -> bool:
        return self.settings.tls_on

    @property
    def user_origins(self) -> bool:
        return self.settings.user_origins

    def user_host(self, username: str) -> str:
        """Where a participant's server lives with per-user origins (JupyterHub's own rule)."""
        return _subdomain(username, self.public_host, "user")

    def service_host(self, service: str) -> str:
        return _subdomain(service, self.public_host, "service")

    def service_url(self, service: str) -> str:
        """A hub service's pages as browsers reach them (with per-user origins, each
        service has a host of its own, as each user does)."""
        if not self.user_origins:
            return f"{self.url}services/{service}/"
        site = origin("https", self.service_host(service), self.public_port)
        return f"{site}/services/{service}/"

    @property
    def hub_api_url(self) -> str:
        """The hub's REST API as `icslab` commands on this machine reach it: directly,
        not through the front door (no certificate or name to resolve)."""
        return f"http://{self.service_ip}:{self.hub_api_port}/hub/api/"

    @property
    def git_url(self) -> str:
        """The git service as participants' servers reach it (no trailing slash)."""
        return f"http://{self.service_ip}:{self.git_port}"

    @property
    def live_url(self) -> str:
        """The live service's pages, as participants' servers reach them."""
        return f"http://{self.service_ip}:{self.live_port}/services/{LIVE_SERVICE}/"

    @property
    def submit_url(self) -> str:
        """The hand-in service, as participants' servers reach it."""
        return f"http://{self.service_ip}:{self.submit_port}/services/{SUBMIT_SERVICE}/"

    @property
    def room_url(self) -> str:
        """The room service, as participants' servers reach it."""
        return f"http://{self.service_ip}:{self.room_port}/services/{ROOM_SERVICE}/"

    @property
    def service_ip(self) -> str:
        """Where the hub API and services listen: loopback, or the lab network's gateway."""
        return (
            self.docker_gateway
            if self.spawner == "docker" and self.docker_gateway
            else ("127.0.0.1")
        )

    def usernames(self, role: str | None = None) -> list[str]:
        return [m.username for m in self.members if role is None or m.role == role]

    def save(self) -> None:
        self.paths.lab_file.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Lab:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def _subdomain(name: str, domain: str, kind: str) -> str:
    # Imported here: jupyterhub.utils costs every `icslab` command ~0.3 s at import.
    from jupyterhub.utils import subdomain_hook_idna

    return subdomain_hook_idna(name, domain, kind)


def load_inputs(
    config_file: Path, roster_file: Path | None = None
) -> tuple[LabSettings, Path, list[Member]]:
    """Validate settings and roster together, so one run reports every problem."""
    problems: list[str] = []
    settings = None
    members: list[Member] = []
    try:
        settings = load_settings(config_file)
    except InputError as error:
        problems += error.problems
    if roster_file is None and settings is not None:
        roster_file = config_file.parent / settings.hub.roster
    if roster_file is not None:
        try:
            members = read_roster(roster_file)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(*problems)
    assert settings is not None and roster_file is not None
    return settings, roster_file, members


def lab_from_hub_environment() -> Lab:
    """The lab `icslab up` resolved; used by hub_config/jupyterhub_config.py."""
    path = os.environ.get(LAB_FILE_ENV)
    if not path:
        raise RuntimeError(
            f"{LAB_FILE_ENV} is not set: start the hub with `icslab up`, which validates "
            "the settings and roster first"
        )
    return Lab.load(Path(path))
