"""Faults the user did not cause (disk full, permission denied, a dead worker, Ctrl-C at any
moment): an error line on stderr naming the path, no traceback, nothing half-written, no
empty run folder left.  Damaged files: test_cli_damaged_files.py.

Tests run as root, where permissions cannot fail: disk full and permission denied are
simulated by patching ``os.fsync``, ``tempfile.mkstemp``, ``os.mkdir`` or ``open``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.run_fixtures import finished_run, snapshot

from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving import model_files
from cnn_numpy.tools.saving.checkpoint import load_checkpoint
from cnn_numpy.tools.saving.model_files import load_card

FAST = ["--batch-size", "16", "--filters", "2", "--no-report"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run, to copy (never to change)."""
    return finished_run(tmp_path_factory.mktemp("finished"))


@pytest.fixture
def run_copy(finished, tmp_path):
    return Path(shutil.copytree(finished, tmp_path / "run"))


def disk_full(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_after_an_epoch_keeps_the_files_of_the_epoch_before(
    tmp_path, capsys, monkeypatch
):
    run = tmp_path / "run"
    fsync = os.fsync

    def full_after_epoch_1(fd):  # the disk fills up once epoch 1 is saved
        if (run / "history.csv").exists():
            disk_full()
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full_after_epoch_1)
    assert main(["train", "--epochs", "3", *FAST, "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: cannot write the files of epoch 2 into {run}: No space left "
        f"on device; {run} holds the run after epoch 1; continue with: "
        f"cnn-numpy train --resume {run}"
    )
    assert "Traceback" not in err
    assert load_checkpoint(run / "checkpoint.npz").epoch == 1
    assert load_card(run / "model.npz")["epochs"] == 1 and (run / "best.npz").is_file()
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]  # no half files
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-report"]) == 0  # room again: go on
    assert load_checkpoint(run / "checkpoint.npz").epoch == 3


@pytest.mark.parametrize("existing", [False, True])
def test_a_run_that_fails_before_its_first_epoch_leaves_no_run_folder(
    existing, tmp_path, capsys, monkeypatch
):
    run = tmp_path / "new" / "run"
    if existing:
        run.mkdir(parents=True)  # an empty folder of the user's: it stays
    monkeypatch.setattr(os, "fsync", disk_full)
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write {run / 'config.json'}: No space left on device")
    assert run.is_dir() == existing and (not existing or not [*run.iterdir()])
    assert (tmp_path / "new").exists() == existing


def test_an_error_in_the_first_epoch_removes_the_run_folder_it_made(tmp_path, capsys, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 12.0 GiB")

    monkeypatch.setattr("cnn_numpy.tools.cli.training.fit", out_of_memory)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", *FAST]) == 1
    assert "error: not enough memory (Unable to allocate" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_permission_denied_for_the_run_folder(tmp_path, capsys, monkeypatch):
    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(os, "mkdir", denied)
    run = tmp_path / "locked" / "run"
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot create the run folder {run}: Permission denied")


def make_read_only(folder, monkeypatch) -> None:
    """No file can be made in ``folder`` (tests run as root, where chmod does not stop
    writes): its temporary files, which every atomic write starts with, are refused."""
    mkstemp = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, folder):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)


def test_a_read_only_run_folder_keeps_the_old_report(run_copy, capsys, monkeypatch):
    before = snapshot(run_copy)
    make_read_only(run_copy, monkeypatch)
    assert main(["report", str(run_copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the report into {run_copy}: Permission denied")
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("command", ["attack", "diagnose"])
def test_a_read_only_out_folder_is_refused_before_the_work(
    finished, tmp_path, capsys, monkeypatch, command
):
    """attack and diagnose say that --out cannot be written before they attack or run the
    checks (was: after the whole attack, minutes of PGD on the full test set)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    make_read_only(locked, monkeypatch)
    out = locked / "new"
    argv = {
        "attack": ["attack", str(finished / "model.npz"), "--limit", "8", "--out", str(out)],
        "diagnose": ["diagnose", "--checks", "labels", "--out", str(out)],
    }[command]
    assert main(argv) == 1
    printed, err = capsys.readouterr()
    assert err == f"error: cannot write into {out}: Permission denied\n"
    assert "accuracy" not in printed and "status" not in printed  # no table: nothing ran
    assert list(locked.iterdir()) == []


def test_an_unreadable_model_is_named(finished, capsys, monkeypatch):
    path = finished / "model.npz"

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(model_files, "open", denied, raising=False)
    for argv in (["evaluate", str(path)], ["predict", str(path), "x.png"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and str(path) in err and "Permission denied" in err


def test_a_killed_worker_is_an_error_line_not_a_traceback(tmp_path, capfd, monkeypatch):
    from cnn_numpy.tools.speed.parallel import DataParallel

    forward, calls, killed = DataParallel.forward, [], []

    def kill_a_worker_at_step_3(self, x):
        calls.append(1)
        if len(calls) == 3:
            worker = self.pool[0].process
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed.append(worker)
        return forward(self, x)

    monkeypatch.setattr(DataParallel, "forward", kill_a_worker_at_step_3)
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", *FAST, "--workers", "2", "--out", str(run)]) == 1
    err = capfd.readouterr().err
    assert err.startswith(
        f"error: DataParallel: worker process {killed[0].pid} was killed by SIGKILL"
    ), err
    assert "Traceback" not in err and err.count("\n") == 2
    # saved at the end of batch 2, as a Ctrl-C there would have: resumable
    assert f"{run} holds the run after batch 2 of" in err
    assert (run / "checkpoint.npz").is_file() and not (run / "history.json").exists()


def test_ctrl_c_while_the_report_is_drawn(tmp_path, capsys, monkeypatch):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("cnn_numpy.tools.cli.train.write_report", ctrl_c)
    run = tmp_path / "run"
    assert (
        main(["train", "--epochs", "1", "--batch-size", "16", "--filters", "2", "--out", str(run)])
        == 130
    )
    err = capsys.readouterr().err
    assert err.strip() == (
        f"Interrupted while drawing the report; the trained run is saved in "
        f"{run} (draw it with: cnn-numpy report {run})"
    )
    assert (run / "model.npz").is_file() and (run / "history.json").is_file()
    monkeypatch.setattr("cnn_numpy.tools.cli.report.write_report", ctrl_c)
    assert main(["report", str(run)]) == 130
    assert capsys.readouterr().err.strip() == "Interrupted."


@pytest.mark.skipif(os.name != "posix", reason="sends a real SIGINT")
def test_ctrl_c_while_the_data_loads_is_one_line(tmp_path):
    """A real SIGINT to a real process, while MNIST-style files are being read."""
    from helpers.idx_fixtures import fake_files, write_files

    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 8))
    script = textwrap.dedent(f"""
        import sys, time
        from cnn_numpy.data import datasets
        def slow_read(*args, **kwargs):
            print("reading", flush=True)
            time.sleep(60)
        datasets.read_split = slow_read
        from cnn_numpy.tools.cli import main
        sys.exit(main(["train", "--dataset", "mnist", "--data-dir", {str(data)!r},
                       "--out", {str(tmp_path / "run")!r}]))
    """)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout.readline() == "reading\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "Interrupted." and "Traceback" not in out + err
    assert not (tmp_path / "run").exists()
