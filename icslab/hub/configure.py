"""Settings -> JupyterHub config. `configure` only sets values on a traitlets
Config (never appends or mutates), so a test can inspect its result without
starting a hub.
"""

from __future__ import annotations

import html
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets.config import Config

from icslab.handin.client import SUBMIT_URL_ENV
from icslab.hub import announcements
from icslab.hub.auth import TEMPLATES
from icslab.hub.front import dns
from icslab.hub.teams import IMAGE_HOME, DockerTeamHook, LocalTeamHook, team_roles, user_volume
from icslab.lab import (
    GIT_SERVICE,
    GIT_URL_ENV,
    LIVE_SERVICE,
    LIVE_URL_ENV,
    ROOM_SERVICE,
    ROOM_URL_ENV,
    SUBMIT_SERVICE,
    Lab,
)
from icslab.languages import IMAGE_LANGUAGE_PACKS, python_path
from icslab.roster import Member, teams
from icslab.singleuser import JUPYTER_CONFIG
from icslab.singleuser.landing import ELSE_ENV, LANDING_ENV, LANDING_PATH

PARTICIPANTS = "participants"
INSTRUCTORS = "instructors"
# Marks groups the roster owns, so a restart can drop stale ones (see groups.py).
ROSTER_GROUP = {"icslab": "roster"}

# Instructors see and run participants' servers, not other instructors' servers,
# and cannot change users, groups or the hub itself.
INSTRUCTOR_SCOPES = [
    "admin-ui",
    f"list:users!group={PARTICIPANTS}",
    f"read:users!group={PARTICIPANTS}",
    f"admin:servers!group={PARTICIPANTS}",
    f"access:servers!group={PARTICIPANTS}",
    "list:groups",
    "read:groups",
]
# `icslab warm` starts participants' servers; it reads the token from the data dir.
CLI_SCOPES = [
    f"list:users!group={PARTICIPANTS}",
    f"read:users!group={PARTICIPANTS}",
    f"admin:servers!group={PARTICIPANTS}",
    "list:groups",
    "read:groups",
]
GIT_ACCESS = f"access:services!service={GIT_SERVICE}"
FRONT_SERVICE = "icslab-front"
LIVE_ACCESS = f"access:services!service={LIVE_SERVICE}"
SUBMIT_ACCESS = f"access:services!service={SUBMIT_SERVICE}"
ROOM_ACCESS = f"access:services!service={ROOM_SERVICE}"
USER_SCOPES = ["self", GIT_ACCESS, LIVE_ACCESS, SUBMIT_ACCESS, ROOM_ACCESS]
# JupyterHub's default for a server's own token (the `server` role), plus fetching
# workshops, copying live notebooks, handing in, and recording self-checks.
SERVER_TOKEN_SCOPES = [
    "users:activity!user",
    "access:servers!server",
    GIT_ACCESS,
    LIVE_ACCESS,
    SUBMIT_ACCESS,
    ROOM_ACCESS,
]
# What the room service reads of the hub: whose server runs, and when it was last used.
ROOM_SCOPES = [
    f"list:users!group={PARTICIPANTS}",
    f"read:users:activity!group={PARTICIPANTS}",
    f"read:servers!group={PARTICIPANTS}",
]
DISK_SERVICE = "icslab-disk"
# What the disk guard needs: stop a participant's server.
DISK_SCOPES = [f"admin:servers!group={PARTICIPANTS}"]
# What jupyterhub-idle-culler needs to find and stop idle servers, nothing more.
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def roster_groups(members: list[Member]) -> dict[str, list[str]]:
    """Group name -> usernames: everyone by role, and each team (teams are groups)."""
    return {
        PARTICIPANTS: [m.username for m in members if m.role == "participant"],
        INSTRUCTORS: [m.username for m in members if m.role == "instructor"],
        **teams(members),
    }


def configure(c: Config, lab: Lab) -> None:
    _network(c, lab)
    _state(c, lab)
    _accounts(c, lab)
    _spawner(c, lab)
    _services(c, lab)
    c.JupyterHub.template_vars = page_banners(lab)


