"""keep_freed_memory: training steps without page faults (glibc's malloc keeps freed memory)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt settings are glibc's",
)

# Training steps of the seed net; prints the page faults per step of the last 20 steps.
STEPS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from cnn_numpy import SGD, CrossEntropyLoss, fit, keep_freed_memory, seed_net

    rng = np.random.default_rng(0)
    X, y = rng.random((64, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)
    model, loss = seed_net(num_classes=10, rng=0), CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.01)
    if sys.argv[1] == "fit":
        keep_freed_memory()
        fit(model, loss, opt, (X[:8], y[:8]), epochs=1, batch_size=8, callbacks=[])
    elif sys.argv[1] == "plain-fit":  # no setting of the whole process unless asked for
        fit(model, loss, opt, (X[:8], y[:8]), epochs=1, batch_size=8, callbacks=[])
    elif sys.argv[1] == "call":
        print("applied:", keep_freed_memory(), keep_freed_memory())
    elif sys.argv[1] == "bad-then-good":  # a refused value must not spoil the next call
        for bad in (4096, 0, 1.5, True):
            try:
                keep_freed_memory(bad)
            except ValueError as err:
                print("refused:", err)
        print("applied:", keep_freed_memory(2047))
    for step in range(30):
        if step == 10:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        opt.zero_grad()
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        opt.step()
    print("faults per step:", (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
""")


def run_steps(how: str, **env) -> str:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
    }
    done = subprocess.run(
        [sys.executable, "-c", STEPS, how],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=True,
    )
    return done.stdout


def faults(output: str) -> float:
    return float(output.rsplit("faults per step:", 1)[1])


@glibc
def test_keep_freed_memory_then_fit_takes_no_page_faults():
    assert faults(run_steps("none")) > 20  # glibc hands memory back between steps...
    assert faults(run_steps("fit")) < 5  # ...and keeps it once asked to


@glibc
def test_fit_leaves_malloc_alone_unless_asked():
    assert faults(run_steps("plain-fit")) > 20


@glibc
def test_the_call_says_whether_it_applied():
    out = run_steps("call")
    assert "applied: True True" in out and faults(out) < 5
    # the user's own malloc settings win: nothing is changed then
    assert "applied: False False" in run_steps("call", MALLOC_TRIM_THRESHOLD_="131072")
    assert "applied: False False" in run_steps(
        "call", GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072"
    )


@glibc
def test_trim_mb_must_fit_mallopt_and_a_refused_value_changes_nothing():
    out = run_steps("bad-then-good")
    assert (
        out.count("refused: keep_freed_memory: trim_mb must be a whole number of MB from 1 to 2047")
        == 4
    )
    assert "applied: True" in out and faults(out) < 5
