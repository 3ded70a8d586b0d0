"""The downloader against a real HTTP server on 127.0.0.1 (never the network)."""

import gzip
import os
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, sha256

from cnn_numpy.data import datasets, load_mnist
from cnn_numpy.data import download as download_module
from cnn_numpy.data.download import DownloadError, download

PAYLOAD = fake_files(np.random.default_rng(0))["t10k-labels-idx1-ubyte"]
GOOD = gzip.compress(PAYLOAD)
SHA = sha256(PAYLOAD)
NAME = "t10k-labels-idx1-ubyte.gz"


class Handler(BaseHTTPRequestHandler):
    """Answers each path as ``server.routes[path]`` says: (status, body, claimed length,
    seconds to stall before answering)."""

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("User-Agent")))
        status, body, length, stall = self.server.routes.get(self.path, (404, b"", None, 0))
        if stall:
            self.server.stop.wait(stall)  # stall, but let the teardown end it at once
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", self.path)  # to itself: a redirect loop
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.requests, httpd.stop = {}, [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


def serve(server, path, body, status=200, length=None, stall=0):
    server.routes[path] = (status, body, length, stall)
    return server.url + path.rsplit("/", 1)[0] + "/"


def fail(server, tmp_path, mirrors, timeout=5.0, **kwargs):
    target = tmp_path / "cache"
    with pytest.raises(DownloadError) as err:
        download(NAME, SHA, target, mirrors, timeout=timeout, progress=False, **kwargs)
    assert not target.exists(), "a failed download left a file or a folder behind"
    message = str(err.value)
    assert str(target / NAME) in message  # where to put the file by hand
    return message


@pytest.mark.parametrize("progress", [False, True])
def test_good_file(server, tmp_path, progress):
    mirror = serve(server, f"/a/{NAME}", GOOD)
    path = download(NAME, SHA, tmp_path, [mirror], progress=progress)
    assert path == tmp_path / NAME and path.read_bytes() == GOOD
    assert [p.name for p in tmp_path.iterdir()] == [NAME]  # no temporary file left
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600: folders are shared
    assert server.requests == [(f"/a/{NAME}", server.requests[0][1])]
    assert server.requests[0][1].startswith("cnn-numpy")  # our User-Agent


def test_truncated_file(server, tmp_path):
    mirror = serve(server, f"/a/{NAME}", GOOD[: len(GOOD) // 2])
    message = fail(server, tmp_path, [mirror])
    assert f"{mirror}{NAME}: not a complete gzip file" in message and SHA in message


def test_connection_closed_before_content_length(server, tmp_path):
    mirror = serve(server, f"/a/{NAME}", GOOD[: len(GOOD) // 2], length=len(GOOD))
    message = fail(server, tmp_path, [mirror])
    assert f"{mirror}{NAME}: connection closed early" in message


def test_wrong_checksum(server, tmp_path):
    other = PAYLOAD[:-1] + b"\x09"
    mirror = serve(server, f"/a/{NAME}", gzip.compress(other))
    message = fail(server, tmp_path, [mirror])
    assert f"expected sha256 {SHA}, got {sha256(other)}" in message


def test_404_on_first_mirror_then_second(server, tmp_path):
    first = server.url + "/missing/"
    second = serve(server, f"/b/{NAME}", GOOD)
    path = download(NAME, SHA, tmp_path, [first, second], progress=False)
    assert path.read_bytes() == GOOD
    assert [p for p, _ in server.requests] == [f"/missing/{NAME}", f"/b/{NAME}"]


def test_error_lists_every_mirror_and_its_answer(server, tmp_path):
    first = server.url + "/missing/"
    second = serve(server, f"/c/{NAME}", b"", status=503)
    message = fail(server, tmp_path, [first, second])
    assert f"{first}{NAME}: HTTP 404" in message
    assert f"{second}{NAME}: HTTP 503" in message


def test_a_web_page_instead_of_the_file_is_named_as_one(server, tmp_path):
    page = b"<!DOCTYPE html>\n<html><body>This file has moved.</body></html>"
    mirror = serve(server, f"/a/{NAME}", page)
    message = fail(server, tmp_path, [mirror])
    assert f"{mirror}{NAME}: {len(page)} bytes of a web page" in message


def test_a_redirect_loop_is_told_in_one_line_and_the_next_mirror_tried(server, tmp_path):
    looping = serve(server, f"/loop/{NAME}", b"", status=302)
    message = fail(server, tmp_path, [looping])
    lines = message.splitlines()
    assert lines[1] == f"  - {looping}{NAME}: HTTP 302 The HTTP server returned a redirect " + (
        "error that would lead to an infinite loop."
    )
    assert lines[2].startswith("Download it by hand")  # urllib's reason has 2 more lines
    good = serve(server, f"/b/{NAME}", GOOD)
    assert download(NAME, SHA, tmp_path, [looping, good], progress=False).read_bytes() == GOOD


def test_ctrl_c_mid_download_leaves_no_file_and_no_folder(tmp_path, monkeypatch):
    def interrupted(url, dest, *args):
        dest.write(GOOD[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "fetch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download(NAME, SHA, tmp_path / "a" / "b", ["http://127.0.0.1:9/"], progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_target_folder_under_a_file_says_which_path_is_a_file(tmp_path):
    (tmp_path / "mnist.gz").write_bytes(GOOD)
    with pytest.raises(NotADirectoryError, match="mnist.gz is a file, not a folder"):
        download(NAME, SHA, tmp_path / "mnist.gz" / "x", ["http://127.0.0.1:9/"], progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["mnist.gz"]


def test_a_read_only_data_folder_is_named_with_the_fix(server, tmp_path, monkeypatch):
    def read_only(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", f"{dir}/.x.part")

    monkeypatch.setattr(download_module.tempfile, "mkstemp", read_only)  # root ignores chmod
    mirror = serve(server, f"/a/{NAME}", GOOD)
    with pytest.raises(PermissionError) as err:
        download(NAME, SHA, tmp_path / "data", [mirror], progress=False)
    assert str(err.value).startswith(f"cannot write in the data folder {tmp_path / 'data'} (")
    assert "give a folder you can write to" in str(err.value)
    assert server.requests == []  # no mirror blamed for the folder
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_of_a_killed_download_is_removed_later(server, tmp_path):
    stale, live = tmp_path / f".{NAME}.old1.part", tmp_path / f".{NAME}.new1.part"
    for part in (stale, live):
        part.write_bytes(GOOD[:10])
    os.utime(stale, (time.time() - 3600, time.time() - 3600))  # killed an hour ago
    mirror = serve(server, f"/a/{NAME}", GOOD)
    download(NAME, SHA, tmp_path, [mirror], progress=False, deadline=600.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([NAME, live.name])


def test_a_gzip_bomb_from_a_mirror_is_not_unpacked_to_the_end(server, tmp_path):
    bomb = gzip.compress(bytes(3 << 20))  # 3 MiB of zeros in about 3 KB
    mirror = serve(server, f"/a/{NAME}", bomb)
    target = tmp_path / "cache"
    with pytest.raises(DownloadError) as err:
        download(NAME, SHA, target, [mirror], progress=False, max_payload=1 << 20)
    assert f"{mirror}{NAME}: {len(bomb):,} bytes that unpack to over 1,048,576 bytes" in str(
        err.value
    )
    assert not target.exists()


def test_a_mirror_that_sends_more_than_the_file_can_have_is_stopped(paced, tmp_path):
    endless = np.random.default_rng(4).integers(0, 256, 8 << 20, dtype=np.uint8).tobytes()
    flood = paced("flood", endless, piece=1 << 16, pause=0.001)  # fast, and far too long
    good = paced("good", GOOD, piece=len(GOOD), pause=0)
    path = download(NAME, SHA, tmp_path, [flood, good], progress=False, max_payload=1 << 20)
    assert path.read_bytes() == GOOD
    assert [p.name for p in tmp_path.iterdir()] == [NAME]
    message = fail(None, tmp_path / "only", [flood], timeout=5.0, max_payload=1 << 20)
    assert f"{flood}{NAME}: too large: over 1,124,597 bytes sent" in message


def test_server_that_stalls_past_the_timeout(server, tmp_path):
    mirror = serve(server, f"/slow/{NAME}", GOOD, stall=10)
    start = time.perf_counter()
    message = fail(server, tmp_path, [mirror], timeout=0.3)
    assert time.perf_counter() - start < 5
    assert f"{mirror}{NAME}: timed out" in message


def test_load_mnist_downloads_once_then_works_offline(server, tmp_path, monkeypatch):
    files = fake_files(np.random.default_rng(1))
    for stem, data in files.items():
        mirror = serve(server, f"/mnist/{stem}.gz", gzip.compress(data))
    info = datasets.DatasetInfo(
        "mnist",
        datasets.MNIST_CLASSES,
        (server.url + "/gone/", mirror),
        {stem: sha256(data) for stem, data in files.items()},
    )
    monkeypatch.setitem(datasets.DATASETS, "mnist", info)
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    (X_train, y_train), _ = load_mnist(tmp_path)
    assert X_train.shape == (12, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(
        f"{stem}.gz" for stem in files
    )  # nothing else: the checksums are remembered in the user's cache folder
    requests = len(server.requests)
    assert requests == 8  # each file: 404 from the first mirror, then the second
    load_mnist(tmp_path)
    assert len(server.requests) == requests  # the second run never downloads again


class Drip(BaseHTTPRequestHandler):
    """Sends a whole file's length header, then one byte every 0.05 s."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(GOOD)))
        self.end_headers()
        try:
            for byte in GOOD:
                if self.server.stop.wait(0.05):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, *args):
        pass


def test_a_mirror_that_drips_is_cut_off_by_the_deadline(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    httpd.stop = threading.Event()
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        start = time.perf_counter()
        with pytest.raises(DownloadError, match="timed out"):
            download(
                NAME,
                SHA,
                tmp_path / "cache",
                [f"http://127.0.0.1:{httpd.server_port}/"],
                timeout=5.0,
                progress=False,
                deadline=1.0,
            )
        assert time.perf_counter() - start < 4  # each byte came well within the timeout
        assert not (tmp_path / "cache").exists()
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()


def test_a_failed_download_makes_no_folders(server, tmp_path, monkeypatch):
    info = datasets.DATASETS["mnist"]
    monkeypatch.setitem(
        datasets.DATASETS,
        "mnist",
        datasets.DatasetInfo("mnist", info.classes, (server.url + "/none/",), info.sha256),
    )
    with pytest.raises(DownloadError):
        load_mnist(tmp_path / "deep" / "inside" / "mnist")
    assert list(tmp_path.iterdir()) == []


class Paced(BaseHTTPRequestHandler):
    """Serves ``server.files[path]``: headers at once, then ``server.piece`` bytes every
    ``server.pause`` seconds (``server.piece = 1``: a drip)."""

    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        piece, pause = self.server.pace[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), piece):
                if start and self.server.stop.wait(pause):
                    return
                self.wfile.write(body[start : start + piece])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def paced():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Paced)
    httpd.files, httpd.pace, httpd.requests, httpd.stop = {}, {}, [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def mirror(name, body, piece, pause):
        httpd.files[f"/{name}/{NAME}"] = body
        httpd.pace[f"/{name}/{NAME}"] = (piece, pause)
        return f"http://127.0.0.1:{httpd.server_port}/{name}/"

    mirror.requests, mirror.files, mirror.pace = httpd.requests, httpd.files, httpd.pace
    mirror.url = f"http://127.0.0.1:{httpd.server_port}"
    yield mirror
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_dripping_mirror_is_too_slow_and_the_next_one_is_tried(paced, tmp_path):
    """One byte every 0.05 s never trips a 1 s read timeout, and the 600 s deadline is far:
    the speed limit (1 KiB in any 1 s) gives up on it after about a second."""
    drip = paced("drip", GOOD, piece=1, pause=0.05)
    good = paced("good", GOOD, piece=len(GOOD), pause=0)
    start = time.perf_counter()
    path = download(NAME, SHA, tmp_path / "cache", [drip, good], timeout=1.0, progress=False)
    assert time.perf_counter() - start < 4
    assert path.read_bytes() == GOOD
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [NAME]  # no part file left
    assert paced.requests == [f"/drip/{NAME}", f"/good/{NAME}"]


def test_only_dripping_mirrors_is_an_error_naming_each_as_too_slow(paced, tmp_path):
    mirrors = [paced(name, GOOD, piece=1, pause=0.05) for name in ("one", "two")]
    start = time.perf_counter()
    message = fail(None, tmp_path, mirrors, timeout=1.0)
    assert time.perf_counter() - start < 7
    for mirror in mirrors:
        assert f"{mirror}{NAME}: too slow: " in message
    assert "in the last 1 s" in message


def test_a_slow_but_steady_mirror_is_not_too_slow(paced, tmp_path):
    """1.5 KiB every 0.3 s: under 5 KiB/s, but never less than 1 KiB in any second."""
    payload = np.random.default_rng(2).integers(0, 256, 9000, dtype=np.uint8).tobytes()
    packed = gzip.compress(payload)  # random bytes do not shrink: about 9 KB, 6 pieces
    steady = paced("steady", packed, piece=1536, pause=0.3)
    path = download(NAME, sha256(payload), tmp_path, [steady], timeout=1.0, progress=False)
    assert path.read_bytes() == packed


def test_load_mnist_gives_up_a_dripping_mirror_within_its_timeout(paced, tmp_path, monkeypatch):
    files = fake_files(np.random.default_rng(3))
    drip, good = "drip", "good"
    for stem, data in files.items():
        for name, piece, pause in ((drip, 1, 0.2), (good, 1 << 20, 0)):
            body = gzip.compress(data)
            paced_path = f"/{name}/{stem}.gz"
            paced.files[paced_path], paced.pace[paced_path] = body, (piece, pause)
    url = paced.url
    info = datasets.DatasetInfo(
        "mnist",
        datasets.MNIST_CLASSES,
        (f"{url}/{drip}/", f"{url}/{good}/"),
        {stem: sha256(data) for stem, data in files.items()},
    )
    monkeypatch.setitem(datasets.DATASETS, "mnist", info)
    start = time.perf_counter()
    (X_train, _), _ = load_mnist(tmp_path, timeout=1.0, progress=False)
    assert time.perf_counter() - start < 4 * 3  # each of 4 files: about 1 s on the drip
    assert X_train.shape == (12, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(
        f"{stem}.gz" for stem in files
    )
