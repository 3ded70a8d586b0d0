"""The novelty check from the command line: train stores it, predict answers "not a digit" /
"not one of its classes" with the score, evaluate reports the refusal rate; a model without
one still works and says so."""

import numpy as np
import pytest
from helpers.seed_model import trained_seed_net
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.photos.images import preprocess_digit


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-epoch lines run: model.npz and best.npz with their novelty checks."""
    folder = tmp_path_factory.mktemp("novelty") / "run"
    assert main(["train", "--epochs", "2", "--no-report", "--out", str(folder)]) == 0
    return folder


def strokes(count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two 'digits', a slanted bar (0) and a ring (1), drawn in dark pen on white and
    prepared by ``preprocess_digit`` as a photo would be.  Shape: (count, 1, 28, 28)"""
    X = np.zeros((count, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 2, count)
    for i in range(count):
        canvas = Image.new("L", (112, 112), 235)
        draw = ImageDraw.Draw(canvas)
        pen, top, bottom = int(rng.integers(6, 12)), rng.uniform(8, 20), rng.uniform(90, 104)
        if y[i] == 0:
            slant = rng.uniform(-12, 12)
            draw.line((56 - slant, top, 56 + slant, bottom), fill=30, width=pen)
        else:
            w = rng.uniform(20, 40)
            draw.ellipse((56 - w, top, 56 + w, bottom), outline=30, width=pen)
        X[i, 0] = preprocess_digit(np.asarray(canvas)).image
    return X, y


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A model of the two stroke 'digits', saved as an MNIST model with its novelty check."""
    X, y = strokes(400, np.random.default_rng(0))
    model = trained_seed_net(X, y, epochs=3)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    cnn.save(
        model,
        path,
        dataset="mnist",
        class_names=["bar", "ring"],
        input_shape=[1, 28, 28],
        normalize={"mean": 0.0, "std": 1.0},
    )
    cnn.save_novelty(path, cnn.fit_novelty(model, X, y, rng=0))
    return path


def png(path, image):
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def images(tmp_path):
    """A photo-like ring drawn on paper, and a filled disc (no stroke at all)."""
    canvas = Image.new("L", (240, 200), 235)
    ImageDraw.Draw(canvas).ellipse((70, 30, 150, 170), outline=40, width=12)
    canvas.save(tmp_path / "ring.png")
    rows, cols = np.mgrid[0:200, 0:240]
    blob = np.where((rows - 100) ** 2 + (cols - 120) ** 2 < 60**2, 0.1, 0.92)
    return str(tmp_path / "ring.png"), png(tmp_path / "blob.png", blob)


def test_train_stores_the_check_in_both_models(run, capsys):
    for name in ("model.npz", "best.npz"):
        detector = cnn.load_novelty(run / name)
        assert detector is not None and 0 < detector.threshold < np.inf
        assert detector.holdout_images == 400  # 20% of 2,000 fresh lines (not the 480 trained on)


def test_predict_answers_with_the_score_or_refuses(digits, images, capsys):
    ring, blob = images
    assert main(["predict", str(digits), ring, blob]) == 0  # an answer for each
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{ring}: ring    top 2: ring")
    assert "novelty" in out[0] and "(refused above" in out[0]
    assert out[1].startswith(f"{blob}: not a digit (novelty ")
    score, threshold = out[1].split("(novelty ")[1].split(")")[0].split(" > ")
    assert float(score) > float(threshold)


def test_another_dataset_says_not_one_of_its_classes(digits, images, tmp_path, capsys):
    path = tmp_path / "shapes.npz"
    cnn.save(
        cnn.load(digits),
        path,
        dataset="shapes",
        class_names=["bar", "ring"],
        input_shape=[1, 28, 28],
    )
    cnn.save_novelty(path, cnn.load_novelty(digits))
    assert main(["predict", str(path), images[1]]) == 0
    assert ": not one of its classes (novelty " in capsys.readouterr().out


def test_a_model_without_a_check_still_predicts_and_says_so(digits, images, run, tmp_path, capsys):
    old = tmp_path / "old.npz"
    cnn.save(
        cnn.load(digits), old, dataset="mnist", class_names=["bar", "ring"], input_shape=[1, 28, 28]
    )
    assert main(["predict", str(old), *images]) == 0
    out = capsys.readouterr().out
    assert "has no novelty check" in out and "not a digit" not in out
    assert f"{images[0]}: ring" in out and "novelty 0" not in out
    cnn.save(cnn.load(run / "model.npz"), old, dataset="lines")
    assert main(["evaluate", str(old)]) == 0
    assert "has no novelty check" in capsys.readouterr().out


def test_a_model_with_the_older_check_still_refuses_and_says_what_it_lacks(
    digits, images, tmp_path, capsys
):
    """A file from before the learned weighing (novelty version 1) keeps its check."""
    old = tmp_path / "older.npz"
    model = cnn.load(digits)
    cnn.save(model, old, dataset="mnist", class_names=["bar", "ring"], input_shape=[1, 28, 28])
    X, y = strokes(200, np.random.default_rng(5))
    cnn.save_novelty(old, cnn.fit_novelty(model, X, y, rng=0, learn=False))
    assert main(["predict", str(old), *images]) == 0
    out = capsys.readouterr().out
    assert "has an older novelty check" in out and "train again" in out
    assert "not a digit" in out  # the filled disc is still refused
    assert main(["predict", str(digits), *images]) == 0
    assert "older novelty check" not in capsys.readouterr().out


def test_a_check_fitted_now_without_learned_weights_says_why_not_older(
    digits, images, tmp_path, capsys
):
    """A check fitted today whose weighing could not be learned (here: flat images, from
    which no outlier can be made) was stored as version 1 and called "an older novelty check
    (before 2026-12)"; the file now says why, predict repeats it, and older readers of
    version 1 still load it."""
    path = tmp_path / "flat.npz"
    model = cnn.load(digits)
    cnn.save(model, path, dataset="cifar10", class_names=["bar", "ring"], input_shape=[1, 28, 28])
    rng = np.random.default_rng(0)
    X = np.broadcast_to(rng.random((100, 1, 1, 1), dtype=np.float32), (100, 1, 28, 28))
    detector = cnn.fit_novelty(model, X.copy(), np.arange(100) % 2, rng=0)
    assert detector.combination is None and "outliers" in detector.unweighted
    cnn.save_novelty(path, detector)
    assert cnn.load_novelty(path).unweighted == detector.unweighted
    assert main(["predict", str(path), *images]) == 0
    out = capsys.readouterr().out
    assert "older novelty check" not in out and "non-digits" not in out
    assert "could not learn how to weigh them (only 0 outliers (10 are needed)" in out


def test_evaluate_reports_the_refusal_rate(run, capsys):
    assert main(["evaluate", str(run / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "Novelty check (score above" in out
    assert "refused as not one of its classes:" in out and "(120 images)" not in out
    refused = out.split("refused as not one of its classes: ")[1].split("%")[0]
    assert 0 <= float(refused) <= 25


def test_show_draws_every_step_and_errors_keep_their_exit_code(digits, images, tmp_path, capsys):
    figure = tmp_path / "steps.png"
    assert main(["predict", str(digits), images[0], "--show", str(figure)]) == 0
    assert figure.stat().st_size > 20_000
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert (
        main(["predict", str(digits), str(tmp_path / "broken.png"), images[0]]) == 1
    )  # one unreadable image: exit 1, go on
    captured = capsys.readouterr()
    assert "cannot read" in captured.err and f"{images[0]}: ring" in captured.out
    blank = png(tmp_path / "blank.png", np.full((40, 40), 0.8))
    assert main(["predict", str(digits), blank]) == 1
    assert "no digit found" in capsys.readouterr().err


def test_the_train_line_gives_each_files_threshold(tmp_path, capsys):
    """`cnn-numpy train` (best.npz: epoch 2, model.npz: epoch 5) printed 'score above 1.35
    refused ...; stored in model.npz and best.npz', but best.npz's own check refuses above
    1.26, which predict then prints: the line now gives both."""
    from cnn_numpy.tools.cli.novelty_check import score_text

    folder = tmp_path / "run"
    assert main(["train", "--no-report", "--out", str(folder)]) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("Novelty"))
    last = cnn.load_novelty(folder / "model.npz").threshold
    best = cnn.load_novelty(folder / "best.npz").threshold
    assert score_text(last) != score_text(best)  # the two files hold other weights
    assert line.startswith(
        f"Novelty check: score above {score_text(last)} refused (best.npz: above "
        f"{score_text(best)}), "
    ), line
    assert line.endswith("; stored in model.npz and best.npz")