def page_banners(lab: Lab) -> dict:
    """The hub pages' banner: the workshop's title, and the announcements the user's
    team sees now (`icslab announce`), read at every page."""
    title = html.escape(lab.settings.workshop.title)
    teams = tuple((m.username, m.team) for m in lab.members if m.team)
    return {
        "announcement_login": Banner(
            f"{title}: log in with the username and password from your credentials sheet.",
            lab.paths.announcements,
            teams,
        ),
        "announcement_home": Banner(title, lab.paths.announcements, teams),
        "announcement_spawn": Banner(title, lab.paths.announcements, teams),
    }


@dataclass(frozen=True)
class Banner:
    """JupyterHub calls it with the page's user (None before login) at every page."""

    first: str
    announcements: Path
    teams: tuple[tuple[str, str], ...]

    def __call__(self, user) -> str:
        team = dict(self.teams).get(user.name) if user is not None else None
        shown = announcements.as_html(announcements.current(self.announcements, team))
        return "<br>".join(part for part in (self.first, shown) if part)


def _network(c: Config, lab: Lab) -> None:
    # Without TLS browsers reach the proxy on the (loopback) public address. With
    # TLS they reach the front (caddy), which hands requests to the proxy on
    # loopback. The hub API listens on loopback too, or in docker mode on the lab
    # network's gateway, where containers reach it.
    hub_ip = lab.docker_gateway if lab.spawner == "docker" else "127.0.0.1"
    proxy_host = lab.public_host if not lab.tls_on else "127.0.0.1"
    c.JupyterHub.bind_url = f"http://{proxy_host}:{lab.proxy_port}"
    if lab.tls_on:
        # Links, redirects and cookies use the public https address (cookies Secure).
        c.JupyterHub.public_url = lab.url
        c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
    if lab.user_origins:
        # Each participant's server on its own host: what it serves never runs with
        # a visitor's hub session, and the hub's cookies never reach it.
        c.JupyterHub.subdomain_host = lab.public_url
        c.JupyterHub.cookie_host_prefix_enabled = True
    c.JupyterHub.hub_bind_url = f"http://{hub_ip}:{lab.hub_api_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{lab.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = list(lab.proxy_command)
    c.ConfigurableHTTPProxy.pid_file = str(lab.paths.proxy_pid)
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.cleanup_proxy = True
    # Local servers are the hub's child processes: they stop with it. Containers
    # outlive a hub restart, and the restarted hub finds them again.
    c.JupyterHub.cleanup_servers = lab.spawner == "local"


def _state(c: Config, lab: Lab) -> None:
    c.JupyterHub.db_url = f"sqlite:///{lab.paths.database}"
    c.JupyterHub.cookie_secret_file = str(lab.paths.cookie_secret)


def _accounts(c: Config, lab: Lab) -> None:
    accounts = lab.settings.accounts
    c.JupyterHub.authenticator_class = "icslab.hub.auth.RosterAuthenticator"
    c.JupyterHub.template_paths = [str(TEMPLATES)]  # the change-password page
    c.Authenticator.allowed_users = set(lab.usernames())
    c.Authenticator.admin_users = set()
    c.Authenticator.delete_invalid_users = True
    c.RosterAuthenticator.dbm_path = str(lab.paths.passwords)
    c.RosterAuthenticator.max_failed_logins = accounts.max_failed_logins
    c.RosterAuthenticator.lockout_seconds = accounts.lockout_seconds
    c.RosterAuthenticator.min_password_length = accounts.min_password_length
    c.RosterAuthenticator.max_failed_logins_per_address = accounts.max_failed_logins_per_address
    c.RosterAuthenticator.address_window_seconds = accounts.address_window_seconds

    c.JupyterHub.load_groups = {
        name: {"users": users, "properties": dict(ROSTER_GROUP)}
        for name, users in roster_groups(lab.members).items()
    }
    instructor = {
        "name": "instructor",
        "description": "Run and open participants' servers; see the admin page",
        "scopes": list(INSTRUCTOR_SCOPES),
        "groups": [INSTRUCTORS],
    }
    culler = {
        "name": "idle-culler",
        "description": "Stop idle participants' servers",
        "scopes": list(CULLER_SCOPES),
        "services": ["idle-culler"],
    }
    cli = {
        "name": "icslab-cli",
        "description": "What `icslab warm` and other instructor commands do through the API",
        "scopes": list(CLI_SCOPES),
        "services": ["icslab-cli"],
    }
    # Every lab user, and their server's token, may fetch workshops from the git service.
    user = {"name": "user", "description": "Own servers; fetch workshops", "scopes": USER_SCOPES}
    disk = {
        "name": "disk-guard",
        "description": "Stop a participant's server that holds more than limits.disk",
        "scopes": list(DISK_SCOPES),
        "services": [DISK_SERVICE],
    }
    room = {
        "name": "room",
        "description": "See whose servers run and when they were last used (the room view)",
        "scopes": list(ROOM_SCOPES),
        "services": [ROOM_SERVICE],
    }
    culling = lab.settings.culler.idle_timeout_minutes > 0
    c.JupyterHub.load_roles = [
        user,
        instructor,
        cli,
        room,
        *([culler] if culling else []),
        *([disk] if lab.spawner == "docker" and not lab.swarm_image else []),
        *team_roles(lab.members),
    ]


