"""`cnn-numpy serve MODEL.npz` as a user runs it: the address it prints is the real one,
Ctrl-C stops it cleanly, a network address is warned about, and bad input is a clear error."""

from __future__ import annotations

import errno
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers.pipes import next_line

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli import serve as serve_module
from cnn_numpy.tools.cli.common import CliError
from cnn_numpy.tools.cli.serve import announce, host_address, network_address, open_server


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "model.npz"
    cnn.save(
        cnn.seed_net(10, filters=2, rng=0),
        path,
        dataset="mnist",
        class_names=list(cnn.MNIST_CLASSES),
        normalize={"mean": 0.1307, "std": 0.3081},
        input_shape=(1, 28, 28),
    )
    return path


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cnn_numpy", "serve", *args, "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_next_line_reads_two_lines_printed_at_once():
    """The helper itself: a buffered readline took both lines, and the second was waited for."""
    code = "import time; print('one\\ntwo', flush=True); time.sleep(30)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert next_line(process, timeout=10) == "one\n"
        assert next_line(process, timeout=3) == "two\n"
    finally:
        process.kill()
        process.communicate()


def address(process: subprocess.Popen, timeout: float = 60) -> str:
    """The URL in the first line the server prints."""
    line = next_line(process, timeout)
    found = re.search(r"http://\S+/", line)
    assert found, f"no address in {line!r} (stderr: {process.stderr.read()})"
    return found.group(0)


def ctrl_c(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_ctrl_c_just_as_the_address_is_printed_stops_as_quietly(model_file, monkeypatch, capsys):
    """A Ctrl-C between the address line and the wait (a busy machine, a quick user) was
    "Interrupted." from the top of the CLI, the server not stopped by its own hand."""
    from cnn_numpy.tools.cli import serve as serve_module

    stopped = []

    def ctrl_c_while_announcing(server, *args):
        stopped.append(server)
        raise KeyboardInterrupt

    monkeypatch.setattr(serve_module, "announce", ctrl_c_while_announcing)
    assert main(["serve", str(model_file), "--port", "0", "--no-browser"]) == 0
    assert "Stopped." in capsys.readouterr().out
    assert not stopped[0].thread.is_alive()


def test_port_0_prints_the_real_address_and_ctrl_c_stops_cleanly(model_file):
    process = serve(str(model_file), "--port", "0")
    try:
        url = address(process)
        port = int(re.search(r":(\d+)/$", url).group(1))
        assert url.startswith("http://127.0.0.1:") and port > 0
        with urllib.request.urlopen(url, timeout=30) as page:
            assert b'<canvas id="pad"' in page.read()
    finally:
        code, out, err = ctrl_c(process)
    assert code in (0, 130)
    assert "Traceback" not in err and "Stopped." in out
    with pytest.raises(OSError):  # the port is released
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_network_host_is_served_with_a_warning(model_file):
    """On every interface it printed only http://127.0.0.1:PORT/; now a second line says so
    and gives the address other computers open, which the Host check lets through."""
    process = serve(str(model_file), "--port", "0", "--host", "0.0.0.0")
    try:
        url = address(process)
        port = int(re.search(r":(\d+)/$", url).group(1))
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
        line = next_line(process, timeout=10)
        assert line.startswith("  listening on all interfaces (0.0.0.0): other computers ")
        here = network_address(False)
        if here is not None:  # a computer on a network: its address is printed
            assert f"can reach it at http://{here}:{port}/" in line
        # a request another computer sends names this one's address as its Host (sent here
        # over loopback: tests never touch the network): the Host check lets it through
        own = urllib.request.Request(url, headers={"Host": f"{here or '192.168.1.5'}:{port}"})
        with urllib.request.urlopen(own, timeout=30) as page:
            assert page.status == 200
    finally:
        code, _, err = ctrl_c(process)
    assert "warning: listening on 0.0.0.0: anyone who can reach this computer" in err
    assert code in (0, 130) and "Traceback" not in err


@pytest.mark.parametrize(
    "host, url, v6_only, expected",
    [
        ("0.0.0.0", "http://127.0.0.1:8000/", 0, "at http://192.168.1.5:8000/"),
        ("::", "http://[::1]:8000/", 1, "at http://[fd00::5]:8000/"),
        ("::", "http://[::1]:8000/", 0, "at http://[fd00::5]:8000/ or http://192.168.1.5:8000/"),
    ],
)
def test_every_interface_is_said_plainly_with_the_address_to_open(
    monkeypatch, capsys, host, url, v6_only, expected
):
    from types import SimpleNamespace

    monkeypatch.setattr(
        serve_module, "network_address", lambda ipv6: "fd00::5" if ipv6 else "192.168.1.5"
    )
    socket_ = SimpleNamespace(getsockopt=lambda *option: v6_only)
    server = SimpleNamespace(host=host, port=8000, url=url, socket=socket_)
    announce(server, "Serving m.npz", False)
    first, second = capsys.readouterr().out.splitlines()
    assert first == f"Serving m.npz at {url}  (Ctrl-C to stop)"
    assert (
        second == f"  listening on all interfaces ({host}): other computers can reach it {expected}"
    )


def test_every_interface_without_a_network_says_so(monkeypatch, capsys):
    from types import SimpleNamespace

    monkeypatch.setattr(serve_module, "network_address", lambda ipv6: None)
    server = SimpleNamespace(host="0.0.0.0", port=8000, url="http://127.0.0.1:8000/")
    announce(server, "Serving m.npz", False)
    second = capsys.readouterr().out.splitlines()[1]
    assert "this computer's network address, port 8000 (none found now" in second


@pytest.mark.parametrize("host", ["127.0.0.1", "192.168.1.5"])
def test_one_address_is_one_line(capsys, host):
    from types import SimpleNamespace

    announce(SimpleNamespace(host=host, port=8000, url=f"http://{host}:8000/"), "Serving", False)
    assert capsys.readouterr().out == f"Serving at http://{host}:8000/  (Ctrl-C to stop)\n"


def test_the_default_host_is_loopback_without_a_warning(model_file):
    process = serve(str(model_file), "--port", "0")
    try:
        assert address(process).startswith("http://127.0.0.1:")
    finally:
        _, _, err = ctrl_c(process)
    assert "warning" not in err


def test_a_port_in_use_is_a_clear_error(model_file, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(model_file), "--port", str(port), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert f"error: port {port} on 127.0.0.1 is already in use" in err and "--port 0" in err


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing.npz"), "--no-browser"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    four = tmp_path / "four-channels.npz"  # neither grey nor colour (3 channels)
    net = cnn.Sequential(cnn.Conv2d(4, 2, 3, rng=0), cnn.Flatten(), cnn.Linear(2 * 30 * 30, 2))
    cnn.save(net, four, input_shape=(4, 32, 32))
    assert main(["serve", str(four), "--no-browser"]) == 1
    assert "1x28x28 grayscale images like MNIST's or 3xHxW colour" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "model.npz", "--port", "70000"])
    assert "must be a whole number from 0 to 65535" in capsys.readouterr().err


