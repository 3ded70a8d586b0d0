"""``cnn-numpy train --model resnet --augment ... --dataset cifar10``: the runs, what
config.json keeps, a resumed augmented run equal to an unbroken one, and clear errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.cifar_fixtures import write_batches

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli import training as train_cli
from cnn_numpy.tools.saving.model_files import load

LINES = ["train", "--model", "resnet", "--limit", "64", "--batch-size", "16", "--no-report"]


def test_resnet_trains_on_lines_with_an_augmentation(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main([*LINES, "--epochs", "1", "--augment", "rotate-shift", "--out", str(run_dir)]) == 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "resnet" and config["augment"] == "rotate-shift"
    model = load(run_dir / "model.npz")
    assert any(isinstance(layer, cnn.Residual) for layer in model)
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Model:"))
    assert " augment=rotate-shift " in line  # the augmentation in force is on screen


def test_the_model_line_says_nothing_of_no_augmentation(tmp_path, capsys):
    flags = [*LINES, "--epochs", "1", "--augment", "none", "--out", str(tmp_path / "run")]
    assert main(flags) == 0
    out = capsys.readouterr().out
    assert "Model: resnet" in out and " augment=" not in out


def test_the_default_augmentation_is_per_model_and_dataset():
    from cnn_numpy.tools.cli.settings import resolve_defaults

    def resolved(**flags):
        return resolve_defaults(argparse_namespace(**flags)).augment

    assert resolved(dataset="mnist", model="resnet") == "shift"
    assert resolved(dataset="fashion-mnist", model="resnet") == "crop-flip"
    assert resolved(dataset="cifar10") == "crop-flip"
    assert resolved(dataset="mnist") == "none"  # lenet's measured recipe stays as it was
    assert resolved(dataset="fashion-mnist", model="resnet", augment="none") == "none"


def argparse_namespace(**flags):
    import argparse

    return argparse.Namespace(**flags)


def test_flips_are_refused_for_digits(tmp_path, capsys):
    code = main(["train", "--dataset", "mnist", "--augment", "crop-flip", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --augment crop-flip mirrors images")
    assert "a mirrored 2 is not a 2" in err and "Traceback" not in err


def test_an_unknown_augmentation_is_refused_by_the_flag(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--augment", "blur"])
    assert stop.value.code == 2 and "invalid choice: 'blur'" in capsys.readouterr().err


def test_a_damaged_augment_in_config_json_is_named(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main([*LINES, "--epochs", "1", "--augment", "shift", "--out", str(run_dir)]) == 0
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "augment": "blur"}))
    assert main(["train", "--resume", str(run_dir), "--epochs", "2"]) == 1
    assert "augment is 'blur' (not one of none, crop-flip" in capsys.readouterr().err


def test_an_augmented_run_resumed_after_ctrl_c_equals_an_unbroken_one(tmp_path, monkeypatch):
    flags = [*LINES, "--epochs", "2", "--augment", "crop-flip"]
    assert main([*flags, "--out", str(tmp_path / "unbroken")]) == 0
    calls = []

    class CtrlC(cnn.CrossEntropyLoss):
        def forward(self, logits, y):
            calls.append(1)
            if len(calls) == 6:  # the second batch of epoch 2
                raise KeyboardInterrupt
            return super().forward(logits, y)

    monkeypatch.setattr(train_cli, "CrossEntropyLoss", CtrlC)
    assert main([*flags, "--out", str(tmp_path / "broken")]) == 130
    monkeypatch.undo()
    assert main(["train", "--resume", str(tmp_path / "broken"), "--no-report"]) == 0
    a, b = (load(tmp_path / run / "model.npz").state_dict() for run in ("unbroken", "broken"))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_cifar10_trains_from_the_binary_files_with_colour_in_the_report(tmp_path, capsys):
    write_batches(tmp_path / "data", per_batch=8)
    run_dir = tmp_path / "run"
    code = main(
        ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path / "data"), "--epochs", "1",
         "--batch-size", "8", "--out", str(run_dir)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "Data: cifar10, 40 train / 8 test images of 3x32x32" in out
    assert "Model: resnet (2 basic blocks)" in out
    assert (run_dir / "augmentation.png").is_file()
    assert "Augmentation: the training images" in (run_dir / "report.html").read_text()
    card = cnn.load_card(run_dir / "model.npz")
    assert card["input_shape"] == [3, 32, 32] and card["class_names"][0] == "airplane"


def test_cifar10_without_files_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("cnn_numpy.data.cifar10.MIRRORS", ("http://127.0.0.1:9/",))
    code = main(["train", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--out",
                 str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "could not download cifar-10-binary.tar.gz" in err
    assert "Traceback" not in err and not Path(tmp_path / "run").exists()


def test_the_memory_check_counts_the_convs_inside_the_blocks():
    from cnn_numpy.tools.cli.memory_check import per_image_elements

    _, columns = per_image_elements(cnn.resnet(rng=0), (1, 28, 28))
    stem = 1 * 9 * 28 * 28
    stage1 = 16 * 9 * 14 * 14 + 32 * 9 * 14 * 14 + 16 * 14 * 14  # block convs, 1x1 shortcut
    stage2 = 32 * 9 * 7 * 7 + 64 * 9 * 7 * 7 + 32 * 7 * 7
    assert columns == stem + stage1 + stage2


def test_blocks_sets_the_resnets_stages(tmp_path, capsys):
    from cnn_numpy.tools.cli.settings import resolve_defaults

    def blocks(**flags):
        return resolve_defaults(argparse_namespace(**flags)).blocks

    assert blocks(dataset="mnist", model="resnet") == 2
    assert blocks(dataset="fashion-mnist", model="resnet") == 3  # 93.5% needs the third stage
    assert (
        resolve_defaults(argparse_namespace(dataset="fashion-mnist", model="resnet")).epochs == 20
    )
    assert blocks(dataset="cifar10") == 2
    assert blocks(dataset="lines", model="resnet") == 2
    assert blocks(dataset="mnist", model="resnet", blocks=3) == 3
    assert blocks(dataset="mnist") == 1  # the seed net's and lenet's setting, as it was
    run_dir = tmp_path / "run"
    assert main([*LINES, "--epochs", "1", "--blocks", "3", "--out", str(run_dir)]) == 0
    model = load(run_dir / "model.npz")
    assert sum(isinstance(layer, cnn.Residual) for layer in model) == 3
    assert model.output_shape((1, 1, 28, 28)) == (1, 2)
    assert json.loads((run_dir / "config.json").read_text())["blocks"] == 3
    out = capsys.readouterr().out
    assert "Model: resnet (3 basic blocks)" in out
    assert "--blocks 3 is ignored" not in out  # no "flag not used" note: it is used


def test_too_many_resnet_stages_for_the_images_is_a_usage_error(tmp_path, capsys):
    code = main([*LINES, "--blocks", "5", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "5 stages halve a 28x28 image 5 times" in err
    assert "a smaller --blocks" in err and "Traceback" not in err
