"""The typed schema of the lab's settings, `hub_config/lab.toml`: the one file an
instructor edits to run a lab.

Every setting is validated here and nowhere else. Errors name the file, the
line, the key and what is allowed, and all problems are reported at once.

Each setting's `description` is also the comment above it in hub_config/lab.toml
(tests/unit/test_settings_documented.py keeps the two the same): change both.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from icslab.errors import InputError
from icslab.languages import unknown as unknown_languages
from icslab.paths import SETTINGS_FILE

log = logging.getLogger(__name__)
SETTINGS_NAME = SETTINGS_FILE.name  # lab.toml
# The settings file's name until this release: still read, with a note, for one more.
OLD_SETTINGS_NAME = "workshop.toml"
MEMORY = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?[KMGT]?$")


def size_bytes(size: str) -> int:
    """A size such as 512M or 2G in bytes (powers of 1024, as Docker reads them)."""
    power = "KMGT".find(size[-1]) + 1
    return int(float(size[:-1] if power else size) * 1024**power)


DEFAULT_PORTS = {"http": 80, "https": 443}


class PublicAddress:
    """The host and port of what participants type, `public_url` (validated to name a
    host): the settings' and, with --port applied, the lab's."""

    public_url: str

    @property
    def public_host(self) -> str:
        host = urlsplit(self.public_url).hostname
        assert host, "public_url is validated to name a host"
        return host

    @property
    def public_port(self) -> int:
        parts = urlsplit(self.public_url)
        return parts.port or DEFAULT_PORTS[parts.scheme]


class Section(BaseModel):
    # Unknown keys are typos more often than not: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workshop(Section):
    title: Annotated[
        str, Field(min_length=1, description="Shown on the hub's login and home pages (required).")
    ]
    languages: list[str] = Field(
        default_factory=list,
        description="JupyterLab languages participants may pick in Settings > Language, "
        'besides English (the default), e.g. ["ja-JP", "ko-KR"]; empty = English only.',
    )

    @field_validator("languages")
    @classmethod
    def _packs_exist(cls, value: list[str]) -> list[str]:
        if problem := unknown_languages(value):
            raise ValueError(problem)
        return list(dict.fromkeys(value))  # each once, in the order written


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
# Settings that were renamed: the message says what replaced them.
REPLACED: dict[tuple[str, ...], str] = {
    ("hub", "port"): 'hub.public_url, e.g. public_url = "http://127.0.0.1:8000" (the port is '
    "part of the address)",
}


class Hub(Section, PublicAddress):
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address participants type: scheme://host[:port], nothing else.",
    )
    listen: str = Field(
        "",
        description="Interface the HTTPS front, its plain-HTTP helper and the lab's DNS "
        "listen on (with TLS on); empty = all interfaces.",
    )
    http_port: int = Field(
        80,
        ge=1,
        le=65535,
        description="Plain-HTTP port once TLS is on: redirects to HTTPS, ACME challenges, "
        "the lab CA's page.",
    )
    user_origins: bool | None = Field(
        None,
        description="Each participant's server on its own host, <user>.<public host> (needs "
        "a wildcard DNS record); on by default with TLS.",
    )
    spawner: Literal["auto", "local", "docker"] = Field(
        "auto",
        description="Where participants' servers run: auto (docker when an engine answers), "
        "local or docker.",
    )
    local_mode_as_root: bool = Field(
        False,
        description='Let spawner = "local" run as root on a network address: every '
        "participant's code then runs as root on this server (demos, tests; never a real "
        "week).",
    )
    roster: Path = Field(
        Path("roster.example.csv"),
        description="Roster CSV (username,team,role), relative to this file; `icslab up "
        "--roster` overrides it.",
    )
    default_url: str = Field(
        "/lab",
        description="Page a participant lands on after logging in (a path, e.g. /lab), "
        "unless material.landing names a notebook.",
    )

    @field_validator("default_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', e.g. '/lab'")
        return value

    @field_validator("public_url")
    @classmethod
    def _site_address(cls, value: str) -> str:
        """scheme://host[:port], nothing else: the lab owns the whole site."""
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as error:
            raise ValueError(f"not a URL ({error})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must look like https://lab.example.org (or http://127.0.0.1:8000)")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("must be only scheme://host[:port], with no path: the lab is the site")
        return site_address(parts.scheme, parts.hostname, port)

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        if value:
            ipaddress.ip_address(value)  # ValueError names the problem
        return value

    @property
    def host_is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.public_host)
            return True
        except ValueError:
            return False

    @property
    def host_is_loopback(self) -> bool:
        if self.public_host == "localhost":
            return True
        return self.host_is_ip and ipaddress.ip_address(self.public_host).is_loopback


