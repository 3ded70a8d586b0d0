"""``cnn-numpy predict`` on a folder (every image in name order) and on a checkpoint (issue 31
items 3 and 8)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from cnn_numpy.tools.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small finished lines run: checkpoint.npz, model.npz and best.npz (with its check)."""
    run_dir = tmp_path_factory.mktemp("run") / "lines"
    argv = ["train", "--epochs", "1", "--filters", "2", "--limit", "60", "--batch-size", "8"]
    assert main([*argv, "--no-report", "--out", str(run_dir)]) == 0
    return run_dir


def stroke(vertical: bool) -> Image.Image:
    """A dark stroke on white paper, 60x60."""
    pixels = np.full((60, 60), 255, np.uint8)
    if vertical:
        pixels[10:50, 27:33] = 0
    else:
        pixels[27:33, 10:50] = 0
    return Image.fromarray(pixels)


def answers(out: str) -> list[str]:
    """The image each answer line names, in printed order."""
    lines = [line for line in out.splitlines() if not line.startswith("note")]
    return [line.split(": ")[0] for line in lines if "top " in line or "closest: " in line]


def test_a_folder_is_every_image_in_it_in_name_order(run, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    stroke(True).save(folder / "b-vertical.png")
    stroke(False).save(folder / "a-horizontal.JPG", format="JPEG")
    stroke(True).save(folder / "c.bmp")
    (folder / "notes.txt").write_text("my digits")
    (folder / "more").mkdir()
    (folder / ".DS_Store").write_bytes(b"\0")
    capsys.readouterr()
    assert main(["predict", str(run / "model.npz"), str(folder)]) == 0
    out = capsys.readouterr().out
    names = ["a-horizontal.JPG", "b-vertical.png", "c.bmp"]
    assert answers(out) == [str(folder / name) for name in names]
    assert "2 entries are not an image and skipped: more/, notes.txt" in out
    assert ".DS_Store" not in out


def test_folders_and_files_mix_in_the_order_given(run, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    stroke(True).save(folder / "one.png")
    single = tmp_path / "single.png"
    stroke(False).save(single)
    capsys.readouterr()
    assert main(["predict", str(run / "model.npz"), str(single), str(folder)]) == 0
    assert answers(capsys.readouterr().out) == [str(single), str(folder / "one.png")]


def test_a_folder_without_images_is_a_clear_error(run, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("nothing here")
    assert main(["predict", str(run / "model.npz"), str(empty)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: {empty} has no image files (.png, .jpg") and "Traceback" not in err
    )


def test_a_checkpoint_is_named_and_the_runs_model_files_are_offered(run, tmp_path, capsys):
    image = tmp_path / "one.png"
    stroke(True).save(image)
    capsys.readouterr()
    assert main(["predict", str(run / "checkpoint.npz"), str(image)]) == 0
    out = capsys.readouterr().out
    assert f"note: {run / 'checkpoint.npz'} is a training checkpoint" in out
    assert f"{run / 'best.npz'}, {run / 'model.npz'}" in out
    assert "saved before cnn-numpy had" not in out  # it is not an old model file
    assert answers(out) == [str(image)]  # and it still predicts, without the check


def test_a_checkpoint_of_a_run_without_model_files_says_how_to_finish_it(run, tmp_path, capsys):
    lone = tmp_path / "interrupted"
    lone.mkdir()
    (lone / "checkpoint.npz").write_bytes((run / "checkpoint.npz").read_bytes())
    image = tmp_path / "one.png"
    stroke(True).save(image)
    capsys.readouterr()
    assert main(["evaluate", str(lone / "checkpoint.npz"), "--limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "is a training checkpoint" in out
    assert f"finish its training with: cnn-numpy train --resume {lone}" in out


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_tiny_images_are_too_small_not_a_numpy_error(command, run, tmp_path, capsys):
    names = []
    for side in (1, 2):
        path = tmp_path / f"s{side:02d}.png"
        Image.fromarray(np.zeros((side, side), np.uint8)).save(path)
        names.append(str(path))
    assert main([command, str(run / "model.npz"), *names]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: {names[0]}: no digit found: the image is too small (1x1 pixels; at least "
        "20 pixels, e.g. 5x4, are needed, and a digit reads best at 28x28 or more)",
        f"error: {names[1]}: no digit found: the image is too small (2x2 pixels; at least "
        "20 pixels, e.g. 5x4, are needed, and a digit reads best at 28x28 or more)",
    ]


def test_a_check_fitted_on_few_images_is_not_called_older(run, tmp_path, capsys):
    """A check fitted on 60 images (an MNIST run with --limit 60) holds out 12: too few to
    learn how to weigh its stages, so none is learned.  predict used to call it "an older
    novelty check (before 2026-12) ... train again for the newer one", which training again
    repeats.  (A lines run fits its check on 2,000 fresh lines, whatever its --limit.)"""
    import cnn_numpy as cnn

    path = tmp_path / "few.npz"
    shutil.copy(run / "model.npz", path)
    X, y = cnn.synthetic_lines(30, rng=0)
    cnn.save_novelty(path, cnn.fit_novelty(cnn.load(path), X, y, rng=0))
    stroke(True).save(tmp_path / "one.png")
    assert main(["predict", str(path), str(tmp_path / "one.png")]) == 0
    out = capsys.readouterr().out
    assert "older novelty check" not in out
    assert "12 held-out images" in out and "too few" in out and "--limit" in out


def test_not_sure_never_stands_beside_100_percent():
    from cnn_numpy.tools.cli.predict import format_prediction, percent

    p = np.array([0.99996, 0.00004])
    line = format_prediction("a.png", p, ["0", "1"], top=2, min_confidence=1.0)
    assert line.startswith("a.png: not sure (best guess 0)") and ">99.9%" in line
    assert "100.0%" not in line
    assert percent(1.0) == "100.0%" and percent(0.973) == " 97.3%" and percent(0.9994) == " 99.9%"


def test_show_on_a_colour_model_is_refused_as_its_help_says(tmp_path, capsys):
    """--show draws a digit's preparation steps: grey models only; the help says so, and the
    error points to what draws a colour model's input (explain)."""
    import cnn_numpy as cnn

    model = tmp_path / "colour.npz"
    cnn.save(cnn.resnet(in_channels=3, rng=0), model, dataset="cifar10", input_shape=(3, 32, 32))
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(photo)
    assert main(["predict", str(model), str(photo), "--show", str(tmp_path / "s.png")]) == 1
    err = capsys.readouterr().err
    assert "grey models only" in err and "cnn-numpy explain" in err
    assert not list(tmp_path.glob("s*.png"))
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "grey models only" in " ".join(capsys.readouterr().out.split())
