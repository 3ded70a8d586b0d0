"""Run folders and the first hour: --out never overwrites a run by accident, evaluate says
which epoch a best.npz is from and reads only the test split, report knows a run that has
no finished epoch, errors go to stderr, --version."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files

import cnn_numpy as cnn
from cnn_numpy.data import LINES_CLASSES, datasets
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli import training as training_cli
from cnn_numpy.tools.saving.model_files import load_card
from cnn_numpy.tools.saving.run_folder import run_files

FAST = ["--batch-size", "16", "--filters", "2", "--no-report"]


def test_out_a_second_time_refuses_and_says_how_to_go_on(tmp_path, capsys):
    run = tmp_path / "myrun"
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    assert main(["train", "--epochs", "2", *FAST, "--out", str(run)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"error: {run} already holds a run (config.json, ")
    assert f"Continue it with: cnn-numpy train --resume {run}" in err
    assert "pick another folder with --out" in err and "--overwrite" in err
    assert "Data:" not in out  # refused before loading anything
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_overwrite_replaces_the_earlier_run(tmp_path, capsys):
    run = tmp_path / "myrun"
    assert main(["train", "--epochs", "2", *FAST, "--out", str(run)]) == 0
    (run / "filters_layer3.png").write_bytes(b"a picture of the old run")
    (run / "notes.txt").write_text("mine")
    assert (
        main(["train", "--epochs", "1", *FAST, "--seed", "5", "--overwrite", "--out", str(run)])
        == 0
    )
    assert json.loads((run / "history.json").read_text())["epoch"] == [1]
    assert json.loads((run / "config.json").read_text())["seed"] == 5
    assert load_card(run / "best.npz")["seed"] == 5
    assert not (run / "filters_layer3.png").exists()  # the old run's files are gone
    assert (run / "notes.txt").read_text() == "mine"  # the user's are not


def test_overwrite_of_a_run_it_cannot_remove_says_so(tmp_path, capsys, monkeypatch):
    """A run folder whose files cannot be removed (read-only, immutable): the error names
    what failed (was: the bare '[Errno 1] Operation not permitted: .../config.json')."""
    run = tmp_path / "myrun"
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 0
    capsys.readouterr()

    def refuse(run_dir):
        raise PermissionError(1, "Operation not permitted", str(run_dir / "config.json"))

    monkeypatch.setattr("cnn_numpy.tools.cli.run_dir.set_aside_run", refuse)
    assert main(["train", "--epochs", "1", *FAST, "--overwrite", "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot replace the run in {run}: Operation not permitted")
    assert "Errno" not in err and "Traceback" not in err


def test_overwrite_keeps_the_old_run_when_the_new_one_fails_before_an_epoch(tmp_path, capsys):
    """--overwrite --live on a port in use: the new run fails before its first epoch, and the
    old run is still there, byte for byte (was: removed first, the folder left empty)."""
    run = tmp_path / "myrun"
    assert main(["train", "--epochs", "1", *FAST, "--out", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = ["train", *FAST, "--overwrite", "--out", str(run), "--live", "--port", port]
        assert main([*argv, "--no-browser"]) == 1
    assert "is already in use" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_overwrite_removes_every_file_a_run_writes(tmp_path):
    """Every file of a run with all the optional pictures (deeper filters, monitor,
    augmentation, mistakes' saliency) is a run file, so --overwrite leaves none behind."""
    run = tmp_path / "myrun"
    everything = ["--blocks", "2", "--monitor", "--augment", "shift"]
    assert main(["train", "--epochs", "1", *FAST[:-1], *everything, "--out", str(run)]) == 0
    written = {p.name for p in run.iterdir()}
    assert {"mistakes_saliency.png", "augmentation.png", "filters_layer3.png"} <= written
    assert {p.name for p in run_files(run)} == written
    assert main(["train", "--epochs", "1", *FAST, "--overwrite", "--out", str(run)]) == 0
    assert {p.name for p in run.iterdir()} == {
        "config.json",
        "history.json",
        "history.csv",
        "model.npz",
        "best.npz",
        "checkpoint.npz",
    }


def test_an_empty_out_folder_is_used(tmp_path):
    assert main(["train", "--epochs", "1", *FAST, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "checkpoint.npz").is_file()


@pytest.fixture(scope="module")
def five_epochs(tmp_path_factory):
    run = tmp_path_factory.mktemp("best") / "run"
    assert main(["train", "--epochs", "5", *FAST, "--out", str(run)]) == 0
    return run


def test_evaluate_says_at_which_epoch_of_how_many_the_best_model_was_taken(five_epochs, capsys):
    history = json.loads((five_epochs / "history.json").read_text())
    best = 1 + history["test_acc"].index(max(history["test_acc"]))  # ties: the earliest
    capsys.readouterr()
    assert main(["evaluate", str(five_epochs / "best.npz")]) == 0
    assert (
        f"(trained on lines; the best epoch by test accuracy: epoch {best} of a 5-epoch run)"
    ) in capsys.readouterr().out
    assert main(["evaluate", str(five_epochs / "model.npz")]) == 0
    assert "(trained on lines for 5 epochs)" in capsys.readouterr().out


def test_a_resumed_run_that_trains_on_updates_the_best_models_total(five_epochs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(five_epochs, run)
    card = load_card(run / "best.npz")
    assert main(["train", "--resume", str(run), "--epochs", "6", "--no-report"]) == 0
    history = json.loads((run / "history.json").read_text())
    best = load_card(run / "best.npz")
    assert best["total_epochs"] == 6 and best["saved_as"] == "best"
    assert best["epochs"] == 1 + history["test_acc"].index(max(history["test_acc"]))
    if best["epochs"] <= 5:  # the same weights as before
        assert best["test_acc"] == card["test_acc"]


REPORT_FILES = ("report.html", "curves.png", "confusion_matrix.png", "mistakes.png")


def test_a_resumed_run_keeps_its_no_report(five_epochs, tmp_path, capsys):
    """A run started with --no-report draws no report when resumed (its config.json keeps
    the choice); --report on resume overrides it, as --epochs and --quiet do."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(five_epochs, run)
    assert main(["train", "--resume", str(run), "--epochs", "6"]) == 0
    assert len(json.loads((run / "history.json").read_text())["test_acc"]) == 6  # it trained
    assert json.loads((run / "config.json").read_text())["report"] is False
    assert not [name for name in REPORT_FILES if (run / name).exists()]
    assert "report.html" not in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--epochs", "7", "--report"]) == 0
    assert all((run / name).is_file() for name in REPORT_FILES)


def test_a_resumed_run_keeps_its_report_unless_no_report_is_given(tmp_path):
    """A run with a report draws it again when resumed; --no-report on resume skips it, and
    config.json then says so for the next resume (as --epochs writes the new total)."""
    run = tmp_path / "run"
    argv = ["--batch-size", "16", "--filters", "2", "--limit", "64", "--out", str(run)]
    assert main(["train", "--epochs", "1", *argv]) == 0
    (run / "report.html").unlink()
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert (run / "report.html").is_file()
    (run / "report.html").unlink()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-report"]) == 0
    assert not (run / "report.html").exists()
    assert json.loads((run / "config.json").read_text())["report"] is False


def test_resume_with_fewer_epochs_than_done_is_a_usage_error(five_epochs, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(five_epochs, run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 2
    out, err = capsys.readouterr()
    assert err == (
        f"error: --epochs 3 is fewer than the epochs of {run}: 5 epochs done; pass --epochs 5 "
        "or more (--epochs 5 ends the run where it is)\n"
    )
    assert "Resuming" not in out
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # config.json too
    assert main(["train", "--resume", str(run), "--epochs", "5", "--no-report"]) == 0
    assert (
        "No epoch left to train (all 5 epochs are done): the run's ending is done again"
        in capsys.readouterr().out
    )
    assert json.loads((run / "config.json").read_text())["epochs"] == 5


def test_evaluate_of_an_old_model_file_without_the_new_card_fields(tmp_path, capsys):
    path = cnn.save(
        cnn.seed_net(2, rng=0),
        tmp_path / "old.npz",
        dataset="lines",
        epochs=1,
        input_shape=[1, 28, 28],
        class_names=list(LINES_CLASSES),
    )
    assert main(["evaluate", str(path)]) == 0
    assert "(trained on lines for 1 epoch)" in capsys.readouterr().out


def test_evaluate_reads_only_the_test_split(tmp_path, capsys, monkeypatch):
    folder = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 20, 12))
    for stem in datasets.SPLITS["train"]:
        (folder / f"{stem}.gz").unlink()  # no training files at all

    def no_download(filename, *args, **kwargs):
        pytest.fail(f"evaluate tried to download {filename}")

    monkeypatch.setattr(datasets, "download_file", no_download)
    model = cnn.lenet(10, rng=0)
    path = cnn.save(
        model,
        tmp_path / "model.npz",
        dataset="mnist",
        input_shape=[1, 28, 28],
        normalize={"mean": 0.5, "std": 0.25},
        class_names=list(cnn.MNIST_CLASSES),
    )
    assert main(["evaluate", str(path), "--data-dir", str(folder)]) == 0
    assert "test set: mnist, 12 images" in capsys.readouterr().out
    (test,) = datasets.load_dataset("mnist", folder, download=False, splits=("test",))
    assert len(test[0]) == 12
    with pytest.raises(FileNotFoundError, match="missing train-images"):
        datasets.load_dataset("mnist", folder, download=False)  # the default: both splits
    with pytest.raises(ValueError, match="splits must name some of train, test"):
        datasets.load_dataset("mnist", folder, splits=("validation",))


def test_report_on_a_run_stopped_in_its_first_epoch(tmp_path, capsys, monkeypatch):
    calls = []

    class CtrlC(cnn.CrossEntropyLoss):
        def forward(self, logits, y):
            calls.append(1)
            if len(calls) == 3:  # a Ctrl-C during batch 3: it stops when the batch ends
                os.kill(os.getpid(), signal.SIGINT)
            return super().forward(logits, y)

    monkeypatch.setattr(training_cli, "CrossEntropyLoss", CtrlC)
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", *FAST, "--out", str(run)]) == 130
    assert "holds the run after batch 3 of" in capsys.readouterr().out  # within epoch 1
    assert main(["report", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run} has no finished epoch yet")
    assert f"Continue it with: cnn-numpy train --resume {run}" in err
    assert "is it a run folder" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "missing.npz"],
        ["predict", "missing.npz", "x.png"],
        ["report", "missing-run"],
        ["train", "--resume", "missing-run"],
        ["train", "--blocks", "4", "--no-report"],
        ["gradcheck", "--model", "deep", "--batch-size", "1"],
        ["export", "missing.npz", "out.onnx"],
    ],
)
def test_errors_go_to_stderr_and_never_to_stdout(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) in (1, 2)
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("error:") == 1
    assert "error:" not in out and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_version_and_a_subprocess_error_line():
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"cnn-numpy {cnn.__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "evaluate", "nowhere.npz"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "error: no such model file: nowhere.npz\n"


def test_the_report_is_drawn_without_the_training_images(tmp_path, capsys, monkeypatch):
    """After the novelty check, train lets go of the training split (MNIST: 188 MB), so the
    report's pictures never add to a memory peak that holds it (benchmarks/first_run.py)."""
    seen, drawn = [], []

    def report(run_dir, model, test, classes):
        seen.extend([drawn[0].train, test])
        return run_dir / "report.html"

    monkeypatch.setattr("cnn_numpy.tools.cli.train.write_report", report)
    real_draw = cnn.tools.cli.train.draw_report

    def draw(run_dir, training, data, augment):
        drawn.append(data)
        return real_draw(run_dir, training, data, augment)

    monkeypatch.setattr("cnn_numpy.tools.cli.train.draw_report", draw)
    run = tmp_path / "run"
    flags = ["--epochs", "1", "--batch-size", "16", "--filters", "2", "--augment", "shift"]
    assert main(["train", *flags, "--out", str(run)]) == 0
    assert seen[0] is None  # no training split any more
    assert seen[1][0].shape[1:] == (1, 28, 28) and len(seen[1][0]) == len(seen[1][1]) > 0
    assert (run / "augmentation.png").is_file()  # drawn from it before
    assert load_card(run / "model.npz")["input_shape"] == [1, 28, 28]
