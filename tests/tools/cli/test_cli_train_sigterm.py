"""SIGTERM to ``cnn-numpy train`` (``kill``, a job scheduler, a container stopping) while its
worker processes start: the shared-memory files go, the workers too, exit status 143."""

import os
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from cnn_numpy.tools.cli import main
    from cnn_numpy.tools.speed import workers

    started = workers.Worker.__init__

    def start_then_terminated(self, replica, weights, layout):
        started(self, replica, weights, layout)  # its "start" request sent, no reply read
        print(weights.path, self.grads.path, self.process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    workers.Worker.__init__ = start_then_terminated
    sys.exit(main(sys.argv[1:]))
    """
)


def test_sigterm_while_the_workers_start_leaves_no_shared_memory_and_no_worker(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "train", "--dataset", "lines", "--epochs", "1"]
        + ["--workers", "2", "--batch-size", "8", "--no-report", "--quiet"]
        + ["--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr
    weights, grads, pid = done.stdout.split()[:3]
    assert not os.path.exists(weights) and not os.path.exists(grads)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
            break  # dead, not yet reaped by whoever adopted it
        time.sleep(0.05)
    else:
        assert not os.path.exists(f"/proc/{pid}"), "the worker outlived the main process"
