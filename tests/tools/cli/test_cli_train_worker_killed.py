"""A worker process of ``cnn-numpy train`` killed mid-epoch (``kill -9``, the out-of-memory
killer): the error names it, the run is saved at the last batch's end as at a Ctrl-C, and
``--resume`` ends where an uninterrupted run does."""

import subprocess
import sys

import numpy as np

# kills the worker just before the third batch's forward pass of the first epoch
SCRIPT = """
import os, signal, sys
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.speed import workers

send_input, calls = workers.Worker.send_input, []

def killed_at_the_third(self, *args):
    calls.append(1)
    if len(calls) == 3:
        self.process.kill()
        self.process.wait()
    send_input(self, *args)

workers.Worker.send_input = killed_at_the_third
sys.exit(main(sys.argv[1:]))
"""

FLAGS = ["--dataset", "lines", "--epochs", "2", "--workers", "2", "--batch-size", "8"]
FLAGS += ["--no-report", "--quiet", "--novelty-reader", "none"]


def train(*args, script=None):
    command = ["-c", script] if script else ["-m", "cnn_numpy"]
    return subprocess.run(
        [sys.executable, *command, *args], capture_output=True, text=True, timeout=300
    )


def test_a_worker_killed_mid_epoch_saves_the_run_there_and_resume_finishes_it(tmp_path):
    run, whole = tmp_path / "run", tmp_path / "whole"
    done = train("train", *FLAGS, "--out", str(run), script=SCRIPT)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "error: DataParallel: worker process" in done.stderr
    assert "was killed by SIGKILL" in done.stderr
    assert "holds the run after batch 2 of" in done.stderr
    assert f"cnn-numpy train --resume {run}" in done.stderr
    resumed = train("train", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert train("train", *FLAGS, "--out", str(whole)).returncode == 0
    ours, theirs = np.load(run / "model.npz"), np.load(whole / "model.npz")
    for name in theirs.files:
        if theirs[name].dtype.kind == "f":
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-7)
