"""The page's server over plain HTTP: it serves only its own files, refuses other sites'
requests (Host, Origin, the Stop token), caps and checks bodies, and stays up whatever a
request holds."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time

import numpy as np
import pytest
from helpers.digit_strokes import DIGITS, render

from cnn_numpy import lenet
from cnn_numpy.tools.live import LiveServer, ModelView
from cnn_numpy.tools.live.safety import MAX_BODY, host_allowed, split_host_header

CARD = {
    "dataset": "mnist",
    "class_names": [str(k) for k in range(10)],
    "normalize": {"mean": 0.1307, "std": 0.3081},
    "input_shape": [1, 28, 28],
}


@pytest.fixture(scope="module")
def server():
    live = LiveServer("127.0.0.1", 0, view=ModelView(lenet(rng=0), CARD), title="test").start()
    yield live
    live.stop()


def request(server, method, path, body=None, headers=None, host=None):
    """(status, headers, body bytes) of one request; ``host`` replaces the Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host if host is not None else f"127.0.0.1:{server.port}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    data = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    if method == "POST" and "Content-Length" not in (headers or {}):
        connection.putheader("Content-Length", str(len(data)))
    connection.endheaders(data if method == "POST" else None)
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def post(server, path, body, **headers):
    headers = {"Content-Type": "application/json", **headers}
    return request(server, "POST", path, body, headers)


def drawing() -> dict:
    gray = np.round(render(DIGITS[7]) * 255).astype(np.uint8)
    return {"pixels": base64.b64encode(gray.tobytes()).decode(), "width": 280, "height": 280}


