"""The typed schema of `workshop.toml`, the one file an instructor edits.

Every setting is validated here and nowhere else. Errors name the file, the
line, the key and what is allowed, and all problems are reported at once.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from icslab.errors import InputError

MEMORY = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?[KMGT]?$")


def size_bytes(size: str) -> int:
    """A size such as 512M or 2G in bytes (powers of 1024, as Docker reads them)."""
    power = "KMGT".find(size[-1]) + 1
    return int(float(size[:-1] if power else size) * 1024**power)


class Section(BaseModel):
    # Unknown keys are typos more often than not: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workshop(Section):
    title: Annotated[str, Field(min_length=1, description="shown on the hub's pages")]


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
# Settings that were renamed: the message says what replaced them.
REPLACED = {
    ("hub", "port"): 'hub.public_url, e.g. public_url = "http://127.0.0.1:8000" (the port is '
    "part of the address)",
}


class Hub(Section):
    public_url: str = Field(
        "http://127.0.0.1:8000", description="what participants type: https://name[:port]"
    )
    listen: str = Field("", description="interface for HTTPS and port 80; empty = all")
    http_port: int = Field(80, ge=1, le=65535, description="plain HTTP: redirects, ACME, CA page")
    user_origins: bool | None = Field(
        None, description="each participant's server on <user>.<public host>; default: TLS on"
    )
    spawner: Literal["auto", "local", "docker"] = Field(
        "auto", description="where participants' servers run; auto = docker if an engine answers"
    )
    local_mode_as_root: bool = Field(
        False,
        description="let spawner = 'local' run as root on a network address: every "
        "participant's code runs as root (demos, tests; never a real week)",
    )
    roster: Path = Field(Path("roster.example.csv"), description="CSV relative to this file")
    default_url: str = Field("/lab", description="page a participant lands on")

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
    def public_host(self) -> str:
        return urlsplit(self.public_url).hostname

    @property
    def public_port(self) -> int:
        parts = urlsplit(self.public_url)
        return parts.port or DEFAULT_PORTS[parts.scheme]

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


DEFAULT_PORTS = {"http": 80, "https": 443}


def site_address(scheme: str, host: str, port: int | None = None) -> str:
    """`scheme://host[:port]`, the one spelling of a lab's address (IPv6 in brackets)."""
    host = host.lower()
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port else "")


def origin(scheme: str, host: str, port: int) -> str:
    """The address a browser shows for host and port: the scheme's own port unsaid."""
    return site_address(scheme, host, None if port == DEFAULT_PORTS[scheme] else port)


class Limits(Section):
    memory: str = Field("2G", description="per participant, e.g. 512M, 2G")
    cpus: float = Field(1.0, gt=0, le=64, description="per participant, fractions allowed")
    spare_kernels: int = Field(
        1, ge=0, le=4, description="kernels each server keeps started for the next notebook"
    )
    disk: str = Field(
        "5G", description="per participant: their work folder + their container's own files"
    )
    disk_check_seconds: int = Field(
        60, ge=5, le=3600, description="how often the hub measures each server's disk use"
    )

    @field_validator("memory", "disk")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not MEMORY.match(value):
            raise ValueError("must be a size such as 512M or 2G (suffix K, M, G or T)")
        return value


class Culler(Section):
    idle_timeout_minutes: int = Field(
        60, ge=0, description="stop servers idle this long; 0 turns the culler off"
    )


class Accounts(Section):
    max_failed_logins: int = Field(5, ge=1, le=100, description="wrong passwords before a lock")
    lockout_seconds: int = Field(300, ge=1, le=86400, description="how long a lock lasts")
    min_password_length: int = Field(8, ge=6, le=128, description="for changed passwords")
    max_failed_logins_per_address: int = Field(
        10, ge=1, le=1000, description="wrong passwords one computer may type per window"
    )
    address_window_seconds: int = Field(
        300, ge=1, le=86400, description="the window max_failed_logins_per_address counts"
    )


class Data(Section):
    datasets: Path = Field(
        Path("../datasets/build"), description="read-only datasets folder, relative to this file"
    )


class Docker(Section):
    image: str = Field("icslab-participant:latest", min_length=1, description="participant image")
    prefix: str = Field(
        "icslab", pattern=r"^[a-z][a-z0-9-]{0,20}$", description="names of containers, volumes"
    )
    egress: bool = Field(False, description="may containers reach networks outside the lab?")
    pids_limit: int = Field(512, ge=64, le=65536, description="processes per container")


class Material(Section):
    pull_on_start: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]] = Field(
        default_factory=list,
        description="published workshops each server pulls when it starts, e.g. ['ics-week']",
    )


class Tls(Section):
    mode: Literal["acme", "files", "lab-ca", "off"] = Field(
        "off", description="where the HTTPS certificate comes from; off only on loopback"
    )
    acme_email: str = Field("", description="acme: contact for the CA's expiry notices")
    acme_directory: str = Field(LETS_ENCRYPT, description="acme: the CA's directory URL")
    acme_ca_root: Path | None = Field(
        None, description="acme: PEM root of a site's own ACME CA, relative to this file"
    )
    cert_file: Path | None = Field(None, description="files: certificate chain (PEM)")
    key_file: Path | None = Field(None, description="files: its private key (PEM)")
    ip_addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = Field(
        default_factory=list, description="lab-ca: addresses the certificate also covers"
    )

    @field_validator("acme_directory")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be the CA's https:// directory URL")
        return value


class Dns(Section):
    serve: bool = Field(False, description="answer DNS for the lab's names (rooms without DNS)")
    address: ipaddress.IPv4Address | None = Field(
        None, description="the address the lab's names resolve to: this server on the room"
    )
    port: int = Field(53, ge=1, le=65535, description="DNS port (53 for a room)")


class WorkshopSettings(Section):
    workshop: Workshop
    hub: Hub = Hub()
    limits: Limits = Limits()
    culler: Culler = Culler()
    accounts: Accounts = Accounts()
    data: Data = Data()
    docker: Docker = Docker()
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


def _combination_problems(settings: WorkshopSettings) -> list[tuple[tuple[str, str], str]]:
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
    if tls.mode == "files":
        found += [
            (("tls", key), f"tls.{key} is required when tls.mode = 'files'")
            for key in ("cert_file", "key_file")
            if getattr(tls, key) is None
        ]
    return found


def load_settings(path: Path) -> WorkshopSettings:
    """Read and validate `workshop.toml`; raise InputError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: settings file not found (pass --config PATH)") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the settings file: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    try:
        settings = WorkshopSettings.model_validate(raw)
    except ValidationError as error:
        raise InputError(*(_describe(path, text, problem) for problem in error.errors())) from None
    problems = []
    for keys, message in _combination_problems(settings):
        line = _line_of(text, list(keys))
        problems.append(f"{path}:{line}: {message}" if line else f"{path}: {message}")
    if problems:
        raise InputError(*problems)
    return settings


def _describe(path: Path, text: str, problem: dict) -> str:
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
