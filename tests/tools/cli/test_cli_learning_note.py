"""A run that learned nothing says so, with the learning rate and the doctor's command; a
small novelty threshold is printed with its digits, not as 0.00."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy.history import History
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.novelty_check import score_text
from cnn_numpy.tools.cli.train import learning_note


class Settings:
    dataset, model, optimizer, lr, data_dir = "mnist", "lenet", "sgd", 1.0, "/data/my mnist"


def history(test_acc) -> History:
    return History(
        epoch=[1, 2], loss=[2.3, 2.3], train_acc=[0.1, 0.1], test_acc=test_acc, seconds=[1.0, 1.0]
    )


LABELS = np.array([0] * 12 + [1] * 8 + list(range(2, 10)) * 10)  # the most common: 12 of 100


@pytest.mark.parametrize("acc", [0.05, 0.12, 0.163])
def test_no_better_than_the_most_common_class_is_a_note(acc):
    lines = learning_note(history([0.5, acc]), LABELS, Settings())
    assert lines[0].startswith(f"note: after 2 epochs the test accuracy is {acc:.1%}")
    assert "most common class (12.0%)" in lines[0] and "did not learn" in lines[0]
    assert "now 1.0" in lines[1]
    diagnose = "cnn-numpy diagnose --dataset mnist --data-dir '/data/my mnist' --model lenet"
    assert f"`{diagnose} --optimizer sgd --lr 1.0`" in lines[1]


@pytest.mark.parametrize("acc", [0.17, 0.9, None])
def test_a_run_that_learned_or_has_no_test_set_gets_no_note(acc):
    assert learning_note(history([0.1, acc]), LABELS, Settings()) == []
    assert learning_note(History(), LABELS, Settings()) == []


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


@pytest.mark.parametrize(
    "value, text",
    [(2.034, "2.03"), (0.1, "0.10"), (0.0048123, "0.0048"), (0.0, "0.00"), (-0.05, "-0.05")],
)
def test_scores_keep_their_digits(value, text):
    assert score_text(value) == text