def site_address(scheme: str, host: str, port: int | None = None) -> str:
    """`scheme://host[:port]`, the one spelling of a lab's address (IPv6 in brackets)."""
    host = host.lower()
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port else "")


def origin(scheme: str, host: str, port: int) -> str:
    """The address a browser shows for host and port: the scheme's own port unsaid."""
    return site_address(scheme, host, None if port == DEFAULT_PORTS[scheme] else port)


class Limits(Section):
    # From bench/memory.py: a whole server peaks at 0.2-0.47 GiB running any module;
    # 1536M leaves room for a second notebook's kernel or a bigger experiment.
    memory: str = Field(
        "1536M",
        description="Memory per participant's server (1536M, 2G...); enforced in docker mode.",
    )
    cpus: float = Field(
        1.0,
        gt=0,
        le=64,
        description="CPUs per participant's server (fractions allowed); enforced in docker mode.",
    )
    spare_kernels: int = Field(
        1,
        ge=0,
        le=4,
        description="Kernels each server starts ahead (0 to 4), so that opening a notebook "
        "does not wait for one; 0 turns this off.",
    )
    disk: str = Field(
        "5G",
        description="Disk per participant (docker mode): their work folder plus their "
        "container's own files.",
    )
    disk_check_seconds: int = Field(
        60,
        ge=5,
        le=3600,
        description="How often the hub measures each server's disk use, in seconds (5 to 3600).",
    )

    @field_validator("memory", "disk")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not MEMORY.match(value):
            raise ValueError("must be a size such as 512M or 2G (suffix K, M, G or T)")
        return value


class Culler(Section):
    idle_timeout_minutes: int = Field(
        60,
        ge=0,
        description="Stop a participant's server after this many idle minutes (0 turns the "
        "culler off).",
    )
    warn_minutes: int = Field(
        5,
        ge=1,
        description="Warn a participant in their JupyterLab this many minutes before the culler "
        "stops their idle server (less than idle_timeout_minutes).",
    )


class Room(Section):
    stuck_attempts: int = Field(
        3,
        ge=1,
        le=50,
        description="The room view lists a participant as needing help after this many wrong "
        "answers in a row to one exercise.",
    )
    quiet_minutes: int = Field(
        20,
        ge=1,
        le=600,
        description="... or after this many minutes without a self-check while their server runs.",
    )


class Accounts(Section):
    max_failed_logins: int = Field(
        5,
        ge=1,
        le=100,
        description="Wrong passwords in a row, from one computer, before the account is "
        "locked against it (against everyone after twice as many from several).",
    )
    lockout_seconds: int = Field(
        300, ge=1, le=86400, description="How long a locked account stays locked, in seconds."
    )
    min_password_length: int = Field(
        8, ge=6, le=128, description="Minimum length of a password a participant chooses."
    )
    max_failed_logins_per_address: int = Field(
        10,
        ge=1,
        le=1000,
        description="Wrong passwords one computer may type (for any accounts) per "
        "address_window_seconds before it is refused unchecked: one laptop cannot lock the "
        "room.",
    )
    address_window_seconds: int = Field(
        300,
        ge=1,
        le=86400,
        description="The window, in seconds, that max_failed_logins_per_address counts in.",
    )


class Data(Section):
    datasets: Path = Field(
        Path("../datasets/build"),
        description="Read-only datasets folder handed to participants as ICSLAB_DATA, "
        "relative to this file.",
    )


class Docker(Section):
    image: str = Field(
        "icslab-participant:latest",
        min_length=1,
        description="Participant image, built offline by `make images` (never pulled from a "
        "registry).",
    )
    prefix: str = Field(
        "icslab",
        pattern=r"^[a-z][a-z0-9-]{0,20}$",
        description="Prefix of every container, volume and network the lab creates "
        "(lowercase, digits, -).",
    )
    egress: bool = Field(
        False, description="Whether participants' containers may reach networks outside the lab."
    )
    pids_limit: int = Field(
        512, ge=64, le=65536, description="Most processes a participant's container may run."
    )


class Cluster(Section):
    mode: Literal["single", "swarm"] = Field(
        "single",
        description="single: participants' containers on this server (docker mode); swarm: "
        "on the nodes of the Docker Swarm `icslab cluster init` made.",
    )


WORKSHOP_NAME = r"[a-z0-9][a-z0-9_-]{0,63}"
WorkshopName = Annotated[str, Field(pattern=f"^{WORKSHOP_NAME}$")]


