"""The plotting API: every function returns a Figure that renders to a real, non-blank picture,
labels what it shows, and rejects bad input with a clear message."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnn_numpy import SGD, CrossEntropyLoss, History, fit, lenet, seed_net, synthetic_lines
from cnn_numpy.data import train_test_split
from cnn_numpy.tools.visualize import (
    confusion_matrix,
    feature_maps,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_history,
    plot_mistakes,
)

CLASSES = ("vertical", "horizontal")


def render(fig) -> Image.Image:
    """The figure as a PNG, read back; closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return Image.open(io.BytesIO(buf.getvalue()))


def assert_picture(image: Image.Image, min_size=(200, 120), max_size=(4000, 4000)) -> None:
    """A valid PNG of sensible size whose pixels are not all (nearly) the same."""
    assert image.format == "PNG"
    width, height = image.size
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], image.size
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 5, f"blank picture: pixel std {pixels.std():.2f}"


def all_text(fig) -> str:
    """Every title, label, tick label and text of a figure, joined (to check what it says)."""
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        parts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        parts += [ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() + ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def trained():
    """A small seed net trained for 2 epochs on the lines dataset, and its test split."""
    X, y = synthetic_lines(40, rng=1)
    train, test = train_test_split(X, y, 0.25, rng=2)
    model = seed_net(2, filters=4, rng=0)
    history = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.05),
        train,
        epochs=2,
        batch_size=4,
        test=test,
        rng=3,
        callbacks=[],
    )
    return model, history, test


def test_matplotlib_uses_agg_without_a_display():
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    code = (
        "import cnn_numpy.tools.visualize as p, numpy as np, matplotlib; "
        "p.plot_history({'epoch': [1], 'loss': [1.0], 'train_acc': [0.5], 'test_acc': [None],"
        " 'seconds': [1.0]}); print(matplotlib.get_backend())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().lower() == "agg"
    # a backend the user chose (a notebook's inline one, say) is left alone
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "MPLBACKEND": "svg"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().lower() == "svg"


def test_plot_history(trained):
    _, history, _ = trained
    fig = plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "epoch"
    assert "loss" in loss_ax.get_ylabel() and acc_ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train", "test"]
    assert "test_acc=" in fig._suptitle.get_text()
    assert_picture(render(fig))


def test_plot_history_accepts_a_dict_and_no_test_data():
    history = History(
        epoch=[1, 2, 3],
        loss=[0.9, 0.5, 0.2],
        train_acc=[0.5, 0.8, 0.9],
        test_acc=[None, None, None],
        seconds=[1.0, 1.0, 1.0],
    )
    fig = plot_history(history.as_dict())
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["train"]
    assert_picture(render(fig))


def test_plot_history_rejects_an_empty_history():
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())
    with pytest.raises(TypeError, match="History"):
        plot_history([1, 2, 3])


def test_plot_filters_first_layer(trained):
    model, _, _ = trained
    fig = plot_filters(model)
    text = all_text(fig)
    assert "Conv2d(1, 4" in text and "filter 3" in text and "weight" in text
    assert_picture(render(fig))


def test_plot_filters_of_a_deeper_layer():
    model = lenet(10, rng=0)
    fig = plot_filters(model, layer=3)
    text = all_text(fig)
    assert "layer 3" in text and "input channel" in text and "filter (output channel)" in text
    assert_picture(render(fig))


def test_plot_filters_bad_layer(trained):
    model, _, _ = trained
    with pytest.raises(ValueError, match=r"layer 1 is not a Conv2d.*\[0\]"):
        plot_filters(model, layer=1)
    from cnn_numpy import Flatten, Linear, Sequential

    with pytest.raises(ValueError, match="no Conv2d"):
        plot_filters(Sequential(Flatten(), Linear(4, 2, rng=0)))


def test_feature_maps_titles_name_layer_and_shape(trained):
    model, _, (X, _) = trained
    stages = feature_maps(model, X[0])
    assert [(label, maps.shape) for label, maps in stages] == [
        ("0: Conv2d", (4, 26, 26)),
        ("1: ReLU", (4, 26, 26)),
        ("2: MaxPool2d", (4, 13, 13)),
    ]
    fig = plot_feature_maps(model, X[:1])
    text = all_text(fig)
    for title in (
        "input (1, 28, 28)",
        "0: Conv2d -> (4, 26, 26)",
        "1: ReLU -> (4, 26, 26)",
        "2: MaxPool2d -> (4, 13, 13)",
    ):
        assert title in text
    assert_picture(render(fig))
    assert model.training, "plot_feature_maps must leave the model in the mode it found it in"


