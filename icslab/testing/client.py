"""A lab user's browser, scripted: log in through the hub's form, start a server,
open it (OAuth consent included) and run code in a kernel over the Jupyter
websocket protocol. Used by the integration tests and the spawn benchmark.
"""

from __future__ import annotations

import http.cookiejar
import json
import socket
import ssl
import time
import urllib.request
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlparse

import httpcore
import httpx
import websocket
from jupyterhub.utils import subdomain_hook_idna

from icslab.waiting import wait_for


class LabError(Exception):
    """The lab refused or failed what a user asked for."""


class LoginFailed(LabError):
    pass


class AccessDenied(LabError):
    pass


class KernelDied(LabError):
    """The kernel stopped while running code (killed at its memory limit, say)."""


class _Forms(HTMLParser):
    """Collects each form's action and inputs, and the login form's error text."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.alerts: list[str] = []
        self._in_alert = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": []})
        elif tag == "input" and self.forms and attributes.get("name"):
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.forms[-1]["fields"].append((attributes["name"], attributes.get("value") or ""))
        elif "login_error" in (attributes.get("class") or ""):
            self._in_alert = True

    def handle_endtag(self, tag):
        if tag in ("div", "p"):
            self._in_alert = False

    def handle_data(self, data):
        if self._in_alert and data.strip():
            self.alerts.append(data.strip())


def _parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class Resolver:
    """Test host names (`lab.test`, `p01.lab.test`) -> a loopback address, for this
    client only: the machine's resolver and every other program are left alone."""

    def __init__(self, names: dict[str, str]):
        self.names = {name.lower(): address for name, address in names.items()}

    def address(self, host: str) -> str:
        host = host.lower()
        for name, address in self.names.items():
            if host == name or host.endswith(f".{name}"):
                return address
        return host

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self.address(host), port), timeout=timeout)


class _ResolvingBackend(httpcore.SyncBackend):
    def __init__(self, resolver: Resolver):
        self.resolver = resolver

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        # TLS still checks the certificate against the name asked for (SNI), not the address.
        return super().connect_tcp(
            self.resolver.address(host), port, timeout, local_address, socket_options
        )