class Material(Section):
    publish: list[WorkshopName] = Field(
        default_factory=list,
        description="Workshops (folders of workshops/) `icslab up` publishes before the hub "
        "starts, as `icslab publish NAME` does; it says what it published.",
    )
    pull_on_start: list[WorkshopName] = Field(
        default_factory=list,
        description="Published workshops (`icslab publish NAME`) every participant's server "
        "pulls when it starts, as if they had clicked its link; their own edits are kept.",
    )
    landing: str = Field(
        "",
        pattern=rf"^({WORKSHOP_NAME}(/[A-Za-z0-9_.-]+)*)?$",
        description="Where participants land after logging in: a workshop of pull_on_start "
        "(its manifest's first notebook) or WORKSHOP/NOTEBOOK.ipynb; empty: hub.default_url.",
    )

    @field_validator("landing")
    @classmethod
    def _inside_the_workshop(cls, value: str) -> str:
        if {".", ".."} & set(value.split("/")):
            raise ValueError("a path inside the workshop, e.g. 'ics-week/05-network.ipynb'")
        return value


class Tls(Section):
    mode: Literal["acme", "files", "lab-ca", "off"] = Field(
        "off",
        description="Where the HTTPS certificate comes from: acme (Let's Encrypt or a site's "
        "ACME CA), files (from the site's IT), lab-ca (the lab's own CA: rooms without "
        "internet) or off (only while public_url is a loopback address).",
    )
    acme_email: str = Field("", description="acme: contact address the CA sends expiry notices to.")
    acme_directory: str = Field(
        LETS_ENCRYPT, description="acme: the CA's directory URL (Let's Encrypt by default)."
    )
    acme_ca_root: Path | None = Field(
        None,
        description="acme: PEM root certificate of a site's own ACME CA, relative to this file.",
    )
    cert_file: Path | None = Field(
        None,
        description="files: certificate chain (PEM), relative to this file; it must cover "
        "the public host and *.public host (participants' hosts).",
    )
    key_file: Path | None = Field(
        None, description="files: the certificate's private key (PEM), relative to this file."
    )
    ip_addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = Field(
        default_factory=list,
        description="lab-ca: addresses the certificate also covers, for participants who "
        "type an address.",
    )

    @field_validator("acme_directory")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be the CA's https:// directory URL")
        return value


class Dns(Section):
    serve: bool = Field(
        False,
        description="For a room with no name server the lab controls: answer the public host "
        "and every name under it (participants' hosts) with `address`, and refuse everything "
        "else.",
    )
    address: ipaddress.IPv4Address | None = Field(
        None,
        description="This server's address on the room's network, which the lab's names "
        "resolve to; required when serve = true.",
    )
    port: int = Field(
        53, ge=1, le=65535, description="Port the lab's DNS listens on (53 for a room)."
    )


class LabSettings(Section):
    workshop: Workshop
    hub: Hub = Hub()
    limits: Limits = Limits()
    culler: Culler = Culler()
    room: Room = Room()
    accounts: Accounts = Accounts()
    data: Data = Data()
    docker: Docker = Docker()
    cluster: Cluster = Cluster()
    material: Material = Material()
    tls: Tls = Tls()
    dns: Dns = Dns()

    @property
    def tls_on(self) -> bool:
        return self.tls.mode != "off"

    @property
    def user_origins(self) -> bool:
        """Per-user hosts: on by default whenever TLS is."""
        return self.tls_on if self.hub.user_origins is None else self.hub.user_origins


def _combination_problems(settings: LabSettings) -> list[tuple[tuple[str, str], str]]:
    """Settings that are each valid but do not go together: (where, what to fix)."""
    hub, tls = settings.hub, settings.tls
    https = hub.public_url.startswith("https://")
    found = []
    if tls.mode == "off" and not hub.host_is_loopback:
        found.append(
            (
                ("tls", "mode"),
                f"tls.mode = 'off' would send passwords in clear text to {hub.public_url}: "
                "choose acme, files or lab-ca (with an https:// hub.public_url), or keep "
                "public_url on a loopback address for a trial on this machine",
            )
        )
    elif tls.mode == "off" and https:
        found.append((("hub", "public_url"), "is https:// but tls.mode is 'off': choose a mode"))
    if tls.mode != "off" and not https:
        found.append(
            (("hub", "public_url"), f"must start with https:// when tls.mode = {tls.mode!r}")
        )
    if hub.user_origins and tls.mode == "off":
        found.append((("hub", "user_origins"), "needs TLS: set tls.mode, or user_origins = false"))
    if settings.user_origins and hub.host_is_ip and tls.mode != "off":
        found.append(
            (
                ("hub", "user_origins"),
                f"participants' hosts need a name, not the address {hub.public_host}: use a "
                "host name in hub.public_url, or set hub.user_origins = false (see the README)",
            )
        )
    if tls.mode == "acme" and hub.host_is_ip:
        found.append((("tls", "mode"), "acme needs a host name in hub.public_url, not an address"))
    if settings.dns.serve and settings.dns.address is None:
        found.append((("dns", "address"), "dns.address is required when dns.serve = true"))
    if settings.dns.serve and hub.host_is_ip:
        found.append(
            (("dns", "serve"), "the lab can only name itself with a host name in hub.public_url")
        )
    culler = settings.culler
    if culler.idle_timeout_minutes and culler.warn_minutes >= culler.idle_timeout_minutes:
        found.append(
            (
                ("culler", "warn_minutes"),
                f"culler.warn_minutes = {culler.warn_minutes} must be less than "
                f"culler.idle_timeout_minutes ({culler.idle_timeout_minutes}): the warning "
                "comes before the stop",
            )
        )
    landing = settings.material.landing.split("/")[0]
    if landing and landing not in settings.material.pull_on_start:
        found.append(
            (
                ("material", "landing"),
                f"material.landing = {settings.material.landing!r} lands in {landing!r}, "
                "which nothing pulls into participants' folders: add it to "
                "material.pull_on_start",
            )
        )
    if tls.mode == "files":
        found += [
            (("tls", key), f"tls.{key} is required when tls.mode = 'files'")
            for key in ("cert_file", "key_file")
            if getattr(tls, key) is None
        ]
    return found