def _spawner(c: Config, lab: Lab) -> None:
    settings = lab.settings
    # With a landing notebook, the server's own landing page finds it (and waits for
    # its pull at start); it falls back to hub.default_url.
    c.Spawner.default_url = LANDING_PATH if settings.material.landing else settings.hub.default_url
    c.Spawner.environment = {
        **server_environment(lab),
        "ICSLAB_DATA": str(lab.datasets_dir),
        # The lab's Jupyter config: no news or update checks (labs are offline), the
        # kernel pool and autopull extensions on, language servers off. The image
        # sets it for containers.
        "JUPYTER_CONFIG_PATH": str(JUPYTER_CONFIG),
        **(local_languages(settings.workshop.languages) if lab.spawner == "local" else {}),
    }
    c.Spawner.server_token_scopes = list(SERVER_TOKEN_SCOPES)
    c.Spawner.mem_limit = settings.limits.memory
    c.Spawner.cpu_limit = settings.limits.cpus
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    if lab.spawner == "docker":
        _docker(c, lab)
    else:
        c.JupyterHub.spawner_class = "icslab.hub.spawners.LocalSpawner"
        c.LocalSpawner.home_dir_template = str(lab.paths.users / "{username}")
        c.Spawner.pre_spawn_hook = LocalTeamHook(tuple(lab.members), lab.data_dir)
        # The hub's own virtualenv, found without relying on PATH.
        c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
        # Labs and CI often run as root; jupyter-server refuses root unless told.
        c.Spawner.args = ["--ServerApp.allow_root=True"]


def local_languages(languages: list[str]) -> dict:
    """A local server's PYTHONPATH: this lab's language packs, each in a folder of its own
    (icslab.languages says why), then the hub's own."""
    if not languages:
        return {}
    own = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [*python_path(languages), *own]))}


def image_languages(languages: list[str]) -> dict:
    """A container's PYTHONPATH: the image's folders of this lab's language packs."""
    if not languages:
        return {}
    return {"PYTHONPATH": ":".join(python_path(languages, IMAGE_LANGUAGE_PACKS))}