def test_the_page_and_its_files_are_served_with_safe_headers(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and b'<canvas id="pad"' in body
    assert headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for name, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        status, headers, body = request(server, "GET", name)
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    assert b"http://" not in request(server, "GET", "/")[2].replace(b"http://www.w3", b"")
    status, _, body = request(server, "GET", "/api/info")
    info = json.loads(body)
    assert info["mode"] == "serve" and len(info["model"]["layers"]) == 10
    assert info["token"] == server.token


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/..%2fserver.py",
        "/static/app.js",
        "/server.py",
        "/__init__.py",
        "//etc/passwd",
        "/static/../server.py",
        "/app.js/..",
        "/.%2e/server.py",
        "/app.js%00.html",
        "/APP.JS",
        "/index.html/",
        "/C:/Windows/win.ini",
    ],
)
def test_only_the_shipped_files_are_served(server, path):
    status, _, body = request(server, "GET", path)
    assert status == 404, path
    assert b"import" not in body and b"root:" not in body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1:1",
        "127.0.0.1",
        "localhost.evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "[::1]:1",
        "192.168.1.10:{port}",
        "0.0.0.0:{port}",
        "",
        "127.0.0.1:{port}:1",
    ],
)
def test_a_foreign_host_header_is_refused(server, host):
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1."""
    for path in ("/", "/api/info"):
        status, _, body = request(server, "GET", path, host=host.format(port=server.port))
        assert status in (400, 403), host  # unparsable: 400; foreign: 403
        assert server.token.encode() not in body


def test_a_foreign_host_cannot_post_either(server):
    status, _, _ = request(
        server,
        "POST",
        "/api/predict",
        drawing(),
        {"Content-Type": "application/json"},
        host="evil.example:80",
    )
    assert status == 403


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_servers_own_names_are_accepted(server, host):
    assert request(server, "GET", "/", host=host.format(port=server.port))[0] == 200


def test_host_rules():
    assert split_host_header("[::1]:8000") == ("::1", 8000)
    assert split_host_header("Example.COM.") == ("example.com", None)
    assert host_allowed("localhost", 8000, "127.0.0.1", 8000)
    assert not host_allowed("evil.example", 8000, "127.0.0.1", 8000)
    assert not host_allowed("127.0.0.1", 8001, "127.0.0.1", 8000)
    # on every interface: IP addresses and this machine's name, never a stranger's domain
    assert host_allowed("192.168.1.10", 8000, "0.0.0.0", 8000)
    assert not host_allowed("evil.example", 8000, "0.0.0.0", 8000)
    # --host ::, the same: this machine's IPv6 address, or its IPv4 one (dual stack)
    assert split_host_header("[fd00::2]:8000") == ("fd00::2", 8000)
    assert host_allowed("fd00::2", 8000, "::", 8000) and host_allowed(
        "192.168.1.10", 8000, "::", 8000
    )
    assert not host_allowed("evil.example", 8000, "::", 8000)


def test_missing_or_doubled_host_is_a_400(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.0 400")
    host = f"127.0.0.1:{server.port}".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nHost: evil.example\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.0 400")


def test_a_body_over_the_cap_is_a_413(server):
    status, _, body = post(server, "/api/predict", b"", **{"Content-Length": str(10**9)})
    assert status == 413 and b"at most" in body
    # the page sends a photo as base64, a third larger than the file: a 13 MB photo is a
    # 17.3 MB request, so the message names the file size that fits
    assert b"an image file of at most 12 MB" in body
    big = b'{"pixels": "' + b"A" * (MAX_BODY + 10) + b'"}'
    status, _, _ = post(server, "/api/predict", big)
    assert status == 413


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{not json", b"not valid JSON"),
        (b"[1, 2, 3]", b"must be a JSON object"),
        (b"\xff\xfe{}", b"not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, b"not valid JSON"),
        (b'{"pixels": "AAAA", "width": 2.5, "height": 2}', b"'width' must be a whole number"),
        (b'{"pixels": "AAAA", "width": 2, "height": 3}', b"must hold width*height = 6 bytes"),
        (b'{"pixels": {"a": 1}, "width": 1, "height": 1}', b"'pixels' must be a string"),
        (b'{"image": 12}', b"'image' must be a string"),
    ],
)
def test_malformed_or_ill_shaped_json_is_a_400(server, body, words):
    status, headers, answer = post(server, "/api/predict", body)
    assert status == 400 and words in answer
    assert headers["Content-Type"] == "application/json"


def test_other_bad_requests_are_4xx(server):
    assert post(server, "/api/nothing", {})[0] == 404
    assert (
        request(server, "POST", "/api/predict", drawing(), {"Content-Type": "text/plain"})[0] == 415
    )  # a cross-site form
    assert post(server, "/api/predict", drawing(), Origin="http://evil.example")[0] == 403
    assert (
        request(
            server,
            "POST",
            "/api/predict",
            None,
            {"Content-Type": "application/json", "Content-Length": "abc"},
        )[0]
        == 400
    )
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        assert request(server, method, "/")[0] == 405
    assert request(server, "GET", "/events")[0] == 404  # no training here
    for garbage in (b"\x00\x01 garbage \xff\r\n\r\n", b"GET / HTTP/1.1 extra\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(garbage)
            assert b"400" in raw.recv(1000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.0 414")


def test_a_doubled_content_length_is_a_400(server):
    """Two Content-Length headers: the first was used, the second ignored; which one holds
    is ambiguous (a proxy may read the other), so the request is refused."""
    host = f"127.0.0.1:{server.port}".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: "
            b"application/json\r\nContent-Length: 2\r\nContent-Length: 200\r\n\r\n{}"
        )
        answer = b"".join(iter(lambda: raw.recv(1000), b""))  # to the end: one answer
    assert answer.startswith(b"HTTP/1.0 400") and b"more than one Content-Length" in answer


def test_a_client_gone_anywhere_in_a_request_prints_no_traceback(server, capfd):
    """A reset while http.server itself answers (its 414 to a 70 kB request line, the client
    gone before the body) reached socketserver's handle_error: a traceback in the terminal.
    Any other error still prints one."""
    for gone in (ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe"), TimeoutError()):
        try:
            raise gone
        except OSError:
            server.handle_error(None, ("127.0.0.1", 1))
    assert "Traceback" not in capfd.readouterr().err
    try:
        raise ValueError("a bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert "ValueError: a bug" in capfd.readouterr().err


def test_a_client_that_leaves_mid_request_leaves_no_traceback(server, capfd):
    """A client that promised 20 bytes, sent 2 and went away: the server's 400 met a closed
    socket, and a BrokenPipeError's traceback landed in the terminal running cnn-numpy."""
    host = f"127.0.0.1:{server.port}".encode()
    for _ in range(10):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        raw.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: "
            b"application/json\r\nContent-Length: 20\r\n\r\n{}"
        )
        raw.close()
    assert request(server, "GET", "/api/info")[0] == 200
    time.sleep(0.5)  # the last handlers finish
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "raw_request, status",
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
        (b"\x00\x01 garbage \xff\r\n\r\n", b"400"),
    ],
)
def test_http_servers_own_refusals_carry_the_security_headers(server, raw_request, status):
    """A request http.server itself refuses was answered by its HTML error page, without
    the Content-Security-Policy and nosniff headers every other answer has."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(raw_request)
        answer = b"".join(iter(lambda: raw.recv(1000), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == status, head
    assert b"Content-Security-Policy: default-src 'self'" in head
    assert b"X-Content-Type-Options: nosniff" in head
    assert "error" in json.loads(body)


def test_stop_needs_the_session_token(server):
    assert post(server, "/api/stop", {})[0] == 403
    assert post(server, "/api/stop", {}, **{"X-Token": "guess"})[0] == 403
    status, _, body = post(server, "/api/stop", {}, **{"X-Token": server.token})
    assert status == 409 and b"no training" in body  # serving, not training


def test_predict_and_kernel_answer(server):
    status, _, body = post(server, "/api/predict", drawing())
    assert status == 200
    result = json.loads(body)
    assert len(result["layers"]) == 10 and len(result["probabilities"]) == 10
    status, _, body = post(
        server,
        "/api/kernel",
        {"input": result["input"], "layer": 3, "channel": 4, "row": 7, "col": 6},
    )
    view = json.loads(body)
    assert status == 200 and len(view["window"]) == 16
    assert view["value"] == pytest.approx(view["feature_map_value"], rel=1e-5, abs=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow, on purpose
def test_an_input_that_overflows_the_layers_is_a_422_not_a_500(server):
    """Finite numbers so large (3e38, near float32's top) that a conv's sum overflows to inf:
    the answer cannot be sent as JSON; the page is told why instead of "internal error"."""
    huge = np.full((28, 28), 3e38, dtype="<f4")
    status, _, body = post(
        server,
        "/api/kernel",
        {
            "input": base64.b64encode(huge.tobytes()).decode(),
            "layer": 3,
            "channel": 0,
            "row": 5,
            "col": 5,
        },
    )
    assert status == 422 and b"not finite" in body


def test_the_server_is_still_up_after_every_bad_request(server):
    """Runs last in this module: everything above was thrown at the same server."""
    assert request(server, "GET", "/")[0] == 200
    assert post(server, "/api/predict", drawing())[0] == 200
