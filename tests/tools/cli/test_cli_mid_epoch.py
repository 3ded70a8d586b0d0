"""Ctrl-C within an epoch: ``train`` stops at the end of the batch under way, saves the run
there, and ``--resume`` goes on at the next batch to the weights of an unbroken run, bit for
bit; a log that is not a terminal gets a progress line every 30 s (issue 31 item 7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools import progress
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli import training as train_cli
from cnn_numpy.tools.cli.stopping import StopAtBatchEnd
from cnn_numpy.tools.progress import ProgressLines
from cnn_numpy.tools.saving.checkpoint import load_checkpoint
from cnn_numpy.tools.saving.model_files import load

# lines, 480 images in 30 batches of 16; Adam, a cosine schedule and Dropout-free seed net
FLAGS = ["train", "--epochs", "3", "--batch-size", "16", "--optimizer", "adam", "--lr", "0.003",
         "--schedule", "cosine", "--filters", "4", "--no-report"]  # fmt: skip


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("unbroken") / "run"
    assert main([*FLAGS, "--out", str(run_dir)]) == 0
    return run_dir


def assert_same_run(a, b):
    """The same History (but the times) and bit-equal weights and optimizer state."""
    ha, hb = (json.loads((r / "history.json").read_text()) for r in (a, b))
    ha.pop("seconds"), hb.pop("seconds")
    assert ha == hb
    for name in ("model.npz", "best.npz"):
        sa, sb = load(a / name).state_dict(), load(b / name).state_dict()
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=f"{name}: {key}")
    ca, cb = load_checkpoint(a / "checkpoint.npz"), load_checkpoint(b / "checkpoint.npz")
    for key in ca.optimizer_state:
        np.testing.assert_array_equal(ca.optimizer_state[key], cb.optimizer_state[key])
    assert ca.scheduler_state == cb.scheduler_state and cb.progress is None


class CtrlCAt(cnn.Callback):
    """What a Ctrl-C does through the SIGINT handler: ask for a stop during batch ``step``."""

    def __init__(self, epoch: int, step: int):
        self.at = (epoch, step)

    def on_batch_begin(self, epoch, step):
        if (epoch, step) == self.at:
            os.kill(os.getpid(), signal.SIGINT)  # the handler asks; the batch still ends


@pytest.mark.parametrize("epoch, step", [(1, 5), (2, 17), (3, 30)])
def test_ctrl_c_mid_epoch_then_resume_equals_an_unbroken_run(
    unbroken, tmp_path, monkeypatch, capsys, epoch, step
):
    broken = tmp_path / "broken"
    live_callbacks = train_cli.live_callbacks
    monkeypatch.setattr(
        train_cli,
        "live_callbacks",
        lambda page, saver: [*live_callbacks(page, saver), CtrlCAt(epoch, step)],  # fmt: skip
    )
    assert main([*FLAGS, "--out", str(broken)]) == 130
    out = capsys.readouterr().out
    assert f"holds the run after batch {step} of 30 in epoch {epoch} (checkpoint.npz" in out
    assert f"cnn-numpy train --resume {broken}" in out
    saved = load_checkpoint(broken / "checkpoint.npz")
    assert saved.epoch == epoch - 1 and saved.progress.step == step
    monkeypatch.undo()

    assert main(["train", "--resume", str(broken), "--no-report"]) == 0
    assert f"Resuming {broken} at batch {step + 1} of 30 in epoch {epoch} of 3" in (
        capsys.readouterr().out
    )
    assert_same_run(unbroken, broken)


def test_resume_with_fewer_epochs_than_begun_is_refused(unbroken, tmp_path, monkeypatch, capsys):
    """Stopped in epoch 3 of 3: --epochs 1 or 2 would leave the epoch under way behind."""
    broken = tmp_path / "broken"
    live_callbacks = train_cli.live_callbacks
    monkeypatch.setattr(
        train_cli,
        "live_callbacks",
        lambda page, saver: [*live_callbacks(page, saver), CtrlCAt(3, 17)],  # fmt: skip
    )
    assert main([*FLAGS, "--out", str(broken)]) == 130
    monkeypatch.undo()
    before = {p.name: p.read_bytes() for p in broken.iterdir()}
    capsys.readouterr()
    for epochs in ("1", "2"):
        assert main(["train", "--resume", str(broken), "--epochs", epochs]) == 2
        assert capsys.readouterr().err == (
            f"error: --epochs {epochs} is fewer than the epochs of {broken}: 2 epochs done and "
            "epoch 3 under way (stopped after batch 17); pass --epochs 3 or more\n"
        )
        assert {p.name: p.read_bytes() for p in broken.iterdir()} == before
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "epochs": 1}))  # an older bug's
    assert main(["train", "--resume", str(broken)]) == 1
    assert capsys.readouterr().err == (
        f"error: {broken / 'config.json'} says epochs 1, which is fewer than the epochs of "
        f"{broken}: 2 epochs done and epoch 3 under way (stopped after batch 17); pass "
        "--epochs 3 or more\n"
    )
    assert main(["train", "--resume", str(broken), "--epochs", "3", "--no-report"]) == 0
    assert_same_run(unbroken, broken)


@pytest.mark.skipif(os.name != "posix", reason="sends a real SIGINT")
def test_a_real_ctrl_c_within_an_epoch_resumes_to_the_unbroken_run(tmp_path):
    """A real Ctrl-C, sent to `cnn-numpy train` in a subprocess as soon as epoch 1's line is
    printed (per-sample SGD: 480 steps an epoch, a fraction of a second on a quiet machine, so
    no sleep: it lands while epoch 1 is saved, or early in epoch 2)."""
    command = [sys.executable, "-m", "cnn_numpy", "train", "--epochs", "3", "--filters", "2",
               "--no-report"]  # fmt: skip
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True)
    with subprocess.Popen([*command, "--out", str(broken)], stdout=subprocess.PIPE, text=True) as p:
        for line in p.stdout:
            if line.startswith("Epoch 01"):  # epoch 1 is saving, or epoch 2 has begun:
                p.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
                break
        out = p.stdout.read()
        assert p.wait(timeout=120) == 130
    assert "Traceback" not in out and f"cnn-numpy train --resume {broken}" in out
    saved = load_checkpoint(broken / "checkpoint.npz")
    if saved.progress is not None:  # within an epoch (else: at its end, a race)
        epoch = len(saved.history) + 1  # 2, or 3 on a machine too busy to stop in time
        assert f"after batch {saved.progress.step} of 480 in epoch {epoch}" in out
    resumed = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "train", "--resume", str(broken), "--no-report"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(whole, broken)


def test_a_second_ctrl_c_stops_at_once():
    stop = StopAtBatchEnd()
    with stop.installed():
        os.kill(os.getpid(), signal.SIGINT)  # the first: asks for a stop at the batch's end
        assert stop.requested and not stop.forced
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # the second: at once
    assert stop.forced
    with pytest.raises(KeyboardInterrupt):
        stop.on_batch_end(1, 1, 0.5)


def test_a_log_that_is_not_a_terminal_gets_a_progress_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.0)  # every batch, for the test
    argv = ["train", "--epochs", "1", "--batch-size", "16", "--filters", "2", "--no-report"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "| batch " in line]
    assert len(lines) == 29  # batches 1..29 of 30 (the epoch line tells the 30th)
    assert lines[0].startswith("Epoch 01 | batch 1/30 (3%) | loss=")
    assert main([*argv, "--quiet", "--out", str(tmp_path / "quiet")]) == 0
    assert "| batch " not in capsys.readouterr().out  # --quiet: none


def test_progress_lines_come_every_interval_not_every_batch(monkeypatch, capsys):
    clock = iter([0.0, 10.0, 29.0, 31.0, 45.0, 62.0, 70.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    lines = ProgressLines(every=30.0)
    lines.on_epoch_begin(1, 10)
    for step in range(1, 7):
        lines.on_batch_end(1, step, 1.0 / step)
    monkeypatch.undo()
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[1] for line in out] == ["batch 3/10 (30%)", "batch 5/10 (50%)"]


def test_the_batch_counts_of_a_batchnorm_run_leave_out_the_merged_batch_of_one(
    tmp_path, monkeypatch, capsys
):
    """deep on 97 images at batch 16: five batches of 16 and one of 17 (fit joins the last
    image to the batch before it), so the messages count 6 batches, not 7."""
    run = tmp_path / "deep"
    flags = ["train", "--model", "deep", "--limit", "97", "--batch-size", "16", "--epochs", "1",
             "--no-report", "--out", str(run)]  # fmt: skip
    live_callbacks = train_cli.live_callbacks
    monkeypatch.setattr(
        train_cli,
        "live_callbacks",
        lambda page, saver: [*live_callbacks(page, saver), CtrlCAt(1, 3)],  # fmt: skip
    )
    assert main(flags) == 130
    assert "holds the run after batch 3 of 6 in epoch 1" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-report"]) == 0
    assert f"Resuming {run} at batch 4 of 6 in epoch 1 of 1" in capsys.readouterr().out
