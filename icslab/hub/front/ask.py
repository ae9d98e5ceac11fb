"""Caddy's question before it requests a certificate on demand (acme mode): is
this host one of the lab's? Only the public host, roster users' hosts and the
lab's services' hosts are: any other name gets 403, so no certificate is
requested and nobody can spend the lab's rate limit at its CA.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from icslab.lab import Lab

log = logging.getLogger("icslab.front.ask")


def lab_hosts(lab: Lab, services: list[str]) -> frozenset[str]:
    """Every host name the lab serves: itself, each roster user's, each service's."""
    return frozenset(
        {
            lab.public_host,
            *(lab.user_host(name) for name in lab.usernames()),
            *(lab.service_host(name) for name in services),
        }
    )


def serve(hosts: frozenset[str], port: int) -> ThreadingHTTPServer:
    """Answer `GET /ask?domain=HOST` on 127.0.0.1:port in a background thread."""

    class Ask(BaseHTTPRequestHandler):
        def do_GET(self):
            query = urlsplit(self.path)
            domain = parse_qs(query.query).get("domain", [""])[0].lower()
            allowed = query.path == "/ask" and domain in hosts
            if not allowed:
                log.warning("refused a certificate for %r: not a host of this lab", domain)
            self.send_response(200 if allowed else 403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # one line per refusal above is enough
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Ask)
    threading.Thread(target=server.serve_forever, daemon=True, name="ask").start()
    return server