def load_settings(path: Path) -> LabSettings:
    """Read and validate the lab's settings (`lab.toml`, or the old name beside it: see
    `_renamed`); raise InputError listing every problem."""
    path = _renamed(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        renamed = path.with_name(SETTINGS_NAME)
        if path.name == OLD_SETTINGS_NAME and renamed.is_file():
            raise InputError(
                f"{path}: settings file not found: it is now {renamed}; pass --config "
                f"{renamed} (and run `icslab service install` again if a service names {path})"
            ) from None
        raise InputError(f"{path}: settings file not found (pass --config PATH)") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the settings file: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    try:
        settings = LabSettings.model_validate(raw)
    except ValidationError as error:
        raise InputError(*(_describe(path, text, problem) for problem in error.errors())) from None
    problems = []
    for keys, message in _combination_problems(settings):
        line = _line_of(text, list(keys))
        problems.append(f"{path}:{line}: {message}" if line else f"{path}: {message}")
    if problems:
        raise InputError(*problems)
    return settings


def _renamed(path: Path) -> Path:
    """The file to read for `--config path`: itself, unless it is a `lab.toml` that is
    not there and a `workshop.toml` (its name before) is. For one release that one is
    read instead, with a note; a `workshop.toml` beside a `lab.toml` is ignored, and the
    note says so. The note is a warning logged by this module: `icslab` configures no
    logging, so Python prints it as one bare line on stderr."""
    old = path.with_name(OLD_SETTINGS_NAME)
    if path.name != SETTINGS_NAME or not old.is_file():
        return path
    if path.exists():
        log.warning(
            "Deprecated: %s is ignored: the lab's settings file is now %s, which is read. "
            "Carry over any edits still only in %s, then delete it.",
            old,
            path,
            old.name,
        )
        return path
    log.warning(
        "Deprecated: the lab's settings file %s is now %s. Read under its old name for now, "
        "which stops working in the next release: rename it (%s, or git mv if git tracks it).",
        old,
        path,
        shlex.join(["mv", str(old), str(path)]),
    )
    return old


def _describe(path: Path, text: str, problem: Mapping[str, Any]) -> str:
    keys = [str(part) for part in problem["loc"]]
    dotted = ".".join(keys)
    line = _line_of(text, keys)
    where = f"{path}:{line}" if line else str(path)
    kind = problem["type"]
    if kind == "missing":
        return f"{where}: {dotted} is required but missing"
    if kind == "extra_forbidden" and tuple(keys) in REPLACED:
        return f"{where}: {dotted} is gone: use {REPLACED[tuple(keys)]}"
    if kind == "extra_forbidden":
        return f"{where}: unknown setting {dotted} (check its spelling against the comments)"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {dotted} = {problem.get('input')!r}: {message}"


def _line_of(text: str, keys: list[str]) -> int | None:
    """Line number of a dotted key in a TOML text ([table] then key = ...), if written there."""
    table, key = keys[:-1], keys[-1]
    current: list[str] = []
    table_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[([^\[\]]+)\]", stripped)
        if header:
            current = [part.strip() for part in header.group(1).split(".")]
            if current == keys:
                return number
            if current == table:
                table_line = number
            continue
        if current == table and re.match(rf"^\"?{re.escape(key)}\"?\s*=", stripped):
            return number
    return table_line
