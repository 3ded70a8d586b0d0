"""A run that learned nothing says so, with the learning rate and the doctor's command; a
small novelty threshold is printed with its digits, not as 0.00."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from cnn_numpy import deep, lenet
from cnn_numpy.history import History
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.novelty_check import score_text
from cnn_numpy.tools.cli.settings import resolve_defaults
from cnn_numpy.tools.cli.train import learning_note


def settings(**given):
    """A run's resolved settings, as train makes them from its flags."""
    flags = dict(dataset="mnist", model="lenet", optimizer="sgd", lr=1.0, data_dir="/data/my mnist")
    return resolve_defaults(argparse.Namespace(**{**flags, **given}))


def history(test_acc) -> History:
    return History(
        epoch=[1, 2], loss=[2.3, 2.3], train_acc=[0.1, 0.1], test_acc=test_acc, seconds=[1.0, 1.0]
    )


LABELS = np.array([0] * 12 + [1] * 8 + list(range(2, 10)) * 10)  # the most common: 12 of 100


@pytest.mark.parametrize("acc", [0.05, 0.12, 0.163])
def test_no_better_than_the_most_common_class_is_a_note(acc):
    lines = learning_note(history([0.5, acc]), LABELS, settings())
    assert lines[0].startswith(f"note: after 2 epochs the test accuracy is {acc:.1%}")
    assert "most common class (12.0%)" in lines[0] and "did not learn" in lines[0]
    assert "now 1.0" in lines[1]
    diagnose = "cnn-numpy diagnose --dataset mnist --data-dir '/data/my mnist' --model lenet"
    assert f"`{diagnose} --optimizer sgd --lr 1.0`" in lines[1]


def test_the_note_rounds_as_the_epoch_line_does():
    """MNIST's test set is 11.35% ones: the epoch line showed test_acc=0.114 and the note said
    11.3% of the same number (deep on 512 images, docs/when-training-goes-wrong.md)."""
    labels = np.array([1] * 1135 + [0] * 980 + list(range(2, 10)) * 985 + [2] * 5)
    shown = History(epoch=[1], loss=[2.3], train_acc=[0.1], test_acc=[0.1135], seconds=[1.0])
    assert shown.format_epoch().endswith("test_acc=0.114")
    note = learning_note(shown, labels, settings())[0]
    assert "test accuracy is 11.4%" in note and "most common class (11.4%)" in note


@pytest.mark.parametrize("acc", [0.17, 0.9, None])
def test_a_run_that_learned_or_has_no_test_set_gets_no_note(acc):
    assert learning_note(history([0.1, acc]), LABELS, settings()) == []
    assert learning_note(History(), LABELS, settings()) == []


def test_train_says_when_the_network_did_not_learn(tmp_path, capsys):
    # lr 5 throws the seed net's weights about: it ends answering one class
    assert (
        main(["train", "--lr", "5", "--epochs", "1", "--no-report", "--out", str(tmp_path / "r")])
        == 0
    )
    out = capsys.readouterr().out
    assert "no better than always answering the most common class" in out
    assert "`cnn-numpy diagnose --dataset lines --model seed --optimizer sgd --lr 5.0`" in out
    capsys.readouterr()
    assert main(["train", "--epochs", "1", "--no-report", "--out", str(tmp_path / "ok")]) == 0
    assert "did not learn" not in capsys.readouterr().out


def test_the_note_is_in_the_report_and_goes_when_a_resumed_run_learns(tmp_path, capsys):
    """A short resnet run whose report showed 11.7% with no word of why: the note train
    prints is kept in note.txt and shown at the top of report.html."""
    run = tmp_path / "r"
    assert main(["train", "--lr", "5", "--epochs", "1", "--out", str(run)]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert printed and (run / "note.txt").read_text().startswith(printed[0])
    page = (run / "report.html").read_text()
    assert '<p class="note run-note">note: after 1 epoch the test accuracy is' in page
    assert "`cnn-numpy diagnose --dataset lines --model seed" in page
    (run / "note.txt").write_text("note: <b>unescaped?</b>\n")
    assert main(["report", str(run)]) == 0  # drawn again: the note is read from the folder
    assert "note: &lt;b&gt;unescaped?&lt;/b&gt;" in (run / "report.html").read_text()
    ok = tmp_path / "ok"
    assert main(["train", "--epochs", "1", "--out", str(ok)]) == 0
    assert (
        not (ok / "note.txt").exists() and 'note run-note"' not in (ok / "report.html").read_text()
    )
    (ok / "note.txt").write_text("note: an older run's\n")
    assert main(["train", "--resume", str(ok), "--epochs", "2"]) == 0  # learned: note removed
    assert (
        not (ok / "note.txt").exists() and 'note run-note"' not in (ok / "report.html").read_text()
    )


def batch_settings():
    return settings(model="deep", optimizer="adam", lr=0.001, batch_size=64)


def learned_in_training(train_acc) -> History:
    return History(epoch=[1], loss=[1.6], train_acc=[train_acc], test_acc=[0.114], seconds=[1.0])


def test_batchnorm_that_learned_in_training_names_its_running_statistics():
    """deep on 512 MNIST images for one epoch: 52.7% on its training batches, 11.4% on the
    test set in eval mode (69% with batch statistics): 8 steps leave 43% of the running
    statistics' starting values, and the learning rate is not what to change."""
    lines = learning_note(learned_in_training(0.527), LABELS, batch_settings(), deep(rng=0), 512)
    assert lines[0].endswith("while its training batches reached 52.7%.")
    assert "did not learn" not in lines[0]
    assert "running statistics, which after 8 steps still hold 43% of their starting" in lines[1]
    assert "train longer (more images or epochs)" in lines[1] and "cnn-numpy diagnose" in lines[1]


@pytest.mark.parametrize(
    "train_acc, model, images",
    [(0.527, "lenet", 512), (0.13, "deep", 512), (0.527, "deep", 60_000)],
    ids=["no BatchNorm", "nothing learned in training either", "statistics long settled"],
)
def test_otherwise_the_note_names_the_learning_rate(train_acc, model, images):
    net = deep(rng=0) if model == "deep" else lenet(rng=0)
    lines = learning_note(learned_in_training(train_acc), LABELS, batch_settings(), net, images)
    assert "the network did not learn" in lines[0] and "is the usual cause" in lines[1]


def test_train_names_batchnorms_statistics_after_a_short_run(tmp_path, capsys):
    argv = ["train", "--model", "deep", "--limit", "64", "--batch-size", "8", "--epochs", "1"]
    assert main([*argv, "--no-report", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "BatchNorm's running statistics, which after 8 steps still hold 43%" in out


@pytest.mark.parametrize(
    "value, text",
    [(2.034, "2.03"), (0.1, "0.10"), (0.0048123, "0.0048"), (0.0, "0.00"), (-0.05, "-0.05")],
)
def test_scores_keep_their_digits(value, text):
    assert score_text(value) == text


def test_the_doctors_command_names_the_net_and_images_that_were_trained(tmp_path, capsys):
    """`train --blocks 5 --limit 100` that learned nothing was sent to `diagnose` without
    --blocks and --limit: the doctor then checked a 2-stage resnet on every image."""
    run = resolve_defaults(
        argparse.Namespace(dataset="cifar10", model="resnet", blocks=5, limit=100, seed=3)
    )
    note = learning_note(history([0.5, 0.1]), LABELS, run)[1]
    flags = "--dataset cifar10 --model resnet --optimizer adam --lr 0.003"
    assert f"`cnn-numpy diagnose {flags} --limit 100 --blocks 5 --seed 3`" in note