def _services(c: Config, lab: Lab) -> None:
    # The token file is made by `icslab up` (0600); the CLI reads it to call the API.
    cli = {"name": "icslab-cli", "api_token": lab.paths.cli_token.read_text().strip()}
    git = {
        "name": GIT_SERVICE,
        "url": lab.git_url,
        "command": [
            sys.executable,
            "-m",
            "icslab.hub.git_service",
            f"--root={lab.paths.git}",
            f"--ip={lab.service_ip}",
            f"--port={lab.git_port}",
        ],
        "display": False,
    }
    live = {
        "name": LIVE_SERVICE,
        "url": f"http://{lab.service_ip}:{lab.live_port}",
        "command": [
            sys.executable,
            "-m",
            "icslab.live.service",
            f"--data-dir={lab.data_dir}",
            f"--ip={lab.service_ip}",
            f"--port={lab.live_port}",
            *([f"--docker-prefix={lab.settings.docker.prefix}"] if lab.spawner == "docker" else []),
        ],
        "oauth_no_confirm": True,  # a lab page, not a third party: no "Authorize" step
    }
    submit = {
        "name": SUBMIT_SERVICE,
        "url": f"http://{lab.service_ip}:{lab.submit_port}",
        "command": [
            sys.executable,
            "-m",
            "icslab.hub.handin_service",
            f"--lab-file={lab.paths.lab_file}",
            f"--ip={lab.service_ip}",
            f"--port={lab.submit_port}",
        ],
        # The hub's icslab settings (e.g. where the BATADAL files are, to check predictions).
        "environment": {k: v for k, v in os.environ.items() if k.startswith("ICSLAB_")},
        "display": False,
    }
    room = {
        "name": ROOM_SERVICE,
        "url": f"http://{lab.service_ip}:{lab.room_port}",
        "command": [
            sys.executable,
            "-m",
            "icslab.room.service",
            f"--lab-file={lab.paths.lab_file}",
            f"--ip={lab.service_ip}",
            f"--port={lab.room_port}",
        ],
        # The hub's icslab settings (e.g. where the hidden answers are, for the ranks).
        "environment": {k: v for k, v in os.environ.items() if k.startswith("ICSLAB_")},
        "oauth_no_confirm": True,  # a lab page, not a third party: no "Authorize" step
        # Participants may reach it (their servers record checks) but the page is not
        # theirs: no link in everyone's Services menu; `icslab up` prints its address.
        "display": False,
    }
    services: list[dict[str, Any]] = [cli, git, live, submit, room]
    idle_minutes = lab.settings.culler.idle_timeout_minutes
    if idle_minutes:
        timeout = idle_minutes * 60
        services.append(
            {
                "name": "idle-culler",
                "command": [
                    sys.executable,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={timeout}",
                    # A pass every quarter of the timeout: a stop comes at most 25 % late.
                    f"--cull-every={max(15, min(600, timeout // 4))}",
                ],
            }
        )
    if lab.spawner == "docker" and not lab.swarm_image:  # it reads this engine's volumes
        guard = [sys.executable, "-m", "icslab.hub.disk_guard", f"--lab-file={lab.paths.lab_file}"]
        services.append({"name": DISK_SERVICE, "command": guard})
    if lab.tls_on:
        # The TLS front starts and stops with the hub, as the proxy does.
        routed = [f"--service={service['name']}" for service in services if "url" in service]
        front = [sys.executable, "-m", "icslab.hub.front", f"--data-dir={lab.data_dir}", *routed]
        services.append({"name": FRONT_SERVICE, "command": front})
    if lab.settings.dns.serve:
        services.append(dns.service(lab))
    c.JupyterHub.services = services


def server_environment(lab: Lab) -> dict:
    """What every participant's server gets, in either mode."""
    return {
        "ICSLAB_WORKSHOP": lab.settings.workshop.title,
        "ICSLAB_SPARE_KERNELS": str(lab.settings.limits.spare_kernels),
        # Behind TLS every cookie the server sets is Secure (jupyter_config sets _xsrf's).
        **({"ICSLAB_SECURE_COOKIES": "1"} if lab.tls_on else {}),
        **git_environment(lab),
        **({LANDING_ENV: lab.settings.material.landing} if lab.settings.material.landing else {}),
        ELSE_ENV: lab.settings.hub.default_url,
        **KERNEL_MEMORY,
    }


# Kernels hand the memory they free back to the host (bench/memory.py measures it):
# Arrow allocates from the C library, not from its own pool that keeps what it freed,
# and the C library maps every block over 128 KiB by itself instead of raising that
# bar as big arrays come and go and keeping them in its heap.
KERNEL_MEMORY = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_MMAP_THRESHOLD_": "131072"}


