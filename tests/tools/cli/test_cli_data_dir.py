"""Where a run's data is found again: train stores the folder it read the files from as an
absolute path (config.json and the model card), so ``--resume`` works from any folder;
``--resume DIR --data-dir X`` (or ``$CNN_NUMPY_DATA``) points a run at data that moved;
evaluate and attack look where train does (``--data-dir``, ``$CNN_NUMPY_DATA``, ./data),
then in the card's folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files

from cnn_numpy.data.datasets import ENV_VAR
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving.model_files import load_card

TRAIN = ["train", "--dataset", "mnist", "--model", "seed", "--filters", "2", "--epochs", "1",
         "--batch-size", "16", "--novelty-reader", "none", "--no-report", "--quiet"]  # fmt: skip


def mnist_files(folder, n_test=20, seed=0):
    return write_files(folder, fake_files(np.random.default_rng(seed), 64, n_test))


def move(folder, to):
    """The data moved: the same files elsewhere (written again: the fixtures' checksums are
    marked as checked per path)."""
    shutil.rmtree(folder)
    mnist_files(to)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A run trained in tmp_path/project with ``--data-dir dd/mv`` (relative), and a folder
    elsewhere to work from."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    project = tmp_path / "project"
    mnist_files(project / "dd" / "mv")
    monkeypatch.chdir(project)
    assert main([*TRAIN, "--data-dir", "dd/mv", "--out", "runs/mv"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return project, elsewhere


def test_the_data_folder_is_stored_absolute(project):
    root, _ = project
    folder = str(root / "dd" / "mv")
    assert json.loads((root / "runs/mv/config.json").read_text())["data_dir"] == folder
    for name in ("model.npz", "best.npz"):
        assert load_card(root / "runs/mv" / name)["settings"]["data_dir"] == folder


def test_resume_from_another_folder_finds_the_data(project, monkeypatch, capsys):
    root, elsewhere = project
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["train", "--resume", str(root / "runs/mv"), "--epochs", "2", "--quiet"]) == 0
    assert "Epoch 02 |" in capsys.readouterr().out
    assert list(elsewhere.iterdir()) == []  # no data/ made, nothing downloaded


def test_resume_data_dir_points_the_run_at_its_moved_data(project, monkeypatch, capsys):
    root, elsewhere = project
    move(root / "dd" / "mv", root / "dd" / "moved")
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    run = str(root / "runs/mv")
    assert (
        main(["train", "--resume", run, "--epochs", "2", "--data-dir", "../project/dd/moved"]) == 0
    )
    out = capsys.readouterr().out
    assert "ignored" not in out and "Epoch 02 |" in out
    config = json.loads((root / "runs/mv/config.json").read_text())
    assert config["data_dir"] == str(root / "dd" / "moved") and config["epochs"] == 2


def test_resume_uses_cnn_numpy_data_when_the_stored_folder_lacks_the_files(
    project, monkeypatch, capsys
):
    root, elsewhere = project
    move(root / "dd" / "mv", root / "dd" / "mnist")
    monkeypatch.setenv(ENV_VAR, str(root / "dd"))  # a parent holding mnist/
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["train", "--resume", str(root / "runs/mv"), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert (
        f"note: the run's data folder {root / 'dd' / 'mv'} lacks the mnist files; looking in "
        f"{ENV_VAR} ({root / 'dd'}) instead"
    ) in out
    assert "Epoch 02 |" in out
    config = json.loads((root / "runs/mv/config.json").read_text())
    assert config["data_dir"] == str(root / "dd" / "mnist")


def test_an_old_run_with_a_relative_folder_resumes_from_its_own_folder(project, capsys):
    root, _ = project
    path = root / "runs/mv/config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "data_dir": "dd/mv"}))
    assert main(["train", "--resume", "runs/mv", "--epochs", "2"]) == 0
    assert "Epoch 02 |" in capsys.readouterr().out


def test_evaluate_and_attack_look_where_train_does_then_in_the_cards_folder(
    project, monkeypatch, capsys
):
    root, elsewhere = project
    model = str(root / "runs/mv/best.npz")
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", model]) == 0  # nothing here: the card's folder
    assert "test set: mnist, 20 images" in capsys.readouterr().out
    mnist_files(elsewhere / "data" / "mnist", n_test=12, seed=1)  # ./data
    assert main(["evaluate", model]) == 0
    assert "test set: mnist, 12 images" in capsys.readouterr().out
    mnist_files(elsewhere / "env" / "mnist", n_test=8, seed=2)  # $CNN_NUMPY_DATA
    monkeypatch.setenv(ENV_VAR, str(elsewhere / "env"))
    assert main(["evaluate", model]) == 0
    assert "test set: mnist, 8 images" in capsys.readouterr().out
    mnist_files(elsewhere / "flag", n_test=6, seed=3)  # --data-dir
    assert main(["evaluate", model, "--data-dir", "flag"]) == 0
    assert "test set: mnist, 6 images" in capsys.readouterr().out
    assert main(["attack", model, "--eps", "0.1", "--out", "attack"]) == 0
    assert "FGSM on 8 mnist test images" in capsys.readouterr().out
    monkeypatch.setenv(ENV_VAR, str(elsewhere / "empty"))  # set, but without the files
    assert main(["attack", model, "--eps", "0.1", "--out", "attack"]) == 0
    assert "FGSM on 20 mnist test images" in capsys.readouterr().out
