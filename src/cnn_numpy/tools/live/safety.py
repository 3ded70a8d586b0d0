"""What keeps a local page server safe: who may call it, and what a request may contain.

- The ``Host`` header must name this server (its own address, or ``localhost`` for a loopback
  server) and its port: a web page whose domain an attacker points at 127.0.0.1 ("DNS
  rebinding") sends its own domain as the Host and is refused.
- A request that changes something (POST) must come from this page: JSON content type (so a
  form on another site cannot send it without the browser asking first), an ``Origin``, if
  any, equal to this server's.
- Request bodies have a size cap (413 beyond it); malformed JSON or fields of the wrong kind
  are a 400 with a message naming the field.
"""

from __future__ import annotations

import ipaddress
import json
import socket

#: request bodies larger than this are refused (413): a pad drawing is ~100 kB, an uploaded
#: photo (base64) a few MB
MAX_BODY = 16 * 2**20


class HttpError(Exception):
    """A request to refuse with ``status`` and a message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if ``host`` is an IP literal (``127.0.0.1``, ``::1``), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    address = ip_literal(host)
    return host.lower() == "localhost" if address is None else address.is_loopback


def split_host_header(value: str) -> tuple[str, int | None]:
    """``"127.0.0.1:8000" -> ("127.0.0.1", 8000)``, ``"[::1]:80" -> ("::1", 80)``,
    ``"example.com" -> ("example.com", None)``.  HttpError 400 if it cannot be parsed."""
    value = value.strip()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise HttpError(400, f"malformed Host header {value!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = value.rpartition(":")
        if not colon:
            host, port_text = value, None
    if not host:
        raise HttpError(400, f"malformed Host header {value!r}")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5:
            raise HttpError(400, f"malformed Host header {value!r}")
        port = int(port_text)
    return host.lower().rstrip("."), port


def host_allowed(host: str, port: int | None, server_host: str, server_port: int) -> bool:
    """May a request with this Host reach a server bound to ``server_host:server_port``?

    The port must be the server's.  The name must be the address the server is bound to,
    or, for a loopback server, ``localhost`` or a loopback address.  A server bound to
    every interface (``0.0.0.0``, ``::``) or to a network address also accepts any IP
    address and this machine's own name: names that a stranger's DNS cannot redirect.
    """
    if port != server_port:
        return False
    server_host = server_host.lower()
    if host == server_host:
        return True
    if is_loopback(server_host):
        return is_loopback(host)
    return ip_literal(host) is not None or host in (socket.gethostname().lower(), "localhost")


def check_host(headers, server_host: str, server_port: int) -> None:
    """HttpError unless the request's one ``Host`` header names this server."""
    values = headers.get_all("Host") or []
    if len(values) != 1:
        raise HttpError(400, "the request needs exactly one Host header")
    host, port = split_host_header(values[0])
    if not host_allowed(host, port, server_host, server_port):
        raise HttpError(
            403,
            f"Host {values[0]!r} is not this server's address; open the "
            f"page at the address cnn-numpy printed",
        )


def check_post(headers) -> None:
    """A state-changing request must be JSON from this page's own origin."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HttpError(415, "send the request body as JSON (Content-Type: application/json)")
    origin, host = headers.get("Origin"), headers.get("Host")
    if origin is not None and origin != f"http://{host}":
        raise HttpError(403, f"requests from {origin} are not accepted")


def body_length(headers, limit: int = MAX_BODY) -> int:
    """The body's size from ``Content-Length``; 411 without one, 413 above ``limit``."""
    if headers.get("Transfer-Encoding") is not None:
        raise HttpError(411, "send the body with a Content-Length, not chunked")
    values = headers.get_all("Content-Length") or []
    if len(values) > 1:  # which one is the body's? a proxy and we might disagree
        raise HttpError(400, "the request has more than one Content-Length header")
    if not values:
        raise HttpError(411, "the request needs a Content-Length header")
    text = values[0]
    if not text.strip().isdigit():
        raise HttpError(400, f"malformed Content-Length {text!r}")
    length = int(text)
    if length > limit:
        raise HttpError(
            413, f"the request body is {length:,} bytes; at most {limit:,} are accepted"
        )
    return length


def parse_json_object(body: bytes) -> dict:
    """The JSON object in ``body``; 400 if it is not valid UTF-8 JSON or not an object."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise HttpError(400, f"the body is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"the body must be a JSON object, got {type(value).__name__}")
    return value


def int_field(payload: dict, name: str, low: int = 0, high: int = 2**31) -> int:
    """``payload[name]`` as a whole number in [low, high]; 400 otherwise."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HttpError(400, f"{name!r} must be a whole number, got {value!r}"[:200])
    if not low <= value <= high:
        raise HttpError(400, f"{name!r} must be from {low} to {high}, got {value}")
    return value


def str_field(payload: dict, name: str) -> str:
    """``payload[name]`` as a string; 400 otherwise."""
    value = payload.get(name)
    if not isinstance(value, str):
        raise HttpError(400, f"{name!r} must be a string, got {type(value).__name__}")
    return value
