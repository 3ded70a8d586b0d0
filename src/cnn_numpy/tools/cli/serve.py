"""``cnn-numpy serve MODEL.npz``: a page in your browser where you draw a digit and watch
every layer of the model respond.  Also the server plumbing ``train --live`` shares:
the flags, starting the server, the address line, the browser, waiting for Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
import sys
import threading
from pathlib import Path

from ..live import LiveServer, ModelView
from ..live.safety import ip_literal, is_loopback
from ..novelty import load_novelty
from .common import CliError, int_in, load_model
from .exercises import add_layers_from_argument, use_layers_from
from .predict import check_input_shape

DEFAULT_PORT = 8000


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="a page in your browser: draw a digit and watch every layer",
        description="Start a local web page for a saved model: draw a digit (or drop an "
        "image), see the 28x28 input the model gets, its answer, every layer's "
        "feature maps, and, on a click, how one number of a conv layer was "
        "computed. A colour model (CIFAR-10's 3x32x32) takes a photo or one of a "
        "few example images instead of a drawing. Ctrl-C stops it.",
    )
    p.add_argument(
        "model",
        metavar="MODEL.npz",
        help="a model saved by training or by cnn_numpy.save (1x28x28 grey or 3xHxW colour inputs)",
    )
    add_server_arguments(p, host=True)
    add_layers_from_argument(p)
    p.set_defaults(run=run)


def add_server_arguments(parser: argparse.ArgumentParser, host: bool) -> None:
    """--port and --no-browser (and --host, for ``serve``)."""
    parser.add_argument(
        "--port",
        type=int_in(0, 65535),
        default=DEFAULT_PORT,
        help=f"the page's port (default {DEFAULT_PORT}; 0: any free port)",
    )
    if host:
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            type=host_address,
            help="the address to listen on (default 127.0.0.1: this computer "
            "only; anything else lets the network in)",
        )
    parser.add_argument(
        "--no-browser",
        dest="browser",
        action="store_false",
        help="print the page's address, do not open a browser",
    )


def host_address(text: str) -> str:
    """An argparse type: an address to listen on; ``[::1]`` (as a URL writes it) is ``::1``.
    An empty one is refused: the system would take it for every interface."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise argparse.ArgumentTypeError(
            "give an address, e.g. 127.0.0.1 (this computer only, the default) or 0.0.0.0 "
            "(every network interface)"
        )
    # "http://127.0.0.1:8000/" or "127.0.0.1:8000" were "Name or service not known"
    if "/" in host or (host.count(":") == 1 and not host.startswith("[")) or "]:" in host:
        raise argparse.ArgumentTypeError(
            f"give the address alone, not a URL or a port, got {text!r}: e.g. --host "
            "127.0.0.1 --port 8000"
        )
    return host


def open_server(make, host: str, port: int):
    """``make()`` (a server bound to host:port), with a clear error if it cannot bind."""
    try:
        return make()
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is already in use; pick another with "
                "--port N, or --port 0 for any free port"
            ) from None
        if err.errno == errno.EACCES:  # not the address's fault: ports below 1024 are the system's
            raise CliError(
                f"cannot listen on port {port}: permission denied (ports below 1024 need "
                "administrator rights); pick another with --port N, e.g. the default 8000, or "
                "--port 0 for any free port"
            ) from None
        raise CliError(
            f"cannot listen on {host} port {port}: {err.strerror or err}; "
            "the default --host 127.0.0.1 always works"
        ) from None


def announce(server: LiveServer, what: str, browser: bool) -> None:
    """The address line (the real port), a warning if the network can reach the page, and
    the browser, unless --no-browser.  Bound to every interface (0.0.0.0, ::), a second line
    says so and gives the address other computers open (the URL is for this computer)."""
    if not is_loopback(server.host):
        where = f"[{server.host}]" if ":" in server.host else server.host  # not "on :::"
        print(
            f"warning: listening on {where}: anyone who can reach this computer over "
            "the network can open the page and use the model. Leave out --host to keep it "
            "on this computer (127.0.0.1).",
            file=sys.stderr,
            flush=True,
        )
    print(f"{what} at {server.url}  (Ctrl-C to stop)", flush=True)
    if all_interfaces(server.host):
        print(f"  {all_interfaces_line(server)}", flush=True)
    if browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()


def all_interfaces(host: str) -> bool:
    """Whether ``host`` means every interface of this computer (0.0.0.0, ::)."""
    address = ip_literal(host)
    return address is not None and address.is_unspecified


def all_interfaces_line(server: LiveServer) -> str:
    """Where a server on every interface is found from elsewhere, e.g. "listening on all
    interfaces (0.0.0.0): other computers can reach it at http://192.168.1.5:8000/"."""
    ipv6 = ":" in server.host
    found = [network_address(ipv6)]
    if ipv6 and not v6_only(server):  # "::" takes IPv4 connections too (Linux's default)
        found.append(network_address(False))
    urls = [
        f"http://[{a}]:{server.port}/" if ":" in a else f"http://{a}:{server.port}/"
        for a in found
        if a
    ]
    where = f"all interfaces ({server.host})"
    if not urls:
        return (
            f"listening on {where}: other computers can reach it at this computer's network "
            f"address, port {server.port} (none found now: is this computer on a network?)"
        )
    return f"listening on {where}: other computers can reach it at {' or '.join(urls)}"


def network_address(ipv6: bool) -> str | None:
    """This computer's address on the network (the local end of a route out), or None.  A
    UDP socket's connect sends nothing: it only picks the route (to a documentation
    address, RFC 5737 / 3849, which no one answers)."""
    family, probe = (socket.AF_INET6, "2001:db8::1") if ipv6 else (socket.AF_INET, "192.0.2.1")
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.connect((probe, 9))
            host = udp.getsockname()[0].split("%")[0]
    except OSError:
        return None
    address = ipaddress.ip_address(host)
    return None if address.is_loopback or address.is_unspecified else host


def v6_only(server: LiveServer) -> bool:
    """Whether a server bound to "::" refuses IPv4 (Windows' default), as far as is known."""
    try:
        return bool(server.socket.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    except (AttributeError, OSError):
        return True


def serve_until_ctrl_c(server: LiveServer, stop=None, first=None) -> None:
    """Wait (in the main thread) until Ctrl-C, then stop the server quietly.  ``first`` (the
    address line) runs inside the wait: a Ctrl-C just after the address is printed stops the
    server as quietly as one a minute later."""
    try:
        if first is not None:
            first()
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        (stop or server.stop)()
    print("\nStopped.", flush=True)


def run(args: argparse.Namespace) -> int:
    model, card = load_model(args.model)
    check_input_shape(model, card, args.model, colour=True)
    use_layers_from(args, model)  # --layers-from: the page runs your forward
    name = Path(args.model).name
    # the page says so when the model has no novelty check (None)
    try:
        view = ModelView(model, card, name=name, novelty=load_novelty(args.model))
    except ValueError as err:  # a card the page cannot use (its normalisation, its shape)
        raise CliError(f"{args.model}: {err}") from None
    title = f"{name} ({card.get('preset') or 'model'}, {card.get('dataset') or 'no dataset'})"
    server = open_server(
        lambda: LiveServer(args.host, args.port, view=view, title=title), args.host, args.port
    )
    server.start()
    serve_until_ctrl_c(
        server, first=lambda: announce(server, f"Serving {args.model}", args.browser)
    )
    return 0
