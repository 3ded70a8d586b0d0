"""Faults the user did not cause, and files that are not what they should be: an error line
on stderr naming the path, no traceback, nothing half-written, no empty run folder left.

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

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.cli import main
from cnn_numpy.saving import model_files
from cnn_numpy.saving.checkpoint import load_checkpoint
from cnn_numpy.saving.model_files import load_card

FAST = ["--batch-size", "16", "--filters", "2", "--no-report"]


def disk_full(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def snapshot(folder):
    """``{name: bytes}`` of every file in ``folder``."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-epoch lines run with its report (to copy, never to change)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", "--epochs", "2", "--batch-size", "16", "--filters", "2",
                 "--out", str(run)]) == 0
    return run


@pytest.fixture
def run_copy(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def test_disk_full_after_an_epoch_keeps_the_files_of_the_epoch_before(tmp_path, capsys,
                                                                      monkeypatch):
    run = tmp_path / "run"
    fsync = os.fsync

    def full_after_epoch_1(fd):     # the disk fills up once epoch 1 is saved
        if (run / "history.csv").exists():
            disk_full()
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full_after_epoch_1)
    assert main(["train", "--epochs", "3", *FAST, "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the files of epoch 2 into {run}: No space left "
                          f"on device; {run} holds the run after epoch 1; continue with: "
                          f"cnn-numpy train --resume {run}")
    assert "Traceback" not in err
    assert load_checkpoint(run / "checkpoint.npz").epoch == 1
    assert load_card(run / "model.npz")["epochs"] == 1 and (run / "best.npz").is_file()
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]     # no half files
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-report"]) == 0     # room again: go on
    assert load_checkpoint(run / "checkpoint.npz").epoch == 3


@pytest.mark.parametrize("existing", [False, True])
def test_a_run_that_fails_before_its_first_epoch_leaves_no_run_folder(existing, tmp_path,
                                                                      capsys, monkeypatch):
    run = tmp_path / "new" / "run"
    if existing:
        run.mkdir(parents=True)                       # an empty folder of the user's: it stays
    monkeypatch.setattr(os, "fsync", disk_full)
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write {run / 'config.json'}: No space left on device")
    assert run.is_dir() == existing and (not existing or not [*run.iterdir()])
    assert (tmp_path / "new").exists() == existing


