"""The files export, predict and explain write: never one of their inputs (the model, a
photo), never another model, only in a format that can be written; and explain takes the
colour models predict takes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers.colour_model import CARD, colour_resnet, photo
from helpers.model_files import save_mnist_lenet
from helpers.onnx_helpers import need, run_onnx
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main


@pytest.fixture
def model(tmp_path):
    """An untrained LeNet with a full model card (predict and explain take it as is)."""
    return save_mnist_lenet(tmp_path / "model.npz")


@pytest.fixture
def digit(tmp_path):
    canvas = Image.new("L", (120, 120), 235)
    ImageDraw.Draw(canvas).line((60, 15, 60, 105), fill=30, width=10)  # a "1"
    canvas.save(tmp_path / "one.png")
    return tmp_path / "one.png"


def refused(capsys, *words) -> str:
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    return err


def test_export_does_not_replace_another_model(model, tmp_path, capsys):
    need("onnx")
    victim = cnn.save(cnn.seed_net(rng=1), tmp_path / "victim.npz")
    before = victim.read_bytes()
    assert main(["export", str(model), str(victim)]) == 1
    refused(capsys, "victim.npz already exists and is not an ONNX file", "a zip file",
            "another name ending in .onnx", "delete the file first")  # fmt: skip
    assert victim.read_bytes() == before
    disguised = tmp_path / "disguised.onnx"  # a model renamed .onnx is still a model
    disguised.write_bytes(before)
    assert main(["export", str(model), str(disguised)]) == 1
    refused(capsys, "not an ONNX file")
    assert disguised.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert main(["export", str(model), str(notes)]) == 1
    refused(capsys, "its name does not end in .onnx")
    assert notes.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "disguised.onnx", "model.npz", "notes.txt", "victim.npz"]  # fmt: skip


def test_export_replaces_an_existing_onnx_file(model, tmp_path, capsys):
    need("onnx")
    out = tmp_path / "m.onnx"
    assert main(["export", str(model), str(out)]) == 0
    assert main(["export", str(model), str(out), "--softmax"]) == 0
    assert "-> probabilities" in capsys.readouterr().out
    x = np.zeros((2, 1, 28, 28), np.float32)
    np.testing.assert_allclose(run_onnx(out, x).sum(axis=1), 1, rtol=1e-5)


def test_export_refuses_the_model_file_under_another_name(model, tmp_path, monkeypatch, capsys):
    need("onnx")
    before = model.read_bytes()
    link = tmp_path / "link.onnx"
    os.symlink(model, link)
    monkeypatch.chdir(tmp_path)
    for out in ("model.npz", "./sub/../model.npz", str(model), "link.onnx"):
        assert main(["export", str(model), out]) == 1, out
        refused(capsys, "a file this command reads; writing it would overwrite it")
    assert model.read_bytes() == before


def test_explain_gives_two_images_of_one_name_two_figures(
    model, digit, tmp_path, monkeypatch, capsys
):
    """a/one.png and b/one.png (or one.png and one.jpg): each its own figure, not the
    second written over the first under the one name both lines print."""
    monkeypatch.chdir(tmp_path)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "one.png").write_bytes(digit.read_bytes())
    Image.open(digit).save(tmp_path / "a" / "one.jpg")
    args = ["a/one.png", "b/one.png", "a/one.jpg", "--method", "saliency"]
    assert main(["explain", str(model), *args]) == 0
    out = capsys.readouterr().out
    names = ["one-why.png", "one-why-2.png", "one-why-3.png"]
    assert [line.split("figure: ")[1] for line in out.splitlines() if "figure: " in line] == names
    assert all((tmp_path / name).is_file() for name in names)


@pytest.mark.parametrize("command, flag", [("predict", "--show"), ("explain", "--out")])
def test_a_figure_never_replaces_an_input(command, flag, model, digit, tmp_path, capsys):
    before = digit.read_bytes()
    assert main([command, str(model), str(digit), flag, str(digit)]) == 1
    refused(capsys, f"{digit} is {digit}, a file this command reads")
    second = tmp_path / "fig-2.png"  # several images: fig-1.png, fig-2.png
    second.write_bytes(before)
    assert (
        main([command, str(model), str(digit), str(second), flag, str(tmp_path / "fig.png")]) == 1
    )
    refused(capsys, "fig-2.png")
    assert digit.read_bytes() == before and second.read_bytes() == before
    assert not (tmp_path / "fig-1.png").exists()  # refused before any work


def test_explain_default_figure_never_replaces_an_input(
    model, digit, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    named = tmp_path / "one-why.png"  # explain would write one-why-why.png: fine
    named.write_bytes(digit.read_bytes())
    assert main(["explain", str(model), "one-why.png", "--method", "saliency"]) == 0
    assert (tmp_path / "one-why-why.png").is_file()
    os.rename(tmp_path / "one-why-why.png", tmp_path / "x-why.png")
    os.rename(named, tmp_path / "x.png")  # x.png -> x-why.png is an input too
    before = (tmp_path / "x-why.png").read_bytes()
    assert main(["explain", str(model), "x.png", "x-why.png"]) == 1
    refused(capsys, "x-why.png is x-why.png, a file this command reads")
    assert (tmp_path / "x-why.png").read_bytes() == before


@pytest.mark.parametrize("command, flag", [("predict", "--show"), ("explain", "--out")])
def test_a_figure_format_matplotlib_cannot_write_is_refused(command, flag, model, digit,
                                                            tmp_path, capsys):  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main([command, str(model), str(digit), flag, str(tmp_path / "x.txt")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot draw a figure as .txt" in err and "Traceback" not in err
    assert all(f".{suffix}" in err for suffix in ("png", "jpg", "pdf", "svg"))
    assert not (tmp_path / "x.txt").exists()


def test_explain_writes_the_format_its_name_asks_for(model, digit, tmp_path, capsys):
    assert main(["explain", str(model), str(digit), "--method", "saliency",
                 "--out", str(tmp_path / "why.pdf")]) == 0  # fmt: skip
    assert (tmp_path / "why.pdf").read_bytes().startswith(b"%PDF")
    assert main(["explain", str(model), str(digit), "--method", "saliency",
                 "--out", str(tmp_path / "why.svg")]) == 0  # fmt: skip
    assert b"<svg" in (tmp_path / "why.svg").read_bytes()[:2000]


def test_explain_takes_a_colour_model_as_predict_does(tmp_path, capsys):
    path = cnn.save(colour_resnet(), tmp_path / "cifar.npz", **CARD)
    Image.fromarray(photo(60, 90)).save(tmp_path / "colour.jpg")
    args = [str(path), str(tmp_path / "colour.jpg")]
    assert main(["predict", *args]) == 0
    assert main(["explain", *args, "--out", str(tmp_path / "why.png")]) == 0
    out = capsys.readouterr().out
    assert out.count("colour.jpg: ") == 2 and "figure: " in out
    with Image.open(tmp_path / "why.png") as figure:
        assert figure.format == "PNG" and figure.size[0] > 4 * figure.size[1]  # five panels


@pytest.mark.parametrize("command, flag", [("predict", "--show"), ("explain", "--out")])
def test_no_figure_goes_into_a_folder_being_read(command, flag, model, digit, tmp_path, capsys):
    """`predict M digits/ --show digits/steps.png` twice: the second run read the first's
    figures as digits (and answered "not a digit" for them)."""
    folder = tmp_path / "digits"
    folder.mkdir()
    (folder / "one.png").write_bytes(digit.read_bytes())
    assert main([command, str(model), str(folder), flag, str(folder / "fig.png")]) == 1
    refused(capsys, f"{flag} {folder / 'fig.png'} would write figures into {folder}")
    assert sorted(p.name for p in folder.iterdir()) == ["one.png"]
    assert main([command, str(model), str(folder), flag, str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").is_file()


def test_explains_default_figure_never_goes_into_a_folder_being_read(
    model, digit, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(digit.parent)  # IMAGE-why.png is written here, the folder given
    assert main(["explain", str(model), ".", "--method", "saliency"]) == 1
    refused(capsys, "IMAGE-why.png would write figures into .", "--out ../why.png")
    assert not list(digit.parent.glob("*-why.png"))


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--epochs", "1", "--out", ""],
        ["diagnose", "--checks", "labels", "--out", ""],
        ["attack", "MODEL", "--limit", "5", "--out", ""],
        ["predict", "MODEL", "DIGIT", "--show", ""],
        ["export", "MODEL", ""],
    ],
)
def test_an_empty_output_name_is_refused(argv, model, digit, tmp_path, monkeypatch, capsys):
    """``--out ""`` (an unset shell variable in quotes) is Path(""), the current folder: the
    run's files went in among the user's (was: train, attack and diagnose wrote there)."""
    argv = [{"MODEL": str(model), "DIGIT": str(digit)}.get(a, a) for a in argv]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own refusal
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert (
        "is empty; give a folder name" if "--out" in argv else "is empty; give a file name"
    ) in err
    assert list(here.iterdir()) == []
