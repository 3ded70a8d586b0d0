"""`cnn-numpy train --model seed` on MNIST stores a novelty check read by a LeNet trained
beside the seed net (--novelty-reader auto); `none`, and the lines by default, do not;
predict, evaluate and the live page answer with such a file; Ctrl-C while the reader trains
leaves the model files as they were."""

import json

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files
from helpers.run_fixtures import snapshot
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools.cli import build_parser, main, novelty_check
from cnn_numpy.tools.cli.settings import resolve_defaults
from cnn_numpy.tools.live.model_view import ModelView
from cnn_numpy.tools.novelty import stage_features

FAST = ["--epochs", "1", "--no-report", "--quiet"]


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """Generated MNIST-shaped files: 200 training images, 20 test images."""
    return write_files(
        tmp_path_factory.mktemp("reader") / "mnist", fake_files(np.random.default_rng(0), 200, 20)
    )


@pytest.fixture(scope="module")
def seed_run(mnist, tmp_path_factory):
    run = tmp_path_factory.mktemp("seed") / "run"
    args = ["train", "--dataset", "mnist", "--model", "seed", "--data-dir", str(mnist)]
    assert main([*args, *FAST, "--out", str(run)]) == 0
    return run


@pytest.fixture
def blob(tmp_path):
    """A filled grey square on white: a photo of nothing like a digit."""
    page = np.full((120, 120), 235, dtype=np.uint8)
    page[20:100, 20:100] = 60
    Image.fromarray(page).save(tmp_path / "blob.png")
    return str(tmp_path / "blob.png")


def test_the_seed_net_on_mnist_gets_a_reader_in_both_files(seed_run, capsys):
    for name in ("model.npz", "best.npz"):
        detector = cnn.load_novelty(seed_run / name)
        assert detector.reader is not None and detector.reader.layers[-1].out_features == 10
        assert len(detector.reader.layers) == 10 and len(cnn.load(seed_run / name).layers) == 5
    config = json.loads((seed_run / "config.json").read_text())
    assert config["novelty_reader"] == "auto"


def test_train_says_why_and_how_long_the_reader_took(mnist, tmp_path, capsys):
    args = ["train", "--dataset", "mnist", "--model", "seed", "--data-dir", str(mnist)]
    assert main([*args, *FAST, "--filters", "4", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert (
        "Novelty check: the seed net's 4 filters cannot tell letters from digits, so the "
        "check reads a LeNet trained beside the model for 1 epoch (" in out
    )
    assert "read by a LeNet trained beside the model; stored in model.npz and best.npz" in out


def test_none_and_the_lines_train_no_reader(mnist, tmp_path, capsys):
    args = ["train", "--dataset", "mnist", "--model", "seed", "--data-dir", str(mnist)]
    assert main([*args, *FAST, "--novelty-reader", "none", "--out", str(tmp_path / "a")]) == 0
    assert cnn.load_novelty(tmp_path / "a" / "best.npz").reader is None
    lines = ["train", "--epochs", "1", "--batch-size", "16", "--filters", "2", "--no-report"]
    assert main([*lines, "--out", str(tmp_path / "b")]) == 0
    assert cnn.load_novelty(tmp_path / "b" / "best.npz").reader is None
    assert "reads a LeNet" not in capsys.readouterr().out
    assert main([*lines, "--novelty-reader", "lenet", "--out", str(tmp_path / "c")]) == 0
    assert cnn.load_novelty(tmp_path / "c" / "best.npz").reader is not None
    assert "filters cannot tell other things from its classes, so" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*lines, "--novelty-reader", "lenett"])
    assert "did you mean --novelty-reader lenet?" in capsys.readouterr().err


def test_predict_evaluate_and_the_page_answer_with_the_reader(seed_run, mnist, blob, capsys):
    path = seed_run / "best.npz"
    assert main(["predict", str(path), blob]) == 0
    out = capsys.readouterr().out
    assert f"{blob}: not a digit (novelty " in out and "has no novelty check" not in out
    assert main(["evaluate", str(path), "--data-dir", str(mnist)]) == 0
    assert "read by a LeNet trained beside the model" in capsys.readouterr().out
    model, card = cnn.load(path), cnn.load_card(path)
    detector = cnn.load_novelty(path)
    view = ModelView(model, card, novelty=detector)
    image = cnn.preprocess_digit(blob).image
    answer = view.predict(image)["answer"]
    x = ((image - card["normalize"]["mean"]) / card["normalize"]["std"])[None, None]
    read = stage_features(detector.reader, x.astype(np.float32), detector.stages)
    score = detector.combine(*read)[0]  # the reader's features, not the seed net's
    assert answer["state"] == "refused" and answer["novelty"]["score"] == pytest.approx(score)


def test_ctrl_c_while_the_reader_trains_leaves_the_files_as_they_were(
    mnist, tmp_path, monkeypatch, capsys
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(novelty_check, "train_reader", interrupted)
    saved = {}
    real_store = novelty_check.store_novelty

    def spy(run_dir, *args, **kwargs):  # the files as training left them
        saved.update(snapshot(run_dir))
        return real_store(run_dir, *args, **kwargs)

    monkeypatch.setattr("cnn_numpy.tools.cli.train.store_novelty", spy)
    run = tmp_path / "run"
    args = ["train", "--dataset", "mnist", "--model", "seed", "--data-dir", str(mnist)]
    assert main([*args, *FAST, "--out", str(run)]) == 130
    assert snapshot(run) == saved and cnn.load_novelty(run / "best.npz") is None
    err = capsys.readouterr().err
    assert "Interrupted while training the novelty check's reader" in err
    assert (
        f"without a novelty check (predict will say so); add it with: cnn-numpy train --resume {run}"
        in err
    )
    monkeypatch.undo()  # the resume the note names: nothing left to train, the check is stored
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert cnn.load_novelty(run / "best.npz").reader is not None


@pytest.mark.parametrize(
    "flags, reads",
    [
        (["--dataset", "mnist", "--model", "seed"], True),
        (["--dataset", "fashion-mnist", "--model", "seed"], True),
        (["--dataset", "mnist"], False),  # lenet carries its own check
        (["--dataset", "mnist", "--model", "deep"], False),
        ([], False),  # the lines' seed net: the first run stays quick
        (["--dataset", "mnist", "--model", "seed", "--novelty-reader", "none"], False),
        (["--dataset", "mnist", "--novelty-reader", "lenet"], True),
    ],
)
def test_auto_reads_with_a_lenet_for_the_seed_net_on_mnist_and_fashion(flags, reads):
    args = build_parser().parse_args(["train", *flags])
    assert resolve_defaults(args).uses_reader() is reads
