"""The downloader fills a cache with verified files only, from a folder or a URL."""

import hashlib
import os
import re
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from icslab.data import BATADAL_SHA256, fetch_batadal, fetch_files, verify_file
from icslab.errors import InputError

BATADAL_DIR = Path(__file__).parents[2].parent / "shared" / "data" / "batadal"
# Skipped on a developer machine without them; in CI (CI=true) they must run.
needs_batadal = pytest.mark.skipif(
    not BATADAL_DIR.is_dir() and not os.environ.get("CI"),
    reason=f"real BATADAL files not found in {BATADAL_DIR}",
)
GOOD = b"timestamp,value\n2021-07-11 10:00:00,1.0\n"
GOOD_SHA256 = hashlib.sha256(GOOD).hexdigest()


def cache_listing(cache: Path) -> list[str]:
    """Every name in the cache, hidden temporary files included."""
    return sorted(path.name for path in cache.iterdir()) if cache.exists() else []


def refusal(files, cache, source) -> str:
    with pytest.raises(InputError) as caught:
        fetch_files(files, cache, source)
    return str(caught.value)


@pytest.fixture
def serve():
    """serve(folder, handler=None) -> base URL of an HTTP server on loopback."""
    servers = []

    def start(folder: Path, handler=None) -> str:
        handler = handler or partial(QuietHandler, directory=str(folder))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class DroppingHandler(QuietHandler):
    """Promises a whole file, sends a few bytes, then hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(GOOD)))
        self.end_headers()
        self.wfile.write(GOOD[:10])
        self.wfile.flush()
        self.close_connection = True


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The real BATADAL files ------------------------------------------------------------


@needs_batadal
def test_fetches_the_three_batadal_files_from_a_local_folder(tmp_path):
    cache = tmp_path / "cache"
    paths = fetch_batadal(cache, source=BATADAL_DIR)
    assert [path.name for path in paths] == list(BATADAL_SHA256)
    assert cache_listing(cache) == sorted(BATADAL_SHA256)
    for path in paths:
        verify_file(path, BATADAL_SHA256[path.name])


@needs_batadal
def test_fetches_batadal_over_http_from_a_mirror(tmp_path, serve):
    paths = fetch_batadal(tmp_path / "cache", source=serve(BATADAL_DIR))
    for path in paths:
        verify_file(path, BATADAL_SHA256[path.name])


@needs_batadal
def test_cached_files_are_not_fetched_again(tmp_path):
    cache = tmp_path / "cache"
    first = fetch_batadal(cache, source=BATADAL_DIR)
    stamps = [path.stat().st_mtime_ns for path in first]
    # The source is gone: only the cache can answer.
    again = fetch_batadal(cache, source=tmp_path / "nowhere")
    assert again == first
    assert [path.stat().st_mtime_ns for path in again] == stamps


@needs_batadal
def test_a_damaged_cached_file_is_fetched_again(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "BATADAL_dataset04.csv").write_text("DATETIME, L_T1\n")
    fetch_batadal(cache, source=BATADAL_DIR)
    verify_file(cache / "BATADAL_dataset04.csv", BATADAL_SHA256["BATADAL_dataset04.csv"])


@needs_batadal
def test_a_truncated_mirror_file_is_refused_and_the_good_ones_kept(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(BATADAL_DIR, mirror)
    damaged = mirror / "BATADAL_dataset04.csv"
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes()[:100_000])
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as caught:
        fetch_batadal(cache, source=mirror)
    message = str(caught.value)
    assert message.startswith(f"BATADAL_dataset04.csv from {damaged}: sha256 is ")
    assert f"expected {BATADAL_SHA256['BATADAL_dataset04.csv']}" in message
    assert cache_listing(cache) == ["BATADAL_dataset03.csv", "BATADAL_test_dataset.csv"]


def test_the_default_source_is_the_competition_site(tmp_path, monkeypatch):
    asked = []

    def offline(url, timeout):
        asked.append(url)
        raise OSError("offline")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(InputError):
        fetch_batadal(tmp_path)
    assert asked == [f"https://www.batadal.net/data/{name}" for name in BATADAL_SHA256]


# Bad sources, with small files -------------------------------------------------------


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "data.csv").write_bytes(GOOD + b"tampered\n")
    cache = tmp_path / "cache"
    message = refusal({"data.csv": GOOD_SHA256}, cache, source)
    actual = hashlib.sha256(GOOD + b"tampered\n").hexdigest()
    assert f"data.csv from {source / 'data.csv'}: sha256 is {actual}, expected {GOOD_SHA256}" in (
        message
    )
    assert cache_listing(cache) == []


def test_a_file_missing_from_the_source_folder_is_named(tmp_path):
    message = refusal({"data.csv": GOOD_SHA256}, tmp_path / "cache", tmp_path / "empty")
    assert message.startswith("data.csv: cannot fetch it from ")
    assert "No such file" in message


def test_an_unreachable_url_names_every_file(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/data/"
    files = {"a.csv": GOOD_SHA256, "b.csv": GOOD_SHA256}
    with pytest.raises(InputError) as caught:
        fetch_files(files, tmp_path / "cache", url)
    assert [problem.split(": cannot fetch it from ")[0] for problem in caught.value.problems] == [
        "a.csv",
        "b.csv",
    ]
    assert f"{url}a.csv" in caught.value.problems[0]
    assert "refused" in caught.value.problems[0]
    assert cache_listing(tmp_path / "cache") == []


def test_a_missing_file_on_the_server_is_named_and_the_others_kept(tmp_path, serve):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "good.csv").write_bytes(GOOD)
    cache = tmp_path / "cache"
    message = refusal({"good.csv": GOOD_SHA256, "gone.csv": GOOD_SHA256}, cache, serve(mirror))
    assert message.startswith("gone.csv: cannot fetch it from http://127.0.0.1:")
    assert "404" in message
    assert cache_listing(cache) == ["good.csv"]


def test_a_connection_dropped_mid_file_leaves_nothing_behind(tmp_path, serve):
    url = serve(tmp_path, handler=DroppingHandler)
    cache = tmp_path / "cache"
    assert refusal({"data.csv": GOOD_SHA256}, cache, url).startswith("data.csv")
    assert cache_listing(cache) == []


def test_verify_file_names_the_file_and_both_checksums(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(GOOD)
    verify_file(path, GOOD_SHA256)
    wrong = re.escape(f"{path}: sha256 is {GOOD_SHA256}, expected {'0' * 64}")
    with pytest.raises(InputError, match=wrong):
        verify_file(path, "0" * 64)
    with pytest.raises(InputError, match="file not found"):
        verify_file(tmp_path / "absent.csv", GOOD_SHA256)
