"""``cnn-numpy train``: the seed's experiment, its output format and its flags."""

import re
import subprocess
import sys

import pytest

from cnn_numpy.tools.cli import main

EPOCH_LINE = re.compile(
    r"^Epoch (\d\d) \| loss=(\d+\.\d{4}) \| train_acc=(\d\.\d{3}) \| test_acc=(\d\.\d{3})$"
)


def epoch_lines(text):
    return [m.groups() for m in map(EPOCH_LINE.match, text.splitlines()) if m]


def test_default_train_runs_the_seed_experiment(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    lines = epoch_lines(out)
    assert [int(e) for e, *_ in lines] == [1, 2, 3, 4, 5]
    assert float(lines[-1][3]) >= 0.95
    assert "480 train / 120 test" in out
    assert (tmp_path / "runs").is_dir()  # the run folder goes under ./runs/


def test_same_seed_same_output_and_flags(tmp_path, capsys):
    args = [
        "train",
        "--epochs",
        "2",
        "--filters",
        "4",
        "--lr",
        "0.02",
        "--batch-size",
        "4",
        "--noise",
        "0.15",
        "--seed",
        "3",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.5",
        "--weight-decay",
        "1e-4",
        "--blocks",
        "2",
    ]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    first = epoch_lines(capsys.readouterr().out)
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    second = epoch_lines(capsys.readouterr().out)
    assert len(first) == 2 and first == second
    assert (tmp_path / "a" / "config.json").exists() and (tmp_path / "a" / "history.csv").exists()


def test_adam_option(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--epochs",
                "1",
                "--optimizer",
                "adam",
                "--lr",
                "0.001",
                "--batch-size",
                "16",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert len(epoch_lines(capsys.readouterr().out)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        ["train", "--epochs", "0"],
        ["train", "--epochs", "two"],
        ["train", "--lr", "-1"],
        ["train", "--optimizer", "rmsprop"],
        ["train", "--batch-size", "0"],
        ["nonsense"],
        ["train", "--schedule", "step", "--gamma", "0"],
        ["evaluate", "m.npz", "--limit", "0"],
        ["predict", "m.npz", "x.png", "--top", "0"],
    ],
)
def test_bad_arguments_give_argparse_errors_not_tracebacks(bad):
    proc = subprocess.run([sys.executable, "-m", "cnn_numpy", *bad], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "--help" in proc.stderr.splitlines()[-1]


def test_python_dash_m_prints_help():
    proc = subprocess.run([sys.executable, "-m", "cnn_numpy"], capture_output=True, text=True)
    assert proc.returncode == 0 and "train" in proc.stdout


def test_a_net_that_does_not_fit_is_an_error_message(tmp_path, capsys):
    assert main(["train", "--blocks", "4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "4 blocks" in err and "use 3 blocks at most" in err and "Traceback" not in err
    assert "(--blocks 3 at most for 28x28 images)" in err  # how many fewer


def test_too_many_resnet_blocks_name_the_most_that_fit(tmp_path, capsys):
    assert main(["train", "--model", "resnet", "--blocks", "8", "--out", str(tmp_path)]) == 2
    assert "(--blocks 4 at most for 28x28 images)" in capsys.readouterr().err
    assert main(["train", "--model", "resnet", "--blocks", "4", "--epochs", "1", "--limit", "16",
                 "--batch-size", "8", "--no-report", "--out", str(tmp_path / "r")]) == 0  # fmt: skip
