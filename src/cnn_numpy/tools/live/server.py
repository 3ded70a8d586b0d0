"""The page's web server: the standard library's ``ThreadingHTTPServer``, nothing more.

Routes (every other path is a 404; only these methods exist):

    GET  /, /app.js, ...   the page's files, shipped in ``cnn_numpy/live/static/``
    GET  /api/info         the model's layers and classes, the mode, the session token
    GET  /events           training events (Server-Sent Events), when training
    POST /api/predict      a drawing, an image or an example -> every layer's output, the answer
    POST /api/kernel       how one conv pixel was computed
    POST /api/stop         stop training as Ctrl-C does (needs the session token)

Every request is checked first (``safety.py``): the Host header, then for POST the content
type, the origin and the body's size.  Whatever a request holds, the server answers and
stays up; a page file is looked up by its exact name in a table made at start-up, so a path
never reaches the file system.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from . import api
from .feed import EventFeed
from .model_view import ModelView
from .safety import MAX_BODY, HttpError, body_length, check_host, check_post, parse_json_object

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

#: sent with every answer: no framing (the Stop button cannot be clicked through another
#: site), no scripts or styles from anywhere else, no guessing of content types
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page_files() -> dict[str, tuple[bytes, str]]:
    """``{"/app.js": (bytes, content type), ...}`` for every file in static/, "/": index.html."""
    files = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files["/" + entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    files["/"] = files["/index.html"]
    return files


class LiveServer(ThreadingHTTPServer):
    """The page's server, bound to ``host:port`` (port 0: any free port; ``.port`` then says
    which).  ``view``: the model to draw with (None while it trains); ``feed``: training
    events (None when serving a saved model); ``on_stop``: what the Stop button does."""

    daemon_threads = True  # a page still streaming events does not hold up the exit
    request_queue_size = 64

    def handle_error(self, request, client_address) -> None:  # a client gone: no traceback
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def __init__(
        self,
        host: str,
        port: int,
        view: ModelView | None = None,
        feed: EventFeed | None = None,
        on_stop: Callable[[], None] | None = None,
        title: str = "",
    ):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.view, self.feed, self.on_stop, self.title = view, feed, on_stop, title
        self.token = secrets.token_urlsafe(24)
        self.files = page_files()
        self.thread: threading.Thread | None = None
        super().__init__((host, port), PageHandler)
        self.host, self.port = host, self.server_address[1]

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name; we need no name
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.host_for_url(), self.server_address[1]

    def host_for_url(self) -> str:
        """The bound address as a URL writes it; for "every interface" (0.0.0.0, ::), this
        computer's loopback address, which a browser here can open."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(
            self.server_address[0], self.server_address[0]
        )
        return f"[{host}]" if ":" in host else host

    @property
    def url(self) -> str:
        """The page's address, with the real port."""
        return f"http://{self.host_for_url()}:{self.port}/"

    def start(self) -> LiveServer:
        """Serve in a background thread (the caller's thread trains, or waits for Ctrl-C)."""
        self.thread = threading.Thread(
            target=self.serve_forever,
            name="cnn-numpy-live",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        """Close every event stream, stop serving, release the port."""
        if self.feed is not None:
            self.feed.close()
        if self.thread is not None:
            self.shutdown()
            self.thread.join()
        self.server_close()

    def info(self) -> dict:
        mode = "train" if self.feed is not None else "serve"
        view = self.view.info() if self.view is not None else None
        return {
            "mode": mode,
            "title": self.title,
            "token": self.token,
            "model": view,
            "training": self.feed is not None and self.view is None,
        }


class PageHandler(BaseHTTPRequestHandler):
    """One request: checked (safety.py), routed, answered; never an unanswered crash."""

    server: LiveServer
    server_version = "cnn-numpy"
    timeout = 30  # seconds a silent connection is kept

    def do_GET(self) -> None:
        self.answer(self.get)

    def do_POST(self) -> None:
        self.answer(self.post)

    def refuse_method(self) -> None:
        self.answer(lambda path: self.fail(405, f"{self.command} is not used here"))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_TRACE = do_CONNECT = refuse_method

    def answer(self, route: Callable[[str], None]) -> None:
        try:
            try:
                check_host(self.headers, self.server.host, self.server.port)
                route(urlsplit(self.path).path)
            except HttpError as err:
                self.fail(err.status, str(err))
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                raise
            except Exception as err:  # a bug: say so, keep serving
                print(
                    f"cnn-numpy: error answering {self.command} {self.path[:80]}: "
                    f"{type(err).__name__}: {err}",
                    file=sys.stderr,
                )
                self.fail(500, "internal error (the terminal running cnn-numpy says more)")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # the client left mid-request (a short body) or mid-answer: no traceback
            self.close_connection = True

    def get(self, path: str) -> None:
        if path == "/api/info":
            return self.send(200, json.dumps(self.server.info()).encode(), "application/json")
        if path == "/events":
            return self.stream_events()
        if path not in self.server.files:
            raise HttpError(404, "no such page")
        self.send(200, *self.server.files[path])

    def post(self, path: str) -> None:
        routes = {
            "/api/predict": self.predict,
            "/api/kernel": self.kernel,
            "/api/stop": self.stop_training,
        }
        if path not in routes:
            raise HttpError(404, "no such action")
        check_post(self.headers)
        try:
            length = body_length(self.headers, MAX_BODY)
        except HttpError as err:
            if err.status == 413:
                self.discard_body()
                if path == "/api/predict":  # what a user sees: the photo they dropped
                    raise HttpError(
                        413,
                        f"{err} (an image file of at most {MAX_BODY * 3 // 4 // 2**20} MB: the "
                        "page sends it as base64, a third larger)",
                    ) from None
            raise
        body = self.rfile.read(length)
        if len(body) != length:
            raise HttpError(400, f"the body ended after {len(body)} of {length} bytes")
        result = routes[path](parse_json_object(body))
        try:
            answer = json.dumps(result, allow_nan=False).encode()
        except ValueError:  # inf or NaN: numbers far outside a prepared image overflowed
            raise HttpError(
                422,
                "the layers' numbers are not finite (they overflowed): send the input the "
                "predict answer returned",
            ) from None
        self.send(200, answer, "application/json")

    def predict(self, payload: dict) -> dict:
        return api.predict(self.server.view, payload)

    def kernel(self, payload: dict) -> dict:
        return api.kernel(self.server.view, payload)

    def stop_training(self, payload: dict) -> dict:
        token = self.headers.get("X-Token") or ""
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            raise HttpError(403, "Stop needs this session's token (the page sends it)")
        if self.server.on_stop is None or self.server.view is not None:
            raise HttpError(409, "there is no training to stop")
        self.server.on_stop()
        return {"stopping": True}

    def stream_events(self) -> None:
        feed = self.server.feed
        if feed is None:
            raise HttpError(404, "no training to follow: this page shows a trained model")
        last = self.headers.get("Last-Event-ID", "")
        start = int(last) + 1 if last.isdigit() and len(last) < 10 else 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"retry: 1000\n\n")
        with feed.following():
            while True:
                messages, closed = feed.wait(start, timeout=10)
                if messages:
                    self.wfile.write(b"".join(messages))
                    start += len(messages)
                elif closed:
                    return
                else:
                    self.wfile.write(b": still here\n\n")  # a comment: keeps the line open

    def discard_body(self) -> None:
        """Read what the client already sent of an oversized body (at most a few times the
        limit, waiting at most half a second for more), so it sees the 413 rather than a
        reset connection."""
        self.close_connection = True
        self.connection.settimeout(0.5)
        try:
            for _ in range(4 * MAX_BODY // 2**16):
                if not self.rfile.read1(2**16):
                    break
        except (TimeoutError, OSError):
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, a 414 URI, a 431 header):
        JSON with the security headers, as every other answer, not its HTML page."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # a garbled request line left HTTP/0.9: no status line
        self.fail(code, message or self.responses.get(code, ("error",))[0])

    def fail(self, status: int, message: str) -> None:
        self.send(status, json.dumps({"error": message}).encode(), "application/json")

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the terminal shows training, not every request."""
