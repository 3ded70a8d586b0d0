"""``cnn-numpy explain`` (heat maps over the prepared photo) and ``cnn-numpy attack``
(accuracy per eps, pictures), on small fixtures."""

import json

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 1-epoch lines run: model.npz with its novelty check."""
    folder = tmp_path_factory.mktemp("explain") / "run"
    assert (
        main(["train", "--epochs", "1", "--filters", "2", "--no-report", "--out", str(folder)]) == 0
    )
    return folder


@pytest.fixture
def photo(tmp_path):
    canvas = Image.new("L", (200, 200), 235)
    ImageDraw.Draw(canvas).line((100, 20, 100, 180), fill=30, width=14)  # a vertical line
    canvas.save(tmp_path / "line.png")
    return str(tmp_path / "line.png")


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_explain_draws_every_map_over_the_prepared_image(run, photo, tmp_path, capsys):
    out = tmp_path / "why.png"
    assert main(["explain", str(run / "model.npz"), photo, "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"{photo}: ") and "%" in line and f"figure: {out}" in line
    wide = png_size(out)[0]
    assert main(["explain", str(run / "model.npz"), photo, "--method", "gradcam", "--target",
                 "1", "--out", str(tmp_path / "one.png")]) == 0  # fmt: skip
    assert png_size(tmp_path / "one.png")[0] < wide / 2  # two panels, not five


def test_explain_several_images_and_errors(run, photo, tmp_path, capsys):
    missing = str(tmp_path / "missing.png")
    out = tmp_path / "fig.png"
    assert main(["explain", str(run / "model.npz"), photo, missing, photo, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: no such image file: {missing}\n"
    assert png_size(tmp_path / "fig-1.png") and png_size(tmp_path / "fig-3.png")
    assert main(["explain", str(run / "model.npz"), photo, "--target", "2"]) == 1
    assert "--target 2 is not a class" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "nothing.npz"), photo]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_explain_names_an_unreadable_image_once(run, tmp_path, capsys):
    """An error that names the file already is printed as predict prints it (was:
    'error: X.png: cannot read X.png: the file is empty ...')."""
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert main(["explain", str(run / "model.npz"), str(empty)]) == 1
    assert (
        capsys.readouterr().err
        == f"error: cannot read {empty}: the file is empty (0 bytes); copy it again\n"
    )


def test_explain_a_folder_explains_its_images_in_name_order(run, photo, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("b.png", "a.png"):
        (folder / name).write_bytes(open(photo, "rb").read())
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "why.png"
    assert main(["explain", str(run / "model.npz"), str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "notes.txt" in printed and printed.index("a.png") < printed.index("b.png")
    assert png_size(tmp_path / "why-1.png") and png_size(tmp_path / "why-2.png")
    (folder / "a.png").unlink(), (folder / "b.png").unlink()
    assert main(["explain", str(run / "model.npz"), str(folder)]) == 1
    assert "has no image files" in capsys.readouterr().err


@pytest.fixture
def mnist_model(tmp_path):
    data_dir = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), n_test=30))
    stats = {"mean": 0.4, "std": 0.3}
    path = cnn.save(cnn.lenet(10, rng=0), tmp_path / "model.npz", dataset="mnist",
                    normalize=stats, input_shape=[1, 28, 28],
                    class_names=list(cnn.MNIST_CLASSES))  # fmt: skip
    _, (X, y) = cnn.load_mnist(data_dir, download=False)
    X = cnn.normalize(X, **stats)
    clean = {n: cnn.evaluate(cnn.load(path), X[:n], y[:n]) for n in (8, 30)}
    return path, data_dir, clean


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_prints_the_table_and_draws_it(mnist_model, method, tmp_path, capsys):
    path, data_dir, clean = mnist_model
    out, limit = tmp_path / "attack", "8" if method == "pgd" else "30"
    assert main(["attack", str(path), "--data-dir", str(data_dir), "--method", method,
                 "--eps", "0.3,0.1", "--limit", limit, "--out", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert ("PGD-20" if method == "pgd" else "FGSM") in text
    assert f"{limit} mnist test images" in text
    report = json.loads((out / "accuracy.json").read_text())
    assert [r["eps"] for r in report["rows"]] == [0.0, 0.1, 0.3]
    assert report["rows"][0]["accuracy"] == pytest.approx(clean[int(limit)])
    assert f"{clean[int(limit)]:.2%}" in text
    assert report["rows"][2]["accuracy"] <= report["rows"][0]["accuracy"]
    assert png_size(out / "accuracy.png") and png_size(out / "examples.png")


def test_attack_on_one_image_says_image_and_draws_no_negative_eps(mnist_model, tmp_path, capsys):
    """--limit 1 --eps 0: 'on 1 mnist test image' (not 'images'), and the accuracy plot's
    eps axis starts at 0 (a single point at 0 drew ticks from -0.04)."""
    from cnn_numpy.tools.explain.figures import accuracy_plot

    path, data_dir, _ = mnist_model
    assert main(["attack", str(path), "--data-dir", str(data_dir), "--eps", "0", "--limit", "1",
                 "--out", str(tmp_path / "a")]) == 0  # fmt: skip
    assert "FGSM on 1 mnist test image\n" in capsys.readouterr().out
    for eps in ([0.0], [0.0, 0.1, 0.3]):
        fig = accuracy_plot(eps, {"FGSM": [1.0] * len(eps)}, "t")
        left, right = fig.axes[0].get_xlim()
        ticks = [t for t in fig.axes[0].get_xticks() if left <= t <= right]
        fig.clf()
        assert left <= 0 and min(ticks) == 0 and right >= max(eps)


def test_attack_bad_input(mnist_model, tmp_path, capsys):
    path, data_dir, _ = mnist_model
    for bad in ("0.1,2", "x", "-0.1"):
        with pytest.raises(SystemExit) as usage:
            main(["attack", str(path), "--data-dir", str(data_dir), "--eps", bad])
        assert usage.value.code == 2
        assert "pixel units" in capsys.readouterr().err
    lines_model = cnn.save(cnn.seed_net(2, rng=0), tmp_path / "lines.npz", dataset="lines")
    assert (
        main(["attack", str(lines_model), "--dataset", "mnist", "--data-dir", str(data_dir)]) == 1
    )
    assert "outputs" in capsys.readouterr().err


def test_attack_draws_a_colour_model_in_colour(tmp_path, capsys):
    """CIFAR-10's examples: clean, adversarial and their difference in RGB, not channel 0
    in grey; with eps 0 only, no examples.png is written nor printed, and an earlier run's
    is removed."""
    from helpers.cifar_fixtures import write_batches
    from helpers.colour_model import CARD, colour_resnet

    from cnn_numpy.tools.explain.figures import attack_grid

    write_batches(tmp_path / "cifar10", per_batch=6)
    path = cnn.save(colour_resnet(), tmp_path / "model.npz", **CARD)
    args = ["attack", str(path), "--data-dir", str(tmp_path), "--out"]
    assert main([*args, str(tmp_path / "a"), "--eps", "0.1"]) == 0
    assert png_size(tmp_path / "a" / "examples.png")
    assert "examples.png" in capsys.readouterr().out
    assert main([*args, str(tmp_path / "b"), "--eps", "0"]) == 0
    assert "examples.png" not in capsys.readouterr().out
    assert not (tmp_path / "b" / "examples.png").exists()
    assert main([*args, str(tmp_path / "a"), "--eps", "0"]) == 0  # an earlier run's examples
    assert "Removed" in capsys.readouterr().out
    assert not (tmp_path / "a" / "examples.png").exists()  # not left beside this run's table
    clean = np.random.default_rng(0).random((2, 3, 8, 8))
    fig = attack_grid(clean, clean + 0.05, [0, 1], ([0, 1], [1, 1]), ["a", "b"], "t")
    shapes = [ax.get_images()[0].get_array().shape for ax in fig.axes]
    fig.clf()
    assert shapes == [(8, 8, 3)] * 6


def test_explain_a_net_without_feature_maps_draws_the_maps_that_apply(tmp_path, capsys):
    """Linear layers only: --method all draws saliency, occlusion and IG with a note (it
    failed whole on Grad-CAM); --method gradcam is refused, naming the methods that work."""
    model = cnn.Sequential(cnn.Flatten(), cnn.Linear(784, 16, rng=0), cnn.ReLU(),
                           cnn.Linear(16, 10, rng=1))  # fmt: skip
    path = cnn.save(model, tmp_path / "mlp.npz", dataset="mnist", input_shape=[1, 28, 28],
                    class_names=list(cnn.MNIST_CLASSES))  # fmt: skip
    canvas = Image.new("L", (120, 120), 235)
    ImageDraw.Draw(canvas).line((60, 15, 60, 105), fill=30, width=10)
    canvas.save(tmp_path / "one.png")
    args = ["explain", str(path), str(tmp_path / "one.png"), "--out"]
    assert main([*args, str(tmp_path / "all.png")]) == 0
    assert "no Grad-CAM" in capsys.readouterr().out
    assert main([*args, str(tmp_path / "saliency.png"), "--method", "saliency"]) == 0
    assert png_size(tmp_path / "all.png")[0] > 3 * png_size(tmp_path / "saliency.png")[0] / 2
    assert main([*args, str(tmp_path / "cam.png"), "--method", "gradcam"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "use --method saliency" in err
    assert not (tmp_path / "cam.png").exists()
