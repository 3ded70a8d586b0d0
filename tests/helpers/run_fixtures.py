"""A finished run for tests that damage or lock its files, and a way to see that nothing in
a folder changed."""

from __future__ import annotations

from cnn_numpy.tools.cli import main


def snapshot(folder):
    """``{name: bytes}`` of every file in ``folder``."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def finished_run(folder):
    """A finished 2-epoch lines run with its report, in ``folder/run``."""
    run = folder / "run"
    assert (
        main(["train", "--epochs", "2", "--batch-size", "16", "--filters", "2", "--out", str(run)])
        == 0
    )
    return run
