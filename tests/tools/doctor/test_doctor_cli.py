"""``cnn-numpy diagnose`` (exit 0 when all is well, 1 on problems; its table, pictures and
page) and ``cnn-numpy train --monitor`` (monitor.json, the report's sections, the GIF, resume)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers.idx_fixtures import encode_idx, write_files
from PIL import Image

from cnn_numpy.tools.cli import build_parser, main
from cnn_numpy.tools.cli.diagnose import TRAIN_FLAGS
from cnn_numpy.tools.doctor import CHECKS

PICTURES = ["activations.png", "dead_units.png", "lr_curve.png", "update_ratios.png"]


def test_the_default_setup_is_healthy(tmp_path, capsys):
    assert main(["diagnose", "--out", str(tmp_path / "d")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "Data: lines" in out and "Diagnosing: seed | optimizer=sgd lr=0.01" in out
    assert out.count("  ok  ") == len(CHECKS) and "All 9 checks ok" in out
    assert f"page: {tmp_path / 'd' / 'diagnosis.html'}" in out and captured.err == ""
    assert sorted(p.name for p in (tmp_path / "d").glob("*.png")) == PICTURES
    saved = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert [f["status"] for f in saved["findings"]] == ["ok"] * len(CHECKS)


@pytest.mark.parametrize("seed", ["0", "2"])
def test_a_healthy_lenet_on_the_lines_has_no_dead_relu_warning(tmp_path, capsys, seed):
    """At initialisation LeNet leaves some of its Linear(1568, 128)'s units off on every line
    image (the lines have few features; 3-10% over seeds 0-2): normal, and no warning."""
    argv = ["diagnose", "--model", "lenet", "--checks", "dead_relu", "--seed", seed]
    assert main([*argv, "--out", str(tmp_path / "d")]) == 0
    assert re.search(r"dead_relu +ok +Units never active", capsys.readouterr().out)
    finding = json.loads((tmp_path / "d" / "diagnosis.json").read_text())["findings"][0]
    linear = finding["data"]["layers"][-1]
    assert linear["label"] == "8: ReLU" and 0.02 <= linear["fraction"] <= 0.2  # as measured


def test_a_learning_rate_far_too_high_exits_1(tmp_path, capsys):
    code = main(
        [
            "diagnose",
            "--lr",
            "10",
            "--batch-size",
            "8",
            "--checks",
            "lr,update_ratio",
            "--out",
            str(tmp_path / "d"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1 and captured.err == ""
    rows = {
        line.split()[0]: line.split()[1]
        for line in captured.out.splitlines()
        if line.split()[:1] in (["lr"], ["update_ratio"])
    }
    assert rows == {"lr": "FAIL", "update_ratio": "FAIL"}
    assert "2 checks: 2 failed" in captured.out
    saved = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert "Try: lr=" in saved["findings"][1]["message"]
    page = (tmp_path / "d" / "diagnosis.html").read_text()
    assert page.count('<td class="fail">FAIL</td>') == 2


def test_one_class_of_real_format_data_exits_1(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    files = {
        "train-images-idx3-ubyte": encode_idx(images),
        "train-labels-idx1-ubyte": encode_idx(np.full(30, 3, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": encode_idx(images[:5]),
        "t10k-labels-idx1-ubyte": encode_idx(np.full(5, 3, dtype=np.uint8)),
    }
    write_files(tmp_path / "digits", files)
    code = main(
        [
            "diagnose",
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path / "digits"),
            "--model",
            "seed",
            "--checks",
            "labels,input_scale",
            "--out",
            str(tmp_path / "d"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Data: mnist, 30 train" in out and "standardised" in out
    assert "All 30 labels are class 3" in out
    assert re.search(r"^input_scale +ok ", out, re.M)  # the CLI standardises, as train does


def test_diagnose_takes_the_same_flags_as_train():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    flags = {}
    for command in ("train", "diagnose"):
        flags[command] = {
            a.dest: (a.option_strings, a.type, a.choices, a.help)
            for a in sub[command]._actions
            if a.dest in TRAIN_FLAGS
        }
    assert flags["diagnose"] == flags["train"] and len(flags["train"]) == len(TRAIN_FLAGS)
    args = parser.parse_args(
        [
            "diagnose",
            "--dataset",
            "mnist",
            "--lr",
            "0.1",
            "--optimizer",
            "sgd",
            "--momentum",
            "0.9",
            "--checks",
            "lr,labels",
        ]
    )
    assert (args.dataset, args.lr, args.checks) == ("mnist", 0.1, ["lr", "labels"])


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--checks", "lr,vibes"], "unknown check(s) vibes"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "3"], "unrecognized arguments: --epochs"),
    ],
)
def test_bad_flags_are_usage_errors(bad, message):
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "diagnose", *bad], capture_output=True, text=True
    )
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_a_net_that_does_not_fit_is_an_error_message(tmp_path, capsys):
    assert main(["diagnose", "--blocks", "8", "--out", str(tmp_path / "d")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: seed_net: 8 blocks") and "Traceback" not in captured.err
    assert not (tmp_path / "d").exists()


def gif_frames(path) -> int:
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "GIF"
    return image.n_frames


def test_train_monitor_records_and_the_report_shows_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--epochs",
                "2",
                "--filters",
                "4",
                "--batch-size",
                "8",
                "--lr",
                "0.05",
                "--monitor",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    monitor = json.loads((run / "monitor.json").read_text())
    assert monitor["every"] == 50 and monitor["steps"] == 2 * 60
    assert [r["step"] for r in monitor["records"]] == [1, 51, 101]
    assert [f["epoch"] for f in monitor["filters"]] == [1, 2]
    assert gif_frames(run / "filters_epochs.gif") == 2
    page = (run / "report.html").read_text()
    assert "Inside the network while it trained" in page and 'alt="filters_epochs.gif"' in page
    assert "monitor" not in json.loads((run / "config.json").read_text())

    # resumed with --monitor: the record goes on, one GIF frame per epoch
    assert main(["train", "--resume", str(run), "--epochs", "3", "--monitor"]) == 0
    monitor = json.loads((run / "monitor.json").read_text())
    assert [f["epoch"] for f in monitor["filters"]] == [1, 2, 3]
    assert [r["step"] for r in monitor["records"]] == [1, 51, 101, 151]
    assert gif_frames(run / "filters_epochs.gif") == 3

    # cnn-numpy report redraws the monitor's pictures too
    (run / "monitor.png").unlink()
    assert main(["report", str(run)]) == 0
    assert (run / "monitor.png").is_file()


def test_overwriting_a_monitored_run_without_monitor_leaves_no_monitor_files(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--epochs", "1", "--filters", "2", "--batch-size", "16", "--out", str(run)]
    assert main(args + ["--monitor"]) == 0
    assert (run / "monitor.json").is_file()
    assert main(args + ["--overwrite"]) == 0
    assert not (run / "monitor.json").exists() and not (run / "filters_epochs.gif").exists()
    assert "Inside the network" not in (run / "report.html").read_text()
