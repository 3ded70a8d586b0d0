"""The terminal's Ctrl-C goes to the whole foreground process group.  DataParallel's workers
run in a session of their own, so it reaches only the main process, which stops them itself:
a worker still starting up (importing NumPy) would otherwise die of it, and the run with it.
A worker still ends when the main process does, however that ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")

#: Runs first in each script: every worker is sent a Ctrl-C the moment it is started, as a
#: terminal sends one to the whole process group (the script leads a group of its own).
CTRL_C_AT_START = """
import os, signal, subprocess, sys

_popen = subprocess.Popen

def popen_then_ctrl_c(command, *args, **kwargs):
    process = _popen(command, *args, **kwargs)
    if "serve()" in str(command):  # a DataParallel worker (not, say, ctypes' ldconfig)
        os.killpg(os.getpgrp(), signal.SIGINT)  # it is still starting up
    return process

subprocess.Popen = popen_then_ctrl_c
"""


def run_script(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CTRL_C_AT_START) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # its Ctrl-C must not reach pytest
    )


def test_a_ctrl_c_to_the_process_group_while_workers_start_does_not_reach_them():
    done = run_script("""
        import numpy as np
        from cnn_numpy import DataParallel, Linear, Sequential

        ctrl_c = []
        signal.signal(signal.SIGINT, lambda *_: ctrl_c.append(1))  # as train's handler
        with DataParallel(Sequential(Linear(3, 2, rng=0)), workers=3) as model:
            out = model.forward(np.ones((6, 3)))
            again = model.forward(np.ones((6, 3)))  # the same workers, alive
            sessions = {os.getsid(w.process.pid) for w in model.pool}
        print("OK", out.shape, len(ctrl_c), os.getsid(0) in sessions, len(sessions))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OK", "(6,", "2)", "2", "False", "2"]
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr


def test_train_interrupted_while_its_workers_start_stops_as_at_any_other_moment(tmp_path):
    run_dir = tmp_path / "run"
    done = run_script(f"""
        from cnn_numpy.tools.cli import main
        sys.exit(main(["train", "--epochs", "1", "--batch-size", "8", "--workers", "2",
                       "--no-report", "--out", {str(run_dir)!r}]))
    """)
    assert done.returncode == 130, done.stdout + done.stderr
    assert "Interrupted." in done.stdout and f"cnn-numpy train --resume {run_dir}" in done.stdout
    assert "Traceback" not in done.stderr and "exited with code" not in done.stderr
    assert "error:" not in done.stderr
    assert "Stopping at the end of this batch" in done.stderr  # the Ctrl-C of train's handler
    assert "after batch 1 of 60" in done.stdout  # it stopped at the batch's end, saved there


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its new parent counts)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_the_workers_end_when_the_main_process_is_killed():
    script = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            import numpy as np
            from cnn_numpy import DataParallel, Linear, Sequential
            model = DataParallel(Sequential(Linear(3, 2, rng=0)), workers=3)
            model.forward(np.ones((6, 3)))
            print(*[w.process.pid for w in model.pool], flush=True)
            time.sleep(120)
        """)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        pids = [int(pid) for pid in script.stdout.readline().split()]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
    finally:
        script.kill()  # SIGKILL: no close(), no finalizer; only the pipes close
        script.wait()
    deadline = time.monotonic() + 30
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in pids)
