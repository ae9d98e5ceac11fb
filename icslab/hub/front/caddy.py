"""The lab's front door: a Caddyfile for Debian's caddy, from the resolved lab.

Caddy terminates TLS (certificates from an ACME CA, from the site's files, or
signed by the lab's own CA), redirects plain HTTP, and hands every request to
configurable-http-proxy on loopback. With per-user origins, participants'
hosts (`p01.<public host>`) are served too: by a wildcard certificate, or in
acme mode by one certificate per host obtained on first visit, after caddy
asks the lab (icslab.hub.front.ask) whether that host is one of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from icslab.hub.front import certs
from icslab.lab import Lab, LabPaths
from icslab.settings import origin

CADDY = "caddy"  # Debian's package: /usr/bin/caddy

# On every response, hub and participants' servers alike. A participant's server
# may send its own headers: these replace them (`defer`), so none can loosen them.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Added beside the upstream's own policy, never instead: browsers enforce both,
    # and jupyter-server's `sandbox` on /files/ pages must survive.
    "+Content-Security-Policy": "frame-ancestors 'self'",
}
HSTS_SECONDS = 365 * 24 * 3600


def environment(paths: LabPaths) -> dict[str, str]:
    """Caddy keeps everything it writes in the lab's tls folder, not in root's home."""
    folder = str(paths.tls)
    return {**os.environ, "HOME": folder, "XDG_DATA_HOME": folder, "XDG_CONFIG_HOME": folder}


def server_cert(lab: Lab) -> tuple[Path, Path] | None:
    """The certificate and key caddy loads from files (lab-ca and files modes)."""
    tls = lab.settings.tls
    if tls.mode == "lab-ca":
        return lab.paths.lab_ca / certs.SERVER_CERT, lab.paths.lab_ca / certs.SERVER_KEY
    if tls.mode == "files":
        # load_settings refuses files mode without both.
        assert tls.cert_file is not None and tls.key_file is not None
        base = lab.config_file.parent
        return (base / tls.cert_file).resolve(), (base / tls.key_file).resolve()
    return None


def render(lab: Lab) -> str:
    """The whole Caddyfile: global options, the lab's HTTPS sites, plain HTTP."""
    return "\n".join([*_global_options(lab), *_https_sites(lab), *_plain_http(lab)]) + "\n"


def _global_options(lab: Lab) -> list[str]:
    tls = lab.settings.tls
    listen = lab.settings.hub.listen
    lines = [
        "{",
        "\tadmin off",  # nothing may reconfigure the front through a local API
        f"\tstorage file_system {{\n\t\troot {lab.paths.caddy_storage}\n\t}}",
        f"\thttp_port {lab.http_port}",
        f"\thttps_port {lab.public_port}",
        # Redirects are written below: caddy's own drop a non-default HTTPS port.
        "\tauto_https disable_redirects",
        *([f"\tdefault_bind {listen}"] if listen else []),
    ]
    if tls.mode == "acme":
        lines += [f"\tacme_ca {tls.acme_directory}"]
        if tls.acme_email:
            lines += [f"\temail {tls.acme_email}"]
        if tls.acme_ca_root:
            lines += [f"\tacme_ca_root {(lab.config_file.parent / tls.acme_ca_root).resolve()}"]
        if lab.user_origins:
            lines += [f"\ton_demand_tls {{\n\t\task http://127.0.0.1:{lab.ask_port}/ask\n\t}}"]
    return [*lines, "}", ""]


def _https_sites(lab: Lab) -> list[str]:
    port, host = lab.public_port, lab.public_host
    cert = server_cert(lab)
    tls_line = [f"\ttls {cert[0]} {cert[1]}"] if cert else []
    sites = [
        (f"https://{_address(host)}:{port}", tls_line, _to_proxy(lab)),
    ]
    if lab.user_origins and cert:
        sites.append((f"https://*.{host}:{port}", tls_line, _to_proxy(lab)))
    elif lab.user_origins:
        # Any other host on this port: a certificate on first visit, if the lab says so.
        sites.append((f"https://:{port}", ["\ttls {\n\t\ton_demand\n\t}"], _to_proxy(lab)))
    for ip in lab.settings.tls.ip_addresses if lab.settings.tls.mode == "lab-ca" else ():
        if str(ip) == host:
            continue
        # Per-user origins need the name: by address, send people to it.
        body = [f"\tredir {lab.public_url}{{uri}} 308"] if lab.user_origins else _to_proxy(lab)
        sites.append((f"https://{_address(str(ip))}:{port}", tls_line, body))
    lines = []
    for address, tls, body in sites:
        lines += [f"{address} {{", *tls, *_headers(lab), *body, "}", ""]
    return lines


def _headers(lab: Lab) -> list[str]:
    hsts = f"max-age={HSTS_SECONDS}" + ("; includeSubDomains" if lab.user_origins else "")
    values = {"Strict-Transport-Security": hsts, **SECURITY_HEADERS}
    return ["\theader {", "\t\tdefer", *(f'\t\t{k} "{v}"' for k, v in values.items()), "\t}"]


def _to_proxy(lab: Lab) -> list[str]:
    # Caddy sets X-Forwarded-Proto https and keeps the Host, which the proxy routes on.
    return [f"\treverse_proxy 127.0.0.1:{lab.proxy_port}"]


def _plain_http(lab: Lab) -> list[str]:
    """Port 80: the lab CA's page in lab-ca mode, ACME's challenges (caddy answers
    them itself), and a redirect to HTTPS that keeps a non-default port."""
    lines = [f"http://:{lab.http_port} {{"]
    if lab.settings.tls.mode == "lab-ca":
        lines += [
            "\thandle /ca/* {",
            f"\t\troot * {lab.paths.ca_site}",
            "\t\tfile_server",
            "\t}",
            "\tredir /ca /ca/ 308",
        ]
    https = origin("https", "{host}", lab.public_port)  # {host}: the host asked for
    lines += ["\thandle {", f"\t\tredir {https}{{uri}} 308", "\t}", "}"]
    return lines


def _address(host: str) -> str:
    return f"[{host}]" if ":" in host else host
