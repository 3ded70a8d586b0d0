"""The report's saliency of its mistakes: the most confident mistakes first, each with the
saliency of the class said and of the true class (cnn_numpy.explain.saliency)."""

import base64

import numpy as np
from cnn_numpy.explain import saliency

import cnn_numpy as cnn
from cnn_numpy.tools.visualize.mistake_saliency import plot_mistake_saliency


def test_rows_are_the_most_confident_mistakes_with_both_maps():
    model = cnn.seed_net(3, filters=2, rng=0)
    X = np.random.default_rng(1).random((12, 1, 28, 28)).astype(np.float32)
    proba = cnn.predict_proba(model, X)
    pred = proba.argmax(axis=1)
    y = pred.copy()
    y[[2, 5, 7]] = (pred[[2, 5, 7]] + 1) % 3  # three mistakes
    fig = plot_mistake_saliency(model, X, y, proba, ["a", "b", "c"], max_images=2)
    axes = fig.axes
    assert len(axes) == 6  # two rows: image, saliency of the class said, of the true class
    order = sorted([2, 5, 7], key=lambda i: -proba[i, pred[i]])[:2]
    for row, i in enumerate(order):
        assert axes[3 * row].get_title().startswith(f"true {'abc'[y[i]]}, said {'abc'[pred[i]]}")
        shown = axes[3 * row + 2].get_images()[0].get_array()
        expected = np.abs(saliency(model, X[[i]], y[[i]])[0]).max(axis=0)
        np.testing.assert_allclose(shown, expected, rtol=1e-5)
    assert "most confident mistakes" in fig._suptitle.get_text()
    none = plot_mistake_saliency(model, X, pred, proba, ["a", "b", "c"])
    assert "No mistakes" in none._suptitle.get_text() and len(none.axes) == 18


def test_the_report_shows_the_saliency_of_its_mistakes(tmp_path):
    from cnn_numpy.tools.cli import main

    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--filters", "2", "--out", str(run)]) == 0
    picture = (run / "mistakes_saliency.png").read_bytes()
    page = (run / "report.html").read_text()
    assert "Why the mistakes? Saliency" in page
    assert base64.b64encode(picture).decode() in page


def test_both_maps_of_a_row_share_one_colour_scale_stated_in_numbers():
    """Brighter must mean larger across the row: 'saliency of 7' against 'saliency of 3' is
    the comparison the picture invites (each map scaled to its own maximum misled it)."""
    model = cnn.seed_net(3, filters=2, rng=0)
    X = np.random.default_rng(1).random((12, 1, 28, 28)).astype(np.float32)
    proba = cnn.predict_proba(model, X)
    y = (proba.argmax(axis=1) + 1) % 3  # every answer wrong
    fig = plot_mistake_saliency(model, X, y, proba, ["a", "b", "c"], max_images=3)
    for row in range(3):
        said, truth = (fig.axes[3 * row + col].get_images()[0] for col in (1, 2))
        top = max(said.get_array().max(), truth.get_array().max())
        assert said.get_clim() == truth.get_clim() == (0, top)
        assert f"white {top:.2g}" in fig.axes[3 * row + 2].texts[0].get_text()


def test_with_no_mistakes_the_second_map_is_the_runner_up():
    """With every answer right (the lines' run: 120/120), both maps of a row were the same
    class's, drawn twice ('saliency of vertical' beside 'saliency of vertical'), under a
    report caption that spoke only of mistakes."""
    model = cnn.seed_net(3, filters=2, rng=0)
    X = np.random.default_rng(1).random((12, 1, 28, 28)).astype(np.float32)
    proba = cnn.predict_proba(model, X)
    pred = proba.argmax(axis=1)
    fig = plot_mistake_saliency(model, X, pred, proba, ["a", "b", "c"], max_images=2)
    for row, i in enumerate(np.argsort(proba.max(axis=1), kind="stable")[:2]):
        second = int(np.argsort(-proba[i], kind="stable")[1])
        assert fig.axes[3 * row + 1].get_title() == f"saliency of {'abc'[pred[i]]}"
        assert fig.axes[3 * row + 2].get_title() == f"saliency of {'abc'[second]} (runner-up)"
        shown = fig.axes[3 * row + 2].get_images()[0].get_array()
        expected = np.abs(saliency(model, X[[i]], np.array([second]))[0]).max(axis=0)
        np.testing.assert_allclose(shown, expected, rtol=1e-5)
    from cnn_numpy.tools.visualize.mistake_saliency import SECTION

    assert "With no mistakes, the least confident right answers" in SECTION[2]