def test_feature_maps_of_a_deeper_net_show_the_first_channels():
    model = lenet(10, rng=0)
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    fig = plot_feature_maps(model, x, max_maps=4)
    text = all_text(fig)
    assert "5: MaxPool2d -> (32, 7, 7), channels 0-3 shown" in text
    assert_picture(render(fig))


@pytest.mark.parametrize(
    "shape, message",
    [((28, 28), r"\(C, H, W\)"), ((2, 1, 28, 28), "one image"), ((3, 28, 28), "3 channels")],
)
def test_feature_maps_reject_bad_shapes(trained, shape, message):
    model, _, _ = trained
    with pytest.raises(ValueError, match=message):
        plot_feature_maps(model, np.zeros(shape, dtype=np.float32))


def test_confusion_matrix_counts():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    cm = confusion_matrix(y_true, y_pred)
    expected = np.zeros((3, 3), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == len(y_true) and cm.dtype == np.int64
    assert confusion_matrix(y_true, y_pred, num_classes=5).shape == (5, 5)


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, message",
    [
        ([0, 1], [0, 1, 1], {}, "same length"),
        ([0, 3], [0, 1], {"num_classes": 2}, "out of range"),
        ([0.5, 1], [0, 1], {}, "class indices"),
        ([-1, 1], [0, 1], {}, "class indices"),
    ],
)
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, kwargs, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(y_true), np.array(y_pred), **kwargs)


def test_plot_confusion_matrix_shows_counts_and_class_names():
    cm = np.array([[50, 3], [7, 40]])
    fig = plot_confusion_matrix(cm, CLASSES)
    text = all_text(fig)
    for word in (
        "50",
        "3",
        "7",
        "40",
        "vertical",
        "horizontal",
        "predicted class",
        "true class",
        "100 test images",
        "accuracy 0.900",
    ):
        assert word in text
    assert_picture(render(fig))


def test_plot_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        plot_confusion_matrix(np.eye(2, dtype=int), ["a", "b", "c"])


def test_plot_mistakes_most_confident_first(trained):
    model, _, (X, y) = trained
    proba = np.tile([[0.2, 0.8]], (len(y), 1))  # always "horizontal", 80% sure...
    surest = np.flatnonzero(y == 0)[-1]
    proba[surest] = [0.05, 0.95]  # ... but 95% on one vertical line
    fig = plot_mistakes(model, X, y, CLASSES, proba=proba, max_images=4)
    wrong = int((y == 0).sum())
    assert f"{wrong} of {len(y)} test images misclassified" in fig._suptitle.get_text()
    assert "in brackets: the probability the network gave its prediction" in (
        fig._suptitle.get_text()
    )
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 4
    assert all(t.startswith("true: vertical\npred: horizontal") for t in titles)
    assert titles[0].endswith("(0.95)") and titles[1].endswith("(0.80)")
    assert_picture(render(fig))


def test_plot_mistakes_without_mistakes_shows_the_closest_calls(trained):
    model, _, (X, y) = trained
    proba = np.eye(2)[y] * 0.6 + 0.2  # always right, 80% sure
    fig = plot_mistakes(model, X, y, CLASSES, proba=proba)
    assert "No mistakes" in fig._suptitle.get_text()
    assert_picture(render(fig))


@pytest.mark.parametrize("mistakes", [1, 2])
def test_plot_mistakes_title_fits_beside_one_or_two_images(trained, mistakes):
    """One mistake is one column: the figure was 2.25 inches wide, its title cut at both ends."""
    model, _, (X, y) = trained
    proba = np.eye(2)[y] * 0.6 + 0.2  # right everywhere...
    proba[:mistakes] = np.eye(2)[1 - y[:mistakes]] * 0.6 + 0.2  # ...but on the first ones
    fig = plot_mistakes(model, X, y, CLASSES, proba=proba)
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert f"{mistakes} of {len(y)}" in fig._suptitle.get_text()
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (box, fig.bbox.width)


def test_plot_mistakes_rejects_bad_shapes(trained):
    model, _, (X, y) = trained
    with pytest.raises(ValueError, match="y must have shape"):
        plot_mistakes(model, X, y[:-1])
    with pytest.raises(ValueError, match="proba must have shape"):
        plot_mistakes(model, X, y, proba=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="1 class names for 2 classes"):
        plot_mistakes(model, X, y, ["only"])


