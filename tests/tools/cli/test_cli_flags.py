"""Every numeric flag is range-checked where it is given; flags a run cannot use get a note;
--limit works on the lines; a size that would not fit in memory is refused up front."""

from __future__ import annotations

import json
import re

import pytest

from cnn_numpy.tools.cli import main, memory_check

FAST = ["--epochs", "1", "--batch-size", "16", "--filters", "2", "--no-report"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--seed", "-1"], "--seed: must be a whole number from 0 to 4294967295, got -1"),
        (["train", "--seed", "4294967296"], "--seed: must be a whole number from 0 to 4294967295"),
        (
            ["train", "--filters", "1000000000000"],
            "--filters: must be a whole number from 1 to 512",
        ),
        (["train", "--filters", "0"], "--filters: must be a whole number from 1 to 512, got 0"),
        (["train", "--blocks", "9"], "--blocks: must be a whole number from 1 to 8, got 9"),
        (["train", "--epochs", "10001"], "--epochs: must be a whole number from 1 to 10000"),
        (
            ["train", "--batch-size", "1000000"],
            "--batch-size: must be a whole number from 1 to 100000",
        ),
        (["train", "--limit", "0"], "--limit: must be a whole number from 1 to 10000000, got 0"),
        (["train", "--workers", "0"], "--workers: must be a whole number from 1 to 128, got 0"),
        (["train", "--workers", "1000"], "--workers: must be a whole number from 1 to 128"),
        (["train", "--step-size", "0"], "--step-size: must be a whole number from 1 to 10000"),
        (["train", "--momentum", "1.5"], "--momentum: must be a number >= 0 and < 1, got 1.5"),
        (["train", "--momentum", "1"], "--momentum: must be a number >= 0 and < 1, got 1"),
        (["train", "--momentum", "-0.1"], "--momentum: must be a number >= 0 and < 1"),
        (["train", "--lr", "nan"], "--lr: must be a finite number, got nan"),
        (["train", "--lr", "inf"], "--lr: must be a finite number, got inf"),
        (["train", "--lr", "100"], "--lr: must be a number >= 0 and <= 10, got 100"),
        (["train", "--weight-decay", "2"], "--weight-decay: must be a number >= 0 and <= 1"),
        (["train", "--noise", "-1"], "--noise: must be a number >= 0 and <= 10, got -1"),
        (["train", "--gamma", "-1"], "--gamma: must be a number > 0 and <= 10"),
        (["train", "--eta-min", "-0.5"], "--eta-min: must be a number >= 0 and <= 10"),
        (["gradcheck", "--tol", "-1"], "--tol: must be a number > 0 and < 1, got -1"),
        (["gradcheck", "--tol", "0"], "--tol: must be a number > 0 and < 1, got 0"),
        (["gradcheck", "--tol", "1"], "--tol: must be a number > 0 and < 1, got 1"),
        (
            ["gradcheck", "--image-size", "1000000"],
            "--image-size: must be a whole number from 1 to 64",
        ),
        (
            ["gradcheck", "--batch-size", "100000"],
            "--batch-size: must be a whole number from 1 to 64",
        ),
        (["gradcheck", "--seed", "-1"], "--seed: must be a whole number from 0 to 4294967295"),
        (
            ["predict", "m.npz", "x.png", "--min-confidence", "2"],
            "--min-confidence: must be a number >= 0 and <= 1, got 2",
        ),
        (["predict", "m.npz", "x.png", "--min-confidence", "1.5"], "--min-confidence: must be"),
        (["predict", "m.npz", "x.png", "--min-confidence", "-0.1"], "--min-confidence: must be"),
        (
            ["predict", "m.npz", "x.png", "--top", "0"],
            "--top: must be a whole number from 1 to 1000",
        ),
        (
            ["evaluate", "m.npz", "--limit", "-5"],
            "--limit: must be a whole number from 1 to 10000000",
        ),
    ],
)
def test_out_of_range_values_are_refused_where_they_are_given(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "--help" in err and "Traceback" not in err


def test_the_edges_of_each_range_are_accepted():
    from cnn_numpy.tools.cli import build_parser

    args = build_parser().parse_args(
        ["train", "--seed", "4294967295", "--momentum", "0.999", "--filters", "512", "--lr", "0"]
    )
    assert (args.seed, args.momentum, args.filters, args.lr) == (4294967295, 0.999, 512, 0.0)
    args = build_parser().parse_args(["predict", "m.npz", "x.png", "--min-confidence", "0"])
    assert args.min_confidence == 0.0
    assert build_parser().parse_args(["gradcheck", "--tol", "0.5"]).tol == 0.5


def test_limit_applies_to_the_lines(tmp_path, capsys):
    assert main(["train", *FAST, "--limit", "100", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "Data: lines (synthetic, noise=0.05), 100 train / 120 test images" in out
    assert json.loads((tmp_path / "run" / "config.json").read_text())["limit"] == 100


@pytest.mark.parametrize(
    "flags, note",
    [
        (
            ["--optimizer", "adam", "--momentum", "0.9"],
            "note: --momentum 0.9 is ignored: momentum is SGD's; Adam keeps its own running averages",
        ),
        (
            ["--model", "lenet", "--filters", "16"],
            "note: --filters 16 is ignored: it shapes the seed",
        ),
        (["--gamma", "0.5"], "note: --gamma 0.5 is ignored: it applies to --schedule step"),
        (["--data-dir", "somewhere"], "note: --data-dir somewhere is ignored: the lines are drawn"),
    ],
)
def test_a_flag_the_run_cannot_use_gets_one_note(flags, note, tmp_path, capsys):
    argv = ["train", "--epochs", "1", "--batch-size", "16", "--no-report", *flags]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    before_training = out[: out.index("Epoch 01")]  # not the note after a run that did not learn
    assert before_training.count("note:") == 1 and note in before_training


def test_momentum_with_sgd_gets_no_note(tmp_path, capsys):
    assert main(["train", *FAST, "--momentum", "0.5", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "note:" not in out[: out.index("Epoch 01")]


@pytest.mark.parametrize("eta_min, noted", [("1", True), ("0.001", False), ("0.01", False)])
def test_an_eta_min_above_the_lr_is_noted(eta_min, noted, tmp_path, capsys):
    """CosineAnnealingLR accepts eta_min > lr (as PyTorch's does) and then anneals upward:
    legal, but a learner who meant "the final rate" should hear it before training."""
    argv = ["train", *FAST, "--lr", "0.01", "--schedule", "cosine", "--eta-min", eta_min]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    before_training = out[: out.index("Epoch 01")]
    note = f"note: --eta-min {eta_min} is above --lr 0.01, so the cosine schedule raises"
    assert (note in before_training) == noted, out
    assert ("note:" in before_training) == noted


def test_a_size_that_does_not_fit_in_memory_is_refused_up_front(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 64 * 2**20)  # 64 MiB free
    trained = []
    monkeypatch.setattr("cnn_numpy.tools.cli.training.fit", lambda *a, **k: trained.append(1))
    run = tmp_path / "run"
    code = main(["train", "--filters", "64", "--batch-size", "480", "--out", str(run)])
    assert code == 2 and not trained and not run.exists()
    err = capsys.readouterr().err
    needed = re.search(r"needs about ([\d.]+) MiB of memory", err)
    assert needed and float(needed.group(1)) > 64, err
    assert "batch of 480 images" in err and "more than the 64.0 MiB free now" in err
    assert "smaller --batch-size, --filters or --blocks" in err


def test_the_memory_estimate_counts_parameters_and_one_batch():
    from cnn_numpy import lenet, seed_net

    params, batch = memory_check.training_bytes(
        seed_net(2, filters=8, rng=0), (1, 28, 28), batch=10, test_images=5, optimizer_copies=0
    )
    assert params == 4 * (8 * 9 + 8 + 8 * 13 * 13 * 2 + 2) * 2  # weights + gradients
    conv, relu, pool, flat, logits = 8 * 26 * 26, 8 * 26 * 26, 8 * 13 * 13, 8 * 13 * 13, 2
    columns = 9 * 26 * 26
    per_image = 3 * (conv + relu + pool + flat + logits) + 2 * columns + 28 * 28
    assert batch == 4 * 10 * per_image
    big = memory_check.training_bytes(lenet(rng=0), (1, 28, 28), 60_000, 10_000, 2)
    assert sum(big) > 20 * 2**30  # a whole MNIST epoch as one batch: tens of GiB


def test_a_batch_larger_than_the_data_is_noted_with_the_steps_per_epoch(tmp_path, capsys):
    argv = ["train", "--epochs", "1", "--filters", "2", "--no-report", "--limit", "40"]
    assert main([*argv, "--batch-size", "500", "--out", str(tmp_path / "big")]) == 0
    out = capsys.readouterr().out
    assert "note: --batch-size 500 is more than the 40 training images" in out
    assert "each epoch is 1 step" in out
    assert main([*argv, "--batch-size", "40", "--out", str(tmp_path / "fits")]) == 0
    assert "is more than the" not in capsys.readouterr().out  # a batch that fits: no note


def test_the_resume_help_names_every_flag_a_resumed_run_takes(tmp_path, capsys):
    """--help said only --epochs and --report were taken with --resume; --data-dir, --workers,
    --quiet and --monitor are too (resume_settings), and none of them gets an 'ignored' note."""
    from cnn_numpy.tools.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    help_text = next(a.help for a in sub._actions if a.dest == "resume")
    taken = ["--epochs", "--data-dir", "--workers", "--quiet", "--monitor", "--report"]
    assert [f for f in taken if f not in help_text] == []
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *FAST]) == 0
    capsys.readouterr()
    flags = ["--epochs", "2", "--workers", "1", "--quiet", "--monitor", "--report"]
    assert main(["train", "--resume", str(run), *flags]) == 0
    assert "ignored" not in capsys.readouterr().out


def test_the_workers_help_says_which_flags_refuse_more_workers(tmp_path, capsys):
    """--help said --adversarial and --layers-from train in one process 'unless --workers is
    given'; both refuse --workers 2, and only --monitor takes it."""
    from cnn_numpy import exercises
    from cnn_numpy.tools.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    help_text = " ".join(next(a.help for a in sub._actions if a.dest == "workers").split())
    assert "always with --adversarial and --layers-from (they refuse --workers 2 or more)" in (
        help_text
    )
    exercises.start(tmp_path / "book")
    for flags in (["--adversarial", "0.1"], ["--layers-from", str(tmp_path / "book")]):
        argv = ["train", "--workers", "2", "--out", str(tmp_path / "run"), *FAST, *flags]
        assert main(argv) == 2
        assert "leave out --workers" in capsys.readouterr().err
    argv = ["train", "--workers", "2", "--monitor", "--out", str(tmp_path / "run"), *FAST]
    assert main(argv) == 0
    assert "workers=2" in capsys.readouterr().out


def test_a_limit_above_the_training_images_is_noted(tmp_path, capsys):
    """--limit 100000 on the 480 lines trained on all 480 without a word, where every other
    flag that changes nothing gets a note."""
    assert main(["train", "--limit", "100000", "--out", str(tmp_path / "run"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "note: --limit 100000 is more than the 480 training images: all 480 are used" in out
    assert main(["train", "--limit", "480", "--out", str(tmp_path / "run2"), *FAST]) == 0
    assert "--limit" not in capsys.readouterr().out
