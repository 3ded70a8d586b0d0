"""The model of `cnn-numpy train` (the lines) knows the lines a learner draws on the pad, and
refuses what is not a line.  Before, its check, fitted on 96 held-out lines one pixel wide and
all equally noisy, refused every drawn line (benchmarks/drawn_lines.py has the full table)."""

from __future__ import annotations

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.dataset import LINES_CHECK, DataSource, load_data, novelty_images
from cnn_numpy.tools.photos.images import preprocess_digit
from tests.helpers.digit_strokes import render

PAGE, PEN = 112, 20 * 112 / 280  # the pad (280 pixels, pen 20) drawn smaller: the same input


@pytest.fixture(scope="module")
def lines_model(tmp_path_factory):
    """The model file of plain `cnn-numpy train`, with its novelty check."""
    out = tmp_path_factory.mktemp("lines") / "run"
    assert main(["train", "--out", str(out), "--no-report", "--quiet"]) == 0
    return out / "model.npz"


def on_pad(strokes) -> np.ndarray:
    """Strokes in the unit square, drawn as the pad draws and prepared as the page prepares."""
    return preprocess_digit(render(strokes, size=PAGE, pen=PEN)).image[None]


def drawn_line(rng, vertical: bool) -> list[np.ndarray]:
    """A stroke of 30-85% of the pad, up to 6 degrees off its axis, anywhere on the pad."""
    length = rng.uniform(0.3, 0.85)
    angle = np.radians(rng.uniform(-6, 6) + (90 if vertical else 0))
    half = 0.5 * length * np.array([np.cos(angle), np.sin(angle)])
    centre = rng.uniform(np.abs(half) + 0.08, 1 - np.abs(half) - 0.08)
    t = np.linspace(0, 1, 6)[:, None]
    return [centre - half + 2 * half * t + rng.normal(0, 0.004, size=(6, 2))]


def not_a_line(rng, kind: str) -> list[np.ndarray]:
    t = np.radians(np.linspace(0, 360, 30))
    if kind == "loop":
        a, b = rng.uniform(0.2, 0.38, size=2)
        return [np.stack([0.5 + a * np.cos(t), 0.5 + b * np.sin(t)], axis=1)]
    if kind == "cross":
        s = rng.uniform(0.25, 0.4)
        return [
            np.array([[0.5 - s, 0.5], [0.5 + s, 0.5]]),
            np.array([[0.5, 0.5 - s], [0.5, 0.5 + s]]),
        ]
    angle = np.radians(rng.uniform(30, 60) * rng.choice([-1, 1]))  # a diagonal
    half = 0.38 * np.array([np.cos(angle), np.sin(angle)])
    return [np.array([0.5 - half, 0.5 + half])]


def test_lines_drawn_on_the_pad_are_answered_and_rightly(lines_model):
    rng = np.random.default_rng(11)
    labels = np.arange(24) % 2  # 0: vertical, 1: horizontal
    X = np.stack([on_pad(drawn_line(rng, vertical=label == 0)) for label in labels])
    answer = cnn.predict_with_novelty(cnn.load(lines_model), X, cnn.load_novelty(lines_model))
    right = ~answer.refused & (answer.predicted == labels)
    assert right.sum() >= 21, (answer.scores.round(2), answer.threshold, answer.predicted)


@pytest.mark.parametrize("kind", ["loop", "cross", "diagonal"])
def test_shapes_that_are_not_lines_are_refused(lines_model, kind):
    rng = np.random.default_rng(12)
    X = np.stack([on_pad(not_a_line(rng, kind)) for _ in range(8)])
    answer = cnn.predict_with_novelty(cnn.load(lines_model), X, cnn.load_novelty(lines_model))
    assert answer.refused.sum() >= 7, (answer.scores.round(2), answer.threshold)


def test_the_lines_check_is_fitted_on_fresh_lines_of_the_runs_noise():
    """2,000 lines, not the 480 training images; drawn from the seed, with the run's noise."""
    source = DataSource(dataset="lines", seed=4, noise=0.2)
    data = load_data(source)
    X, y = novelty_images(data, source)
    assert X.shape == (2 * LINES_CHECK, 1, 28, 28) and np.bincount(y).tolist() == [LINES_CHECK] * 2
    assert not any(np.array_equal(X[0], image) for image in data.train[0])  # a draw of its own
    np.testing.assert_array_equal(X, novelty_images(data, source)[0])  # the same every time
    quiet = novelty_images(data, DataSource(dataset="lines", seed=4, noise=0.0))[0]
    assert (X > 0.05).mean() > (quiet > 0.05).mean() + 0.05  # the speckle of --noise 0.2