def test_an_address_of_another_computer_is_a_clear_error(model_file, capsys):
    # 192.0.2.1 is reserved for documentation: never this machine's address
    assert main(["serve", str(model_file), "--host", "192.0.2.1", "--no-browser"]) == 1
    assert "error: cannot listen on 192.0.2.1 port 8000" in capsys.readouterr().err


def test_an_empty_or_bracketed_host_is_understood(model_file, capsys):
    """``--host ""`` served every interface under the warning "listening on :"; ``--host
    [::1]`` (as a URL writes it) was "Name or service not known"."""
    with pytest.raises(SystemExit):
        main(["serve", str(model_file), "--host", " ", "--no-browser"])
    assert "argument --host: give an address" in capsys.readouterr().err
    assert host_address("[::1]") == "::1" and host_address(" 127.0.0.1 ") == "127.0.0.1"
    assert host_address("localhost") == "localhost"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "http://127.0.0.1", "[::1]:8000", "localhost/"])
def test_a_host_with_a_port_or_a_url_is_a_clear_error(model_file, host, capsys):
    """``--host 127.0.0.1:8000`` said "cannot listen on 127.0.0.1:8000 port 8000: Name or
    service not known"."""
    with pytest.raises(SystemExit):
        main(["serve", str(model_file), "--host", host, "--no-browser"])
    assert "give the address alone, not a URL or a port" in capsys.readouterr().err
    assert host_address("::1") == "::1" and host_address("::") == "::"


def test_a_port_that_needs_administrator_rights_is_a_clear_error(capsys):
    """A port below 1024 without root: "Permission denied; the default --host 127.0.0.1 always
    works", which blamed the address, the default one included."""

    def refused():
        raise PermissionError(errno.EACCES, "Permission denied")

    with pytest.raises(CliError) as caught:
        open_server(refused, "127.0.0.1", 80)
    assert "permission denied (ports below 1024 need administrator rights)" in str(caught.value)
    assert "--host" not in str(caught.value)


def test_the_warning_writes_an_ipv6_address_in_brackets(capsys):
    """``--host ::`` warned "listening on :::", an address and a colon run together."""
    from types import SimpleNamespace

    server = SimpleNamespace(host="::", port=8000, url="http://[::1]:8000/")
    announce(server, "Serving m.npz", False)
    err = capsys.readouterr().err
    assert err.startswith("warning: listening on [::]: anyone") and ":::" not in err


def test_serve_is_a_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out
    started = time.monotonic()
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert "--no-browser" in help_text and "--port" in help_text and "--host" in help_text
    assert time.monotonic() - started < 10


def test_the_page_gets_the_model_files_novelty_check(model_file, tmp_path, monkeypatch):
    import argparse

    import numpy as np

    import cnn_numpy.tools.cli.serve as serve_cli

    class Stop(Exception):
        pass

    views = []

    def server(host, port, view, title):  # record the view instead of serving it
        views.append(view)
        raise Stop

    monkeypatch.setattr(serve_cli, "LiveServer", server)
    with_check = tmp_path / "checked.npz"
    model = cnn.load(model_file)
    cnn.save(
        model,
        with_check,
        dataset="mnist",
        class_names=list(cnn.MNIST_CLASSES),
        normalize={"mean": 0.1307, "std": 0.3081},
        input_shape=(1, 28, 28),
    )
    X = np.random.default_rng(0).normal(size=(200, 1, 28, 28)).astype(np.float32)
    cnn.save_novelty(with_check, cnn.fit_novelty(model, X, np.arange(200) % 10, rng=0))
    for path in (model_file, with_check):
        with pytest.raises(Stop):
            serve_cli.run(
                argparse.Namespace(model=str(path), host="127.0.0.1", port=0, browser=False)
            )
    assert views[0].novelty is None and views[0].info()["novelty"] is None
    assert views[1].novelty.threshold == cnn.load_novelty(with_check).threshold
    assert views[1].info()["novelty"]["threshold"] > 0