class LabClient:
    """A user's browser. `ca`: trust only this CA (a lab-ca lab); `resolve`: names to
    loopback addresses; `user_domain`: servers live on `<user>.<user_domain>`."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 60,
        *,
        ca: Path | None = None,
        resolve: dict[str, str] | None = None,
        user_domain: str | None = None,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.resolver = Resolver(resolve or {})
        self.tls = ssl.create_default_context(cafile=str(ca)) if ca else None
        transport = httpx.HTTPTransport(verify=self.tls or True)
        transport._pool._network_backend = _ResolvingBackend(self.resolver)
        # As browsers do, a cookie set without a Domain goes back to its own host only
        # (Python's default would also send the hub's cookies to participants' hosts).
        policy = http.cookiejar.DefaultCookiePolicy(
            strict_ns_domain=http.cookiejar.DefaultCookiePolicy.DomainStrictNonDomain
        )
        self.http = httpx.Client(
            base_url=self.base_url,
            follow_redirects=True,
            timeout=timeout,
            transport=transport,
            cookies=http.cookiejar.CookieJar(policy),
            event_hooks={"request": [self._browser_cookies]},
        )
        self.user_domain = user_domain
        self.username: str | None = None

    def _browser_cookies(self, request: httpx.Request) -> None:
        """The cookies a browser would send to this URL: httpx carries the first
        request's Cookie header over redirects, even to another host."""
        request.headers.pop("cookie", None)
        self.http.cookies.set_cookie_header(request)

    def server_url(self, owner: str) -> str:
        """Where a user's server is: on their own host, or under the hub's."""
        if not self.user_domain:
            return f"{self.base_url}user/{owner}/"
        hub = urlparse(self.base_url)
        port = f":{hub.port}" if hub.port else ""
        host = subdomain_hook_idna(owner, self.user_domain, "user")
        return f"{hub.scheme}://{host}{port}/user/{owner}/"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cookie(self, name: str, path: str) -> str | None:
        for cookie in self.http.cookies.jar:
            if cookie.name == name and cookie.path.rstrip("/") == path.rstrip("/"):
                return cookie.value
        return None

    def _hub_headers(self) -> dict[str, str]:
        return {"X-XSRFToken": self.cookie("_xsrf", "/hub/") or ""}

    # -- hub ----------------------------------------------------------------

    def login(self, username: str, password: str) -> None:
        page = self.http.get("hub/login")
        page.raise_for_status()
        xsrf = dict(_parse(page.text).forms[0]["fields"]).get("_xsrf", "")
        response = self.http.post(
            "hub/login",
            data={"username": username, "password": password, "_xsrf": xsrf},
            follow_redirects=False,
        )
        if response.status_code not in (302, 303):
            alerts = _parse(response.text).alerts
            raise LoginFailed(" ".join(alerts) or f"login answered HTTP {response.status_code}")
        self.username = username

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Call the hub REST API with this user's login cookie."""
        return self.http.request(method, f"hub/api/{path}", headers=self._hub_headers(), **kwargs)

    def server_status(self, owner: str | None = None) -> dict:
        response = self.api("GET", f"users/{owner or self.username}")
        if response.status_code in (403, 404):
            raise AccessDenied(f"cannot see {owner}'s server (HTTP {response.status_code})")
        response.raise_for_status()
        return response.json().get("servers", {}).get("", {})

    def _owner(self, owner: str | None) -> str:
        """Whose server a call acts on: `owner`, else the user logged in."""
        owner = owner or self.username
        if owner is None:
            raise RuntimeError("log in first, or name the server's owner")
        return owner

    def start_server(self, owner: str | None = None, timeout: float = 120) -> None:
        """Ask the hub to start a server and wait until it is ready."""
        owner = self._owner(owner)
        response = self.api("POST", f"users/{owner}/server")
        if response.status_code in (403, 404):
            raise AccessDenied(f"{self.username} may not start {owner}'s server")
        if response.status_code not in (201, 202, 400):  # 400: already running
            response.raise_for_status()
        self._follow_progress(owner, timeout)

    def _follow_progress(self, owner: str, timeout: float) -> None:
        """Wait on the hub's progress events, as its spawn page in a browser does:
        one open request per participant instead of a poll every second, which
        at 9:00 would keep the hub busy answering polls."""
        deadline = time.monotonic() + timeout
        path = f"hub/api/users/{owner}/server/progress"
        with self.http.stream("GET", path, headers=self._hub_headers(), timeout=timeout) as stream:
            if stream.status_code == 400:  # neither starting nor running
                raise LabError(f"{owner}'s server is not starting: {stream.read().decode()}")
            stream.raise_for_status()
            for line in stream.iter_lines():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"timed out after {timeout:.0f}s: {owner}'s server")
                if not line.startswith("data:"):
                    continue  # keepalive comments
                event = json.loads(line.removeprefix("data:"))
                if event.get("ready"):
                    return
                if event.get("failed"):
                    raise LabError(f"{owner}'s server did not start: {event.get('message')}")
        raise LabError(f"the hub stopped reporting {owner}'s start before it was ready")

    def stop_server(self, owner: str | None = None, timeout: float = 60) -> None:
        owner = self._owner(owner)
        response = self.api("DELETE", f"users/{owner}/server")
        if response.status_code in (403, 404):
            raise AccessDenied(f"{self.username} may not stop {owner}'s server")
        wait_for(lambda: not self.server_status(owner), timeout=timeout, what=f"{owner} to stop")

    # -- a user's server -----------------------------------------------------

    def open_server(self, owner: str | None = None, page: str = "lab") -> httpx.Response:
        """Open a server's page as a browser would, accepting the OAuth consent page."""
        owner = self._owner(owner)
        response = self.http.get(f"{self.server_url(owner)}{page}")
        if urlparse(str(response.url)).path.endswith("/oauth2/authorize") and response.is_success:
            form = _parse(response.text).forms[0]
            fields: dict[str, list[str]] = {}
            for name, value in form["fields"]:
                fields.setdefault(name, []).append(value)
            response = self.http.post(urljoin(str(response.url), form["action"]), data=fields)
        if response.status_code in (403, 404) or not str(response.url).startswith(
            self.server_url(owner)
        ):
            raise AccessDenied(
                f"{self.username} cannot open {owner}'s server (HTTP {response.status_code})"
            )
        response.raise_for_status()
        return response

    def follow_pull_link(self, link: str, timeout: float = 120) -> list[dict]:
        """Click an nbgitpuller link as a browser does: the hub sends us to our server's
        git-pull page, whose script runs the pull; returns the pull's progress events."""
        if self.cookie("_xsrf", f"/user/{self.username}/") is None:
            self.open_server()
        page = self.http.get(link)
        page.raise_for_status()
        landed = urlparse(str(page.url))
        if not landed.path.endswith("/git-pull"):
            raise LabError(f"the link led to {landed.path}, not a git-pull page")
        query = dict(parse_qsl(landed.query))
        query.setdefault("targetpath", query["repo"].rstrip("/").split("/")[-1])
        events = []
        api = str(page.url.copy_with(query=None)) + "/api"
        with self.http.stream("GET", api, params=query, timeout=timeout) as stream:
            if stream.status_code != 200:
                raise AccessDenied(f"git-pull answered HTTP {stream.status_code}")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
        if not events or events[-1].get("phase") != "finished":
            raise LabError(f"the pull did not finish: {events[-1:] or 'no events'}")
        return events

    def server_api(self, owner: str, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"X-XSRFToken": self.cookie("_xsrf", f"/user/{owner}/") or ""}
        url = f"{self.server_url(owner)}api/{path}"
        return self.http.request(method, url, headers=headers, **kwargs)

    def write_register(self, host: str, port: int, address: int, value: int) -> int | None:
        """From inside this user's server, a Modbus write to unit 1 (a red team's): None
        if the PLC took it, else the exception code it answered."""
        answer = self.run_code(
            "from pymodbus.client import ModbusTcpClient\n"
            f"c = ModbusTcpClient({host!r}, port={port})\n"
            f"c.connect(); r = c.write_register({address}, {value}, device_id=1); c.close()\n"
            "print(getattr(r, 'exception_code', None) if r.isError() else None)\n"
        )
        return None if answer.strip() == "None" else int(answer)

    def reach(self, targets: list[tuple[str, int]], timeout: float = 120) -> list[str]:
        """From inside this user's server: 'open' or 'closed' for each (host, port)."""
        probe = (
            "import socket\n"
            "def reach(host, port):\n"
            "    try:\n"
            "        socket.create_connection((host, port), timeout=3).close()\n"
            "        return 'open'\n"
            "    except OSError:\n"
            "        return 'closed'\n"
            f"print(*[reach(h, p) for h, p in {targets!r}])"
        )
        return self.run_code(probe, timeout=timeout).split()

    def run_code(self, code: str, owner: str | None = None, timeout: float = 60) -> str:
        """Start a kernel on a server, run `code`, return its result (or output) as text."""
        owner = self._owner(owner)
        kernel_id = self.start_kernel(owner)
        try:
            return self.execute(kernel_id, code, owner, timeout)
        finally:
            self.shutdown_kernel(kernel_id, owner)

    def self_checks(self, *answers: str, owner: str | None = None) -> str:
        """Run `icslab.check("welcome.sensor_count", answer)` in a kernel for each answer
        (Python source; a stand-in plant with two sensors, so "2" is right), as a
        participant's notebook does, then wait until the kernel has sent the verdicts to
        the room; what the checks printed, and "sent True" once all were sent."""
        code = (
            "import types, pandas as pd, icslab\n"
            "from icslab.checks import recording\n"
            "kinds = pd.DataFrame({'kind': ['sensor', 'sensor', 'pump']})\n"
            "plant = types.SimpleNamespace(tags=kinds)\n"
            + "".join(
                f"icslab.check('welcome.sensor_count', {answer}, plant=plant)\n"
                for answer in answers
            )
            + "print('sent', recording.wait_sent(10))"
        )
        return self.run_code(code, owner)

    def memory_shown(self, holding_mib: int, owner: str | None = None) -> dict:
        """What JupyterLab's status bar reads of a server's memory (jupyter-resource-usage,
        /api/metrics/v1) while one of its kernels holds `holding_mib` MiB, as a
        participant's big DataFrame would."""
        owner = self._owner(owner)
        kernel_id = self.start_kernel(owner)
        try:
            pages = holding_mib * 256  # of 4 KiB, each touched so that it is really held
            hold = f"held = bytearray({holding_mib} * 2**20); held[::4096] = b'x' * {pages}"
            self.execute(kernel_id, hold, owner)
            return self.server_api(owner, "GET", "metrics/v1").json()
        finally:
            self.shutdown_kernel(kernel_id, owner)

    def languages(self, owner: str | None = None) -> tuple[list[str], str, dict]:
        """What JupyterLab's Settings > Language offers on a server (jupyterlab_server's
        translations API: "en" and each installed pack's locale), the language it starts
        in (its setting, "default": the server's own) and that language's strings ({}:
        English, built in)."""
        owner = self._owner(owner)
        lab = f"{self.server_url(owner)}lab/api/"
        offered = self.http.get(f"{lab}translations/")
        setting = self.http.get(f"{lab}settings/@jupyterlab/translation-extension:plugin")
        locale = setting.raise_for_status().json()["settings"].get("locale", "default")
        strings = self.http.get(f"{lab}translations/{locale}").raise_for_status().json()["data"]
        return sorted(offered.raise_for_status().json()["data"]), locale, strings

    def start_kernel(self, owner: str | None = None) -> str:
        """Start a python3 kernel on a server, as opening a notebook does; its id."""
        owner = self._owner(owner)
        if self.cookie("_xsrf", f"/user/{owner}/") is None:
            self.open_server(owner)  # a browser would have opened the page first
        created = self.server_api(owner, "POST", "kernels", json={"name": "python3"})
        if created.status_code in (401, 403):
            # A restarted server no longer knows our old session: log in to it again.
            self.open_server(owner)
            created = self.server_api(owner, "POST", "kernels", json={"name": "python3"})
        if created.status_code in (401, 403):
            raise AccessDenied(f"{self.username} may not start kernels on {owner}'s server")
        created.raise_for_status()
        return created.json()["id"]

    def shutdown_kernel(self, kernel_id: str, owner: str | None = None) -> None:
        self.server_api(self._owner(owner), "DELETE", f"kernels/{kernel_id}")

    def run_command(
        self, argv: list[str], owner: str | None = None, timeout: float = 120
    ) -> tuple[int, str]:
        """Run a command of the server's own environment (`icslab`, `jupyter`...) as a
        participant would in their terminal; returns its exit code and stdout + stderr."""
        code = (
            "import json, os, subprocess, sys\n"
            f"argv = {list(argv)!r}\n"
            "argv[0] = os.path.join(sys.prefix, 'bin', argv[0])\n"
            "done = subprocess.run(argv, capture_output=True, text=True)\n"
            "print(json.dumps([done.returncode, done.stdout + done.stderr]))"
        )
        # The last line: anything the kernel itself wrote to stderr comes before it.
        returncode, output = json.loads(self.run_code(code, owner, timeout).splitlines()[-1])
        return returncode, output

    def execute(
        self, kernel_id: str, code: str, owner: str | None = None, timeout: float = 60
    ) -> str:
        """Run `code` in a running kernel; its result (or output) as text."""
        owner = self._owner(owner)
        channels = f"{self.server_url(owner)}api/kernels/{kernel_id}/channels"
        connection = self._websocket(channels, timeout)
        try:
            msg_id = uuid.uuid4().hex
            connection.send(json.dumps(_execute_request(msg_id, code)))
            return _collect_result(connection, msg_id, timeout)
        finally:
            connection.close()

    def _websocket(self, url: str, timeout: float) -> websocket.WebSocket:
        """A websocket to an http(s) URL, with the cookies a browser would send there,
        over the same name resolution and trust as every other request."""
        with_cookies = urllib.request.Request(url)
        self.http.cookies.jar.add_cookie_header(with_cookies)
        parts = urlparse(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        raw = self.resolver.connect(parts.hostname or "", port, timeout)
        if parts.scheme == "https":
            context = self.tls or ssl.create_default_context()
            raw = context.wrap_socket(raw, server_hostname=parts.hostname)
        return websocket.create_connection(
            url.replace("http", "ws", 1),
            header=[f"Cookie: {with_cookies.get_header('Cookie', '')}"],
            timeout=timeout,
            socket=raw,
        )


def _execute_request(msg_id: str, code: str) -> dict:
    header = {
        "msg_id": msg_id,
        "username": "icslab",
        "session": uuid.uuid4().hex,
        "msg_type": "execute_request",
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
    }


def _collect_result(socket, msg_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    output: list[str] = []
    while time.monotonic() < deadline:
        try:
            message = json.loads(socket.recv())
        except websocket.WebSocketConnectionClosedException:
            raise KernelDied("the kernel's connection closed while it ran the code") from None
        kind, content = message["msg_type"], message["content"]
        if kind == "status" and content["execution_state"] in ("restarting", "dead"):
            raise KernelDied(f"the kernel is {content['execution_state']} (out of memory?)")
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if kind == "execute_result":
            output.append(content["data"].get("text/plain", ""))
        elif kind == "stream":
            output.append(content["text"])
        elif kind == "error":
            raise LabError(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(output)
    raise TimeoutError(f"no result within {timeout:.0f}s")