def test_a_notebook_shows_each_figure_once():
    """Returned as a cell's value or assigned, the figure appears once, not twice."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    setup = (
        "from cnn_numpy import History, plot_history\n"
        "h = History([1, 2], [1.0, 0.5], [0.5, 0.8], [0.6, 0.7], [1.0, 1.0])"
    )
    cells = [setup, "plot_history(h)", "fig = plot_history(h)", "plot_history(h);", "fig"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    pictures = [
        sum("image/png" in out.get("data", {}) for out in cell.outputs) for cell in notebook.cells
    ]
    assert pictures == [0, 1, 1, 1, 1]


def test_colour_images():
    """3-channel (RGB) inputs: filters drawn in colour, images shown in colour."""
    model = seed_net(3, in_channels=3, image_size=16, rng=0)
    X = np.random.default_rng(0).random((6, 3, 16, 16), dtype=np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    for fig in (
        plot_filters(model),
        plot_feature_maps(model, X[0]),
        plot_mistakes(model, X, y, ["r", "g", "b"]),
    ):
        image = render(fig)
        assert_picture(image)
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        assert ((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum() > 100, "no colour drawn"


def test_one_epoch_has_one_tick_and_a_singular_title():
    history = History(epoch=[1], loss=[0.3], train_acc=[0.9], test_acc=[0.95], seconds=[1.0])
    fig = plot_history(history)
    assert fig._suptitle.get_text().startswith("After 1 epoch: ")
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1]
    assert "while the weights still change" in " ".join(t.get_text() for t in fig.texts)


def test_each_feature_map_row_says_what_its_colours_mean(trained):
    """In words and in numbers: a teacher pointing at a yellow pixel can say how large it is."""
    model, _, test = trained
    (_, conv), (_, relu), _ = feature_maps(model, test[0][0])
    text = all_text(plot_feature_maps(model, test[0][0]))
    limit, top = np.abs(conv).max(), relu.max()
    assert f"0: Conv2d -> (4, 26, 26)   [blue < 0 < red, white = 0, darkest = ±{limit:.3g}]" in text
    assert f"1: ReLU -> (4, 26, 26)   [dark = 0, yellow = {top:.3g}, the row's largest value]" in (
        text
    )
    assert "dark = none" not in text


def test_a_few_mistakes_are_visible_beside_thousands_of_right_answers():
    cm = np.array([[1000, 1], [0, 999]])
    fig = plot_confusion_matrix(cm, CLASSES)
    ax = fig.axes[0]
    wrong = [im for im in ax.get_images() if im.cmap.name == "Reds"][0]
    r, g, b, _ = wrong.cmap(wrong.norm(1))
    assert min(r, g, b) < 0.5 and r > g  # a single mistake is clearly red
    right = [im for im in ax.get_images() if im.cmap.name == "Blues"][0]
    assert right.get_array().mask[0, 1] and wrong.get_array().mask[0, 0]


def test_the_reports_feature_map_caption_names_the_pictures_colours():
    """The report's caption must describe the colours the rows are drawn in: before a ReLU
    the strongest answers are dark red (or blue), not 'bright'."""
    from cnn_numpy.tools.visualize.inside import row_colours
    from cnn_numpy.tools.visualize.report_page import SECTIONS

    caption = dict((stem, text) for stem, _, text in SECTIONS)["feature_maps"]
    signed, positive = (row_colours(np.array(v)) for v in ([-1.0, 2.0], [0.0, 2.0]))
    assert (signed[0], positive[0]) == ("RdBu_r", "viridis")
    for colour in ("red", "blue", "white", "dark", "yellow"):
        assert colour in caption and colour in signed[3] + positive[3]
    assert "bright" not in caption


def test_colour_filters_say_how_to_read_them():
    """A colour model's first filters are RGB pictures, not the red/blue weight scale of a
    grey one: the figure says so, and the report's caption does not claim red = positive."""
    from cnn_numpy import resnet
    from cnn_numpy.tools.visualize.report_page import SECTIONS

    fig = plot_filters(resnet(num_classes=10, in_channels=3, rng=0))
    assert "RGB" in fig._suptitle.get_text() and "mid-grey = 0" in fig._suptitle.get_text()
    grey = plot_filters(seed_net(num_classes=2, rng=0))
    assert "RGB" not in grey._suptitle.get_text()
    caption = dict((stem, text) for stem, _, text in SECTIONS)["filters"]
    assert "colour" in caption and "RGB" in caption


def test_feature_maps_leave_a_frozen_batchnorm_frozen():
    """feature_maps runs in eval mode, then gives each layer back its own mode: a BatchNorm
    frozen in eval() inside a training model stays frozen (model.train() would unfreeze it)."""
    from cnn_numpy import deep
    from cnn_numpy.tools.visualize.inside import feature_maps

    model = deep(rng=0).train()
    model[1].eval()  # a frozen BatchNorm, as in fine-tuning
    feature_maps(model, np.zeros((1, 28, 28), np.float32))
    assert model.training and model[0].training and not model[1].training