def test_an_error_in_the_first_epoch_removes_the_run_folder_it_made(tmp_path, capsys,
                                                                    monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 12.0 GiB")

    monkeypatch.setattr("cnn_numpy.cli.training.fit", out_of_memory)
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


def test_a_read_only_run_folder_keeps_the_old_report(run_copy, capsys, monkeypatch):
    before = snapshot(run_copy)
    mkstemp = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, run_copy):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert main(["report", str(run_copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the report into {run_copy}: Permission denied")
    assert snapshot(run_copy) == before


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


@pytest.mark.parametrize("damage, named", [
    (lambda run: (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 not a zip"), "checkpoint.npz"),
    (lambda run: (run / "checkpoint.npz").write_bytes(
        (run / "checkpoint.npz").read_bytes()[:-100]), "checkpoint.npz"),
    (lambda run: shutil.copy(run / "model.npz", run / "checkpoint.npz"), "checkpoint.npz"),
    (lambda run: (run / "config.json").write_text("{ not json"), "config.json"),
    (lambda run: (run / "config.json").write_text('{"dataset": "lines", "epochs": -3}'),
     "config.json"),
    (lambda run: (run / "config.json").write_text('["lines"]'), "config.json"),
    (lambda run: (run / "config.json").write_text('{"dataset": "cifar", "epochs": 2}'),
     "config.json"),
    (lambda run: (run / "config.json").write_text('{"dataset": "lines", "epochs": 2, '
                                                  '"optimizer": "adam"}'), "checkpoint.npz"),
])
def test_a_failed_resume_names_the_damaged_file_and_changes_nothing(run_copy, capsys, damage,
                                                                    named):
    damage(run_copy)
    before = snapshot(run_copy)
    assert main(["train", "--resume", str(run_copy), "--epochs", "4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(run_copy / named) in err, err
    assert snapshot(run_copy) == before                 # config.json is not rewritten first


def test_a_failed_resume_for_missing_data_changes_nothing(tmp_path, capsys, monkeypatch):
    from idx_fixtures import fake_files, write_files

    from cnn_numpy.data import datasets

    def no_mirror(filename, *args, **kwargs):
        raise datasets.DownloadError(f"could not download {filename}")

    monkeypatch.setattr(datasets, "download_file", no_mirror)

    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 8))
    run = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "seed",
                 "--epochs", "1", *FAST, "--out", str(run)]) == 0
    shutil.rmtree(data)
    before = snapshot(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 1
    assert capsys.readouterr().err.startswith("error: could not download train-images")
    assert snapshot(run) == before


@pytest.mark.parametrize("damage, named", [
    (lambda run: (run / "history.json").write_text("{ not json"), "history.json"),
    (lambda run: (run / "history.json").write_text('{"epoch": [1, 2]}'), "history.json"),
    (lambda run: (run / "history.json").write_text(
        '{"epoch": [1, 2], "loss": [0.5], "train_acc": [1, 1], "test_acc": [1, 1], '
        '"seconds": [1, 1]}'), "history.json"),
    (lambda run: (run / "config.json").write_bytes(b"\xff\xfe not text"), "config.json"),
    (lambda run: (run / "config.json").write_text('{"dataset": "lines", "seed": -4}'),
     "config.json"),
    (lambda run: (run / "config.json").write_text(
        '{"dataset": "lines", "normalize": {"mean": 0}}'), "config.json"),
    (lambda run: (run / "model.npz").write_bytes(b"junk"), "model.npz"),
])
def test_a_damaged_run_folder_for_report_names_the_file(run_copy, capsys, damage, named):
    damage(run_copy)
    before = snapshot(run_copy)
    assert main(["report", str(run_copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(run_copy / named) in err, err
    assert snapshot(run_copy) == before


def write_with_card(path, with_input_shape: bool = True, **card):
    """A model file whose card says ``card``, written past ``save``'s own check (as a file
    made elsewhere, or edited by hand, would be)."""
    model = cnn.seed_net(2, filters=2, rng=0)
    header = model_files.model_header(model, {"dataset": "lines"})
    header["card"].update(card)
    if with_input_shape:
        header["card"]["input_shape"] = [1, 28, 28]
    model_files.write_npz(path, model.state_dict(), header)
    return path


@pytest.mark.parametrize("card, message", [
    (dict(class_names=["vertical"]), "names 1 classes but the model has 2 outputs"),
    (dict(class_names="vertical,horizontal"), "class_names must be a list of names"),
    (dict(normalize={"mean": 0.1}), "normalize must be {'mean': number, 'std': number > 0}"),
    (dict(normalize={"mean": 0.1, "std": 0}), "normalize must be {'mean': number, 'std'"),
    (dict(normalize="0.1307,0.3081"), "normalize must be {'mean': number, 'std': number > 0}"),
])
def test_a_model_card_that_contradicts_its_model_is_a_clear_error(tmp_path, capsys, card,
                                                                  message):
    path = write_with_card(tmp_path / "model.npz", **card)
    image = tmp_path / "x.png"
    for argv in (["evaluate", str(path)], ["predict", str(path), str(image)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ") and message in err, err


def test_too_few_class_names_on_a_card_without_input_shape(tmp_path, capsys):
    """``load`` cannot count the outputs without an input shape; predict can (1x28x28)."""
    path = write_with_card(tmp_path / "model.npz", with_input_shape=False,
                           class_names=["vertical"])
    assert main(["predict", str(path), str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: the model has 2 outputs but its card names 1 "
                          "classes (vertical)")


def test_show_and_out_into_a_file_are_refused_naming_the_path(finished, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    cases = [
        (["predict", str(finished / "model.npz"), "x.png", "--show", str(a_file / "fig.png")],
         f"cannot write {a_file / 'fig.png'}: {a_file} is a file, not a folder"),
        (["predict", str(finished / "model.npz"), "x.png", "--show", str(tmp_path)],
         f"{tmp_path} is a folder; give a file name"),
        (["train", "--out", str(a_file)], f"{a_file} is a file, not a folder"),
        (["train", "--out", str(a_file / "run")], f"{a_file} is a file, not a folder"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert a_file.read_text() == "mine"


def test_a_killed_worker_is_an_error_line_not_a_traceback(tmp_path, capfd, monkeypatch):
    from cnn_numpy.speed.parallel import DataParallel

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
    assert err.startswith(f"error: DataParallel: worker process {killed[0].pid} exited with "
                          "code -9"), err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not run.exists()                # it failed in its first epoch: no run to keep


def test_ctrl_c_while_the_report_is_drawn(tmp_path, capsys, monkeypatch):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("cnn_numpy.cli.train.write_report", ctrl_c)
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--batch-size", "16", "--filters", "2",
                 "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == (f"Interrupted while drawing the report; the trained run is saved in "
                           f"{run} (draw it with: cnn-numpy report {run})")
    assert (run / "model.npz").is_file() and (run / "history.json").is_file()
    monkeypatch.setattr("cnn_numpy.cli.report.write_report", ctrl_c)
    assert main(["report", str(run)]) == 130
    assert capsys.readouterr().err.strip() == "Interrupted."


@pytest.mark.skipif(os.name != "posix", reason="sends a real SIGINT")
def test_ctrl_c_while_the_data_loads_is_one_line(tmp_path):
    """A real SIGINT to a real process, while MNIST-style files are being read."""
    from idx_fixtures import fake_files, write_files

    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 8))
    script = textwrap.dedent(f"""
        import sys, time
        from cnn_numpy.data import datasets
        def slow_read(*args, **kwargs):
            print("reading", flush=True)
            time.sleep(60)
        datasets.read_split = slow_read
        from cnn_numpy.cli import main
        sys.exit(main(["train", "--dataset", "mnist", "--data-dir", {str(data)!r},
                       "--out", {str(tmp_path / "run")!r}]))
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline() == "reading\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "Interrupted." and "Traceback" not in out + err
    assert not (tmp_path / "run").exists()
