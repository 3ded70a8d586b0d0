"""Ctrl-C (or the live page's Stop) while ``train`` fits the novelty check, after the last
epoch: exit 130 with a line saying what the run folder holds and how to finish it, the model
files as training left them; ``train --resume`` then fits the check and draws the report."""

from __future__ import annotations

import http.client
import json
import signal
import time
from urllib.parse import urlparse

import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.cli import live as live_cli
from cnn_numpy.tools.cli import main, novelty_check

FAST = ["train", "--epochs", "1", "--batch-size", "16", "--filters", "2"]


def snapshot(run_dir):
    return {name: (run_dir / name).read_bytes() for name in ("model.npz", "best.npz")}


@pytest.fixture
def files_before_the_check(monkeypatch):
    """The model files as training left them, read when the check begins."""
    saved = {}
    real_store = novelty_check.store_novelty

    def spy(run_dir, *args, **kwargs):
        saved.update(snapshot(run_dir))
        return real_store(run_dir, *args, **kwargs)

    monkeypatch.setattr("cnn_numpy.tools.cli.train.store_novelty", spy)
    return saved


def finish_with_resume(run, capsys):
    """The command the note names: nothing left to train; the check, then the report."""
    assert main(["train", "--resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert "No epoch left to train (all 1 epochs are done): the run's ending is done again" in out
    assert "Novelty check: score above" in out and "stored in model.npz and best.npz" in out
    assert f"Report: {run / 'report.html'}" in out
    for name in ("model.npz", "best.npz"):
        assert cnn.load_novelty(run / name) is not None, name


def test_ctrl_c_while_the_check_is_fitted(tmp_path, monkeypatch, capsys, files_before_the_check):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(novelty_check, "fit_novelty", ctrl_c)
    run = tmp_path / "run"
    assert main([*FAST, "--out", str(run)]) == 130
    out, err = capsys.readouterr()
    assert err == (
        f"\nInterrupted while fitting the novelty check: the trained run in {run} is saved as "
        "it was; model.npz and best.npz have no novelty check yet (predict would say so). "
        f"Finish it (the check, then the report) with:\n  cnn-numpy train --resume {run}\n"
    )
    assert "Epoch 01 |" in out and "Report:" not in out and not (run / "report.html").exists()
    assert snapshot(run) == files_before_the_check  # left intact
    monkeypatch.undo()
    assert main(["evaluate", str(run / "best.npz")]) == 0  # says how to add the check
    assert (
        f"note: {run / 'best.npz'} has no novelty check (its run was stopped before the check "
        "was fitted, could not fit one, or trained before cnn-numpy had one), so every image "
        "gets one of its classes, however unlike them it is; add it with: cnn-numpy train "
        f"--resume {run} (which says why if it cannot, e.g. a class with too few images)"
    ) in capsys.readouterr().out
    finish_with_resume(run, capsys)


def test_ctrl_c_between_the_two_files(tmp_path, monkeypatch, capsys):
    """model.npz got its check, best.npz not yet (they hold different weights)."""
    real_save = novelty_check.save_novelty
    calls = []

    def save_then_ctrl_c(path, detector):
        calls.append(path.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_save(path, detector)

    monkeypatch.setattr(novelty_check, "save_novelty", save_then_ctrl_c)
    run = tmp_path / "run"
    assert main([*FAST, "--epochs", "3", "--lr", "0.3", "--out", str(run)]) == 130
    if calls != ["model.npz", "best.npz"]:
        pytest.skip("the best epoch was the last: one check for both files")
    err = capsys.readouterr().err
    assert "best.npz has no novelty check yet (predict would say so)" in err
    assert cnn.load_novelty(run / "model.npz") is not None
    assert cnn.load_novelty(run / "best.npz") is None
    monkeypatch.undo()
    assert main(["train", "--resume", str(run)]) == 0
    assert cnn.load_novelty(run / "best.npz") is not None


def post_stop(url: str) -> None:
    """What the page's Stop button sends: POST /api/stop with the session's token.  Its
    answer may not be read: the Stop interrupts this (the main) thread."""
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/api/info")
    token = json.loads(connection.getresponse().read())["token"]
    headers = {"X-Token": token, "Content-Type": "application/json"}
    connection.request("POST", "/api/stop", b"{}", headers)
    assert connection.getresponse().status == 200


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
    reason="SIGINT is ignored in this process (started in the background): Stop cannot land",
)
def test_the_live_pages_stop_while_the_check_is_fitted(tmp_path, monkeypatch, capsys):
    pages = []
    real_start = live_cli.start

    def start(*args, **kwargs):
        pages.append(real_start(*args, **kwargs))
        return pages[-1]

    def stop_from_the_page(*args, **kwargs):
        post_stop(pages[0].url)
        time.sleep(30)  # the Stop lands here, as a Ctrl-C does
        raise AssertionError("the page's Stop did not interrupt the check")

    monkeypatch.setattr(live_cli, "start", start)
    monkeypatch.setattr(novelty_check, "fit_novelty", stop_from_the_page)
    run = tmp_path / "run"
    flags = ["--live", "--port", "0", "--no-browser", "--out", str(run)]
    assert main([*FAST, *flags]) == 130
    err = capsys.readouterr().err
    assert "Interrupted while fitting the novelty check" in err
    assert f"Finish it (the check, then the report) with:\n  cnn-numpy train --resume {run}" in err
    monkeypatch.undo()
    finish_with_resume(run, capsys)
