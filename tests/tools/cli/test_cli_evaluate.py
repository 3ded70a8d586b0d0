"""``cnn-numpy evaluate``: accuracy, per-class accuracy and confusion matrix of a saved model."""

import re

import numpy as np
from helpers.idx_fixtures import fake_files, write_files

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.evaluate import format_report


def test_report_numbers():
    y = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    text = format_report(y, predicted, ["cat", "dog", "cow"])
    assert "Accuracy: 0.6667 (4/6)" in text
    assert re.search(r"cat\s+0.5000\s+2", text) and re.search(r"dog\s+0.6667\s+3", text)
    assert re.search(r"dog\s+1\s+2\s+0$", text, re.MULTILINE)  # the confusion matrix row


def test_evaluate_lines_model_on_the_runs_own_test_split(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert (
        main(["train", "--epochs", "2", "--batch-size", "16", "--no-report", "--out", str(run_dir)])
        == 0
    )
    history = (run_dir / "history.csv").read_text().splitlines()
    test_acc = float(history[-1].split(",")[3])
    capsys.readouterr()
    assert main(["evaluate", str(run_dir / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert f"Accuracy: {test_acc:.4f}" in out
    assert "Per-class accuracy" in out and "vertical" in out and "Confusion matrix" in out


def test_evaluate_applies_the_models_normalisation(tmp_path, capsys):
    data_dir = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), n_test=40))
    model = cnn.lenet(10, rng=0)
    stats = {"mean": 0.5, "std": 0.25}
    path = cnn.save(
        model,
        tmp_path / "model.npz",
        dataset="mnist",
        normalize=stats,
        input_shape=[1, 28, 28],
        class_names=list(cnn.MNIST_CLASSES),
    )
    _, (X, y) = cnn.load_mnist(data_dir, download=False)
    expected = cnn.evaluate(model, cnn.normalize(X, **stats), y)
    assert main(["evaluate", str(path), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"Accuracy: {expected:.4f}" in out and "test set: mnist, 40 images" in out
    assert main(["evaluate", str(path), "--data-dir", str(data_dir), "--limit", "10"]) == 0
    assert "10 images" in capsys.readouterr().out


def test_evaluate_errors(tmp_path, capsys):
    path = cnn.save(cnn.seed_net(2, rng=0), tmp_path / "two.npz")
    assert main(["evaluate", str(path)]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    data_dir = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0)))
    assert main(["evaluate", str(path), "--dataset", "mnist", "--data-dir", str(data_dir)]) == 1
    assert "has 2 outputs, mnist has 10 classes" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert main(["evaluate", str(tmp_path / "junk.npz")]) == 1
    assert "not a cnn-numpy model file" in capsys.readouterr().err


def test_a_model_evaluated_on_another_dataset_says_so_before_the_numbers(tmp_path, capsys):
    fashion = write_files(tmp_path / "fashion", fake_files(np.random.default_rng(1), n_test=20))
    digits = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(2), n_test=20))
    path = cnn.save(
        cnn.lenet(10, rng=0),
        tmp_path / "model.npz",
        dataset="mnist",
        input_shape=[1, 28, 28],
        class_names=list(cnn.MNIST_CLASSES),
    )
    assert (
        main(["evaluate", str(path), "--data-dir", str(fashion), "--dataset", "fashion-mnist"]) == 0
    )
    out = capsys.readouterr().out
    note = out.find("was trained on mnist, not fashion-mnist")
    assert 0 <= note < out.find("Accuracy:")
    assert main(["evaluate", str(path), "--data-dir", str(digits)]) == 0  # its own: no note
    assert "was trained on" not in capsys.readouterr().out


def test_a_data_dir_that_is_a_file_is_one_error_line(tmp_path, capsys):
    folder = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0)))
    image_file = sorted(folder.iterdir())[0]  # a dataset file given as the folder
    model = cnn.save(cnn.seed_net(10, rng=0), tmp_path / "m.npz", input_shape=[1, 28, 28])
    code = main(["evaluate", str(model), "--dataset", "mnist", "--data-dir", str(image_file)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: the data folder {image_file} is a file, not a folder; give the folder that "
        f"holds the dataset's files, e.g. {folder}\n"
    )
