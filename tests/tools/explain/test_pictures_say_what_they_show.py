"""The pictures of `explain` and `attack` say what they show: a map that is one number
everywhere says so instead of drawing a made-up colour scale; the attack's examples give each
answer's probability and how far the attack moved the true class's; a Fashion-MNIST model's
figure comes with predict's caveat about the preparation."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.explain.figures import attack_grid, heat_maps


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("gradcam", 0.0, "all 0: no positive evidence here"),
        ("saliency", 0.0, "all 0: no pixel moves the logit"),
        ("occlusion", 0.0, "all 0: no square changes p"),
        ("ig", 0.25, "all 0.25: no pixel adds or takes away"),
    ],
)
def test_a_map_of_one_value_says_so_and_draws_no_scale(name, value, words):
    maps = {name: np.full((7, 7), value), "saliency-like": np.linspace(0, 1, 49).reshape(7, 7)}
    fig = heat_maps(np.zeros((28, 28)), maps, "t")
    shown = titles(fig)
    colour_bars = len(fig.axes) - 3  # the input and the two maps, then one bar per scale
    fig.clf()
    assert shown[1] == f"{shown[1].splitlines()[0]}\n7x7, {words}"
    assert "all" not in shown[2]  # a map that varies: its size only, and a colour bar
    assert colour_bars == 1


@pytest.mark.parametrize("methods", [1, 4])
def test_the_explain_title_of_a_long_file_name_stays_inside_the_figure(methods):
    """explain --method gradcam on my-photo-of-a-very-nice-leather-ankle-boot-from-the-shop.png:
    the figure's title ran off both sides and over the panels' titles; it is wrapped."""
    title = (
        "my-photo-of-a-very-nice-leather-ankle-boot-from-the-shop.png: not an article of "
        "clothing (closest: Ankle boot (85.5%)); explaining class Ankle boot"
    )
    names = ["saliency", "gradcam", "occlusion", "ig"][:methods]
    maps = {name: np.linspace(0, 1, 49).reshape(7, 7) for name in names}
    fig = heat_maps(np.zeros((28, 28)), maps, title)
    fig.set_dpi(90)  # as save_figure writes it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    top = fig._suptitle.get_window_extent(renderer)
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    width, height = fig.bbox.width, fig.bbox.height
    fig.clf()
    assert 0 <= top.x0 and top.x1 <= width and top.y1 <= height
    assert all(box.y1 <= top.y0 for box in boxes)


def test_the_attack_examples_give_each_answers_probability_and_the_true_class_move():
    clean = np.zeros((2, 1, 4, 4))
    p_clean = np.array([[0.9, 0.1], [0.2, 0.8]])
    p_adv = np.array([[0.3, 0.7], [0.25, 0.75]])
    fig = attack_grid(
        clean, clean + 0.1, [0, 1], ([0, 1], [1, 1]), ["cat", "dog"], "t", (p_clean, p_adv)
    )
    shown = titles(fig)
    fig.clf()
    assert "clean: cat 90%\n(true: cat)" in shown
    assert "adversarial: dog 70%\n(FOOLED)\np(cat): 90% → 30%" in shown
    assert "adversarial: dog 75%\n(still right)\np(dog): 80% → 75%" in shown


def test_the_attack_examples_do_not_call_an_image_the_model_got_wrong_before_fooled():
    """A clean image already misread (Fashion-MNIST's shirt called a pullover) was not fooled
    by the attack: its title says it was wrong before too, or that the attack made it right."""
    clean = np.zeros((3, 1, 4, 4))
    fig = attack_grid(clean, clean + 0.1, [0, 0, 0], ([1, 1, 0], [1, 0, 1]), ["cat", "dog"], "t")
    shown = titles(fig)
    fig.clf()
    assert "adversarial: dog\n(wrong before too)" in shown
    assert "adversarial: cat\n(now right)" in shown
    assert "adversarial: dog\n(FOOLED)" in shown
    assert not any("FOOLED" in title for title in shown[:6])


def test_the_attack_examples_titles_stay_inside_the_picture_with_long_class_names():
    """Fashion-MNIST's 'Ankle boot' at 100%: each title is drawn whole, inside the figure."""
    clean = np.zeros((2, 1, 28, 28))
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    fig = attack_grid(
        clean, clean + 0.1, [1, 0], ([1, 0], [0, 1]), ["Ankle boot", "Ankle boot"], "t", (p, p)
    )
    fig.canvas.draw()
    renderer, width = fig.canvas.get_renderer(), fig.bbox.width
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    top = fig._suptitle.get_window_extent(renderer)
    fig.clf()
    assert len(boxes) == 6
    assert all(box.y1 <= top.y0 for box in boxes)  # the figure's title above every other
    assert all(box.x0 >= 0 and box.x1 <= width for box in boxes), [(b.x0, b.x1) for b in boxes]


@pytest.mark.parametrize("n", [2, 6])
def test_the_attack_examples_titles_clear_the_row_above(n):
    """Each adversarial title has three lines; with two images (attack --limit 2) its top
    line ran into the picture above it."""
    clean = np.random.default_rng(0).random((n, 1, 28, 28))
    p = np.full((n, 10), 0.1)
    fig = attack_grid(clean, clean * 0.9, [1] * n, ([1] * n, [2] * n), list("0123456789"), "t",
                      (p, p))  # fmt: skip
    fig.set_dpi(90)  # as save_figure writes it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    rows = [ax for ax in fig.axes if ax.get_title()]
    gaps = [
        above.get_window_extent(renderer).y0 - below.title.get_window_extent(renderer).y1
        for above, below in zip(rows, rows[3:])
    ]
    fig.clf()
    assert min(gaps) >= 0, gaps


def test_the_attack_command_writes_the_probabilities_into_examples(tmp_path, capsys, monkeypatch):
    """`cnn-numpy attack` hands attack_grid the probabilities of the six examples, clean and
    attacked, as the model gives them."""
    data = tmp_path / "mnist"
    write_files(data, fake_files(np.random.default_rng(0), n_train=8, n_test=8))
    model = tmp_path / "model.npz"
    cnn.save(cnn.lenet(rng=0), model, dataset="mnist", class_names=list(cnn.MNIST_CLASSES),
             input_shape=[1, 28, 28], normalize={"mean": 0.13, "std": 0.31})  # fmt: skip
    seen = {}

    def keep(*args, **kwargs):
        seen.update(kwargs, clean=args[0])
        return attack_grid(*args, **kwargs)

    monkeypatch.setattr("cnn_numpy.tools.cli.attack.attack_grid", keep)
    argv = ["attack", str(model), "--data-dir", str(data), "--eps", "0.1", "--limit", "6"]
    assert main([*argv, "--out", str(tmp_path / "att")]) == 0
    p_clean, p_adv = seen["probabilities"]
    assert p_clean.shape == p_adv.shape == (6, 10)
    x = (seen["clean"] - 0.13) / 0.31  # the grid gets pixel units; the model its own
    expected = cnn.predict_proba(cnn.load(model), x.astype(np.float32))
    np.testing.assert_allclose(p_clean, expected, rtol=1e-4, atol=1e-6)
    assert not np.allclose(p_adv, p_clean)  # the attacked images' own probabilities
    assert (tmp_path / "att" / "examples.png").stat().st_size > 0


def test_explain_with_a_fashion_model_notes_the_articles_preparation(tmp_path, capsys):
    model = tmp_path / "fashion.npz"
    cnn.save(cnn.lenet(rng=0), model, dataset="fashion-mnist", input_shape=[1, 28, 28],
             class_names=list(cnn.FASHION_MNIST_CLASSES))  # fmt: skip
    canvas = Image.new("L", (120, 120), 240)
    ImageDraw.Draw(canvas).rectangle((30, 20, 90, 100), fill=20)  # a dark shirt-ish block
    canvas.save(tmp_path / "shirt.png")
    out = tmp_path / "why.png"
    code = main(["explain", str(model), str(tmp_path / "shirt.png"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert "note: explain prepares images as predict does" in printed
    assert "as Fashion-MNIST's were made: trimmed to the article" in printed
