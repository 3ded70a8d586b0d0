"""Files that are not what they should be: a damaged checkpoint or config.json on --resume,
a damaged run folder for report, a model card that contradicts its model, an output path
under a file.  Each is an error line naming the file; nothing is changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.run_fixtures import finished_run, snapshot

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving import model_files

FAST = ["--batch-size", "16", "--filters", "2", "--no-report"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run, to copy (never to change)."""
    return finished_run(tmp_path_factory.mktemp("finished"))


@pytest.fixture
def run_copy(finished, tmp_path):
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.mark.parametrize(
    "damage, named",
    [
        (
            lambda run: (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 not a zip"),
            "checkpoint.npz",
        ),
        (
            lambda run: (run / "checkpoint.npz").write_bytes(
                (run / "checkpoint.npz").read_bytes()[:-100]
            ),
            "checkpoint.npz",
        ),
        (lambda run: shutil.copy(run / "model.npz", run / "checkpoint.npz"), "checkpoint.npz"),
        (lambda run: (run / "config.json").write_text("{ not json"), "config.json"),
        (
            lambda run: (run / "config.json").write_text('{"dataset": "lines", "epochs": -3}'),
            "config.json",
        ),
        (lambda run: (run / "config.json").write_text('["lines"]'), "config.json"),
        (
            lambda run: (run / "config.json").write_text(
                '{"dataset": "lines", "epochs": 2, "report": "no"}'
            ),
            "config.json",
        ),
        (
            lambda run: (run / "config.json").write_text('{"dataset": "cifar", "epochs": 2}'),
            "config.json",
        ),
        (
            lambda run: (run / "config.json").write_text(
                '{"dataset": "lines", "epochs": 2, "optimizer": "adam"}'
            ),
            "checkpoint.npz",
        ),
    ],
)
def test_a_failed_resume_names_the_damaged_file_and_changes_nothing(
    run_copy, capsys, damage, named
):
    damage(run_copy)
    before = snapshot(run_copy)
    assert main(["train", "--resume", str(run_copy), "--epochs", "4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(run_copy / named) in err, err
    assert snapshot(run_copy) == before  # config.json is not rewritten first


@pytest.mark.parametrize("content", [b"{ not json", b"\xff\xfe not text"])
def test_a_config_json_that_is_not_json_is_named_damaged_with_the_fix(run_copy, capsys, content):
    (run_copy / "config.json").write_bytes(content)
    assert main(["train", "--resume", str(run_copy), "--epochs", "4"]) == 1
    err = capsys.readouterr().err
    assert f"error: {run_copy / 'config.json'} is damaged: it is not JSON (" in err, err
    assert "put back a good copy" in err and "or train a new run" in err


def test_a_failed_resume_for_missing_data_changes_nothing(tmp_path, capsys, monkeypatch):
    from helpers.idx_fixtures import fake_files, write_files

    from cnn_numpy.data import datasets

    def no_mirror(filename, *args, **kwargs):
        raise datasets.DownloadError(f"could not download {filename}")

    monkeypatch.setattr(datasets, "download_file", no_mirror)

    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 8))
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                "mnist",
                "--data-dir",
                str(data),
                "--model",
                "seed",
                "--epochs",
                "1",
                *FAST,
                "--out",
                str(run),
            ]
        )
        == 0
    )
    shutil.rmtree(data)
    before = snapshot(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 1
    assert capsys.readouterr().err.startswith("error: could not download train-images")
    assert snapshot(run) == before


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda run: (run / "history.json").write_text("{ not json"), "history.json"),
        (lambda run: (run / "history.json").write_text('{"epoch": [1, 2]}'), "history.json"),
        (
            lambda run: (run / "history.json").write_text(
                '{"epoch": [1, 2], "loss": [0.5], "train_acc": [1, 1], "test_acc": [1, 1], '
                '"seconds": [1, 1]}'
            ),
            "history.json",
        ),
        (lambda run: (run / "config.json").write_bytes(b"\xff\xfe not text"), "config.json"),
        (
            lambda run: (run / "config.json").write_text('{"dataset": "lines", "seed": -4}'),
            "config.json",
        ),
        (
            lambda run: (run / "config.json").write_text(
                '{"dataset": "lines", "normalize": {"mean": 0}}'
            ),
            "config.json",
        ),
        (lambda run: (run / "model.npz").write_bytes(b"junk"), "model.npz"),
    ],
)
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


@pytest.mark.parametrize(
    "card, message",
    [
        (dict(class_names=["vertical"]), "names 1 classes but the model has 2 outputs"),
        (dict(class_names="vertical,horizontal"), "class_names must be a list of names"),
        (dict(normalize={"mean": 0.1}), "normalize must be {'mean': number, 'std': number > 0}"),
        (dict(normalize={"mean": 0.1, "std": 0}), "normalize must be {'mean': number, 'std'"),
        (dict(normalize="0.1307,0.3081"), "normalize must be {'mean': number, 'std': number > 0}"),
    ],
)
def test_a_model_card_that_contradicts_its_model_is_a_clear_error(tmp_path, capsys, card, message):
    path = write_with_card(tmp_path / "model.npz", **card)
    image = tmp_path / "x.png"
    for argv in (["evaluate", str(path)], ["predict", str(path), str(image)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ") and message in err, err


def test_too_few_class_names_on_a_card_without_input_shape(tmp_path, capsys):
    """``load`` cannot count the outputs without an input shape; predict can (1x28x28)."""
    path = write_with_card(tmp_path / "model.npz", with_input_shape=False, class_names=["vertical"])
    assert main(["predict", str(path), str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {path}: the model has 2 outputs but its card names 1 classes (vertical)"
    )


def test_show_and_out_into_a_file_are_refused_naming_the_path(finished, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    cases = [
        (
            ["predict", str(finished / "model.npz"), "x.png", "--show", str(a_file / "fig.png")],
            f"cannot write {a_file / 'fig.png'}: {a_file} is a file, not a folder",
        ),
        (
            ["predict", str(finished / "model.npz"), "x.png", "--show", str(tmp_path)],
            f"{tmp_path} is a folder; give a file name",
        ),
        (["train", "--out", str(a_file)], f"{a_file} is a file, not a folder"),
        (["train", "--out", str(a_file / "run")], f"{a_file} is a file, not a folder"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert a_file.read_text() == "mine"