def git_environment(lab: Lab) -> dict:
    """Makes `git` in a participant's server (so nbgitpuller) send the server's own hub
    token to the git service, and only there."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{lab.git_url}/.extraHeader",
        "GIT_CONFIG_VALUE_0": _token_header,
        # Full clones: a workshop is small, and dulwich's server fails the fetch that
        # follows a shallow clone (git sends `shallow` lines without a `deepen`).
        "NBGITPULLER_DEPTH": "0",
        GIT_URL_ENV: lab.git_url,  # `icslab material fresh` knows the lab's workshops by it
        LIVE_URL_ENV: lab.live_url,  # `icslab live copy` fetches from here
        SUBMIT_URL_ENV: lab.submit_url,  # homework and capstone predictions go here
        ROOM_URL_ENV: lab.room_url,  # self-checks' verdicts go here; notices come from here
        # Pulled by icslab.singleuser.autopull when a server starts.
        "ICSLAB_PULL_ON_START": " ".join(
            f"{lab.git_url}/{name}.git" for name in lab.settings.material.pull_on_start
        ),
    }


def _token_header(spawner) -> str:
    return f"Authorization: token {spawner.api_token}"


CONTAINER_LOGS = {"max-size": "10m", "max-file": "3"}
# Where the datasets are inside the participant image (images/participant/Dockerfile).
IMAGE_DATA = "/opt/icslab/data"


def _docker(c: Config, lab: Lab) -> None:
    docker = lab.settings.docker
    c.JupyterHub.spawner_class = "icslab.hub.spawners.DockerSpawner"
    c.DockerSpawner.image = docker.image
    c.DockerSpawner.pull_policy = "never"  # labs have no registry: fail, never pull
    c.DockerSpawner.prefix = docker.prefix
    c.DockerSpawner.name_template = "{prefix}-{username}"
    c.DockerSpawner.remove = True  # the volume keeps the work, not the container
    own_volume = {user_volume(docker.prefix, "{username}"): IMAGE_HOME}
    c.DockerSpawner.volumes = own_volume
    c.Spawner.pre_spawn_hook = DockerTeamHook(
        tuple(lab.members), docker.prefix, tuple(own_volume.items())
    )
    c.DockerSpawner.notebook_dir = IMAGE_HOME
    if lab.swarm_image:
        _swarm(c, lab)
    else:
        c.DockerSpawner.network_name = lab.docker_network
    c.DockerSpawner.plants_dir = str(lab.paths.plants)  # servers joining a live plant say so
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.environment = {
        **server_environment(lab),
        "ICSLAB_DATA": IMAGE_DATA,
        **image_languages(lab.settings.workshop.languages),
    }
    c.DockerSpawner.extra_host_config = {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": docker.pids_limit,
        "memswap_limit": lab.settings.limits.memory,  # no swap beyond the memory limit
        # What a server prints is kept, but never more than 3 x 10 MB per container.
        "log_config": {"type": "json-file", "config": CONTAINER_LOGS},
        # Where the engine can, it caps the container's own files too (the disk guard
        # measures the rest: the work volume).
        **({"storage_opt": {"size": lab.settings.limits.disk}} if lab.docker_disk_quota else {}),
    }


def _swarm(c: Config, lab: Lab) -> None:
    """Swarm mode: each server a service on a prepared node (icslab.hub.swarm_spawner)."""
    c.JupyterHub.spawner_class = "icslab.hub.swarm_spawner.SwarmSpawner"
    c.SwarmSpawner.image = lab.swarm_image  # in the lab registry, by digest
    c.SwarmSpawner.pull_policy = "skip"  # each node pulls from the lab registry
    c.SwarmSpawner.cluster_dir = str(lab.paths.cluster)
    c.SwarmSpawner.pids_limit = lab.settings.docker.pids_limit
    c.SwarmSpawner.node_addresses = lab.swarm_nodes  # those the lab firewall lets in
    mates = teams(list(lab.members))
    c.SwarmSpawner.team_members = json.dumps(
        {m.username: [u for u in mates[m.team] if u != m.username] for m in lab.members if m.team}
    )
