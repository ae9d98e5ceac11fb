"""A room served over HTTPS in docker mode, and what can reach what.

Participants' containers reach exactly the lab's own ports on the gateway (hub
API, git, live) and no other port of the host; a machine on the room's network
(a network namespace standing in for a laptop on the LAN) reaches the HTTPS
front and none of those gateway ports.
"""

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from icslab import testing
from icslab.hub.docker_env import engine_answers
from icslab.hub.launch import free_port
from icslab.testing import TEST_HOST, docker_lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]

# Tries TCP connections to (host, port) pairs; prints {"host:port": "open" | why not}.
PROBE = """
import json, socket, sys
result = {}
for host, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((host, port), timeout=1.5).close()
        result[f"{host}:{port}"] = "open"
    except OSError as error:
        result[f"{host}:{port}"] = type(error).__name__
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prefix):
    folder = tmp_path_factory.mktemp("docker-tls-lab")
    with docker_lab(folder, prefix, tls={"mode": "lab-ca"}) as running:
        yield running


@pytest.fixture(scope="module")
def host_only_server():
    """Something else on the host, bound to every interface (an sshd, a database)."""
    server = socket.create_server(("0.0.0.0", free_port()))
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def lan_host(lab):
    """A laptop on the LAN; it sends the lab network's gateway address to this host."""
    with testing.lan_host(routes=(f"{lab.resolved().docker_gateway}/32",)) as found:
        yield found


def lab_ports(lab) -> dict[str, int]:
    resolved = lab.resolved()
    return {
        "hub API": resolved.hub_api_port,
        "git": resolved.git_port,
        "live": resolved.live_port,
        "hand-in": resolved.submit_port,
        "room": resolved.room_port,
    }


def test_a_container_reaches_the_labs_services_and_no_other_port_of_the_host(lab, host_only_server):
    gateway = lab.resolved().docker_gateway
    p01 = lab.login("p01")
    p01.start_server()
    targets = [[gateway, port] for port in lab_ports(lab).values()] + [[gateway, host_only_server]]
    code = f"import sys; sys.argv = ['', {json.dumps(json.dumps(targets))}]\n{PROBE}"
    reached = json.loads(p01.run_code(code).splitlines()[-1])
    for port in lab_ports(lab).values():
        assert reached[f"{gateway}:{port}"] == "open", reached
    assert reached[f"{gateway}:{host_only_server}"] != "open", reached
    # ... and the lab still works through those ports: the hub API answers the server.
    assert p01.run_code("6*7") == "42"


def test_a_lan_host_reaches_https_and_none_of_the_gateway_ports(lab, lan_host):
    namespace, host_address = lan_host
    gateway = lab.resolved().docker_gateway
    targets = [[gateway, port] for port in lab_ports(lab).values()]
    targets += [[host_address, lab.port], [host_address, lab.resolved().proxy_port]]
    probe = ["ip", "netns", "exec", namespace, sys.executable, "-c", PROBE, json.dumps(targets)]
    reached = json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
    for port in lab_ports(lab).values():
        assert reached[f"{gateway}:{port}"] != "open", reached
    assert reached[f"{host_address}:{lab.resolved().proxy_port}"] != "open", reached
    assert reached[f"{host_address}:{lab.port}"] == "open", reached
    # The HTTPS front answers that laptop with the lab's certificate.
    handshake = (
        "import socket, ssl, sys\n"
        "context = ssl.create_default_context(cafile=sys.argv[1])\n"
        "raw = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)\n"
        "tls = context.wrap_socket(raw, server_hostname=sys.argv[4])\n"
        "tls.sendall(b'GET /hub/health HTTP/1.1\\r\\nHost: ' + sys.argv[4].encode() + b'\\r\\n"
        "Connection: close\\r\\n\\r\\n')\n"
        "print(tls.recv(64).decode().split()[1])\n"
    )
    answer = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", handshake,
         str(lab.trusted_ca()), host_address, str(lab.port), TEST_HOST],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert answer.stdout.strip() == "200"


def test_the_firewall_is_a_table_of_the_labs_own(lab, prefix):
    """Beside Docker's tables, never in them (conftest's `prefix` checks that cleaning up
    removes it)."""
    table = ["nft", "list", "table", "inet", f"{prefix}-lab"]
    assert subprocess.run(table, capture_output=True).returncode == 0
    assert "ip filter" not in subprocess.run(table, capture_output=True, text=True).stdout
