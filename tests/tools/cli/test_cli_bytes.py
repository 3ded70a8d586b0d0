"""The CLI's data keeps the files' bytes (StandardizedImages): a quarter of float32's memory,
the same standardised values, the same runs."""

import numpy as np
import pytest
from helpers.cifar_fixtures import write_batches
from helpers.idx_fixtures import encode_idx, fake_files, write_files

from cnn_numpy.data import StandardizedImages, load_dataset, normalization_stats
from cnn_numpy.data.cifar10 import load_cifar10
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.dataset import DataSource, load_data


def float_path(X: np.ndarray, stats: dict) -> np.ndarray:
    """What load_data made before: the float32 array standardised in place."""
    X = X.copy()
    X -= np.float32(stats["mean"])
    X /= np.float32(stats["std"])
    return X


@pytest.fixture
def mnist(tmp_path):
    return write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 150, 9))


@pytest.mark.parametrize("limit", [None, 25])
def test_mnist_is_held_as_bytes_and_reads_as_the_float_array_did(mnist, limit):
    data = load_data(DataSource("mnist", str(mnist), limit=limit))
    for (X, _), n in ((data.train, limit or 150), (data.test, 9)):
        assert isinstance(X, StandardizedImages) and X.images.dtype == np.uint8 and len(X) == n
    (train, _), (test, _) = load_dataset("mnist", mnist, download=False)  # float32 in [0, 1]
    train = train[:limit]
    assert data.normalize == normalization_stats(train)
    for X, floats in ((data.train[0], train), (data.test[0], test)):
        assert np.asarray(X).tobytes() == float_path(floats, data.normalize).tobytes()


def test_cifar10_is_held_as_bytes_too(tmp_path):
    write_batches(tmp_path)
    data = load_data(DataSource("cifar10", str(tmp_path)))
    assert data.train[0].images.dtype == np.uint8 and data.image_shape == (3, 32, 32)
    (train, _), (test, _) = load_cifar10(tmp_path, download=False)
    assert data.normalize == normalization_stats(train)
    assert np.asarray(data.test[0]).tobytes() == float_path(test, data.normalize).tobytes()


def test_a_models_normalisation_is_applied_to_the_bytes(mnist):
    stats = {"mean": 0.25, "std": 0.5}
    data = load_data(DataSource("mnist", str(mnist)), ("test",), normalization=stats)
    ((test, _),) = load_dataset("mnist", mnist, download=False, splits=("test",))
    assert data.train is None and data.normalize == stats
    assert np.asarray(data.test[0]).tobytes() == float_path(test, stats).tobytes()


def test_the_lines_stay_a_float_array():
    data = load_data(DataSource("lines"))
    assert type(data.train[0]) is np.ndarray and data.train[0].dtype == np.float32


@pytest.mark.parametrize("workers", ["1", "2"])
def test_train_on_mnist_bytes_end_to_end(mnist, tmp_path, capsys, workers):
    """The default MNIST run's parts: LeNet, the augmentation and its picture, the novelty
    check with its reader, the report; then evaluate on the saved model."""
    argv = ["train", "--dataset", "mnist", "--data-dir", str(mnist), "--epochs", "1",
            "--batch-size", "8", "--augment", "shift", "--workers", workers,
            "--out", str(tmp_path / "run"), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    stats = normalization_stats(load_dataset("mnist", mnist, download=False)[0][0])
    assert f"standardised with the training mean {stats['mean']:.4f}" in out
    assert "Epoch 01" in out and "Novelty check:" in out and "Report:" in out
    assert (tmp_path / "run" / "augmentation.png").is_file()
    assert main(["evaluate", str(tmp_path / "run" / "model.npz"), "--data-dir", str(mnist)]) == 0
    assert "test set: mnist, 9 images" in capsys.readouterr().out


@pytest.mark.parametrize("limit", [[], ["--limit", "3"]])
def test_training_images_of_one_shade_are_a_clear_error(tmp_path, capsys, limit):
    """All pixels alike: std 0. Before, the division made NaN and the run failed on saving
    ("save: card's normalize must be ..."); now the data is named, with what to check."""
    blank, labels = np.zeros((12, 28, 28), np.uint8), (np.arange(12) % 10).astype(np.uint8)
    files = {"train-images-idx3-ubyte": encode_idx(blank), "train-labels-idx1-ubyte": encode_idx(labels),
             "t10k-images-idx3-ubyte": encode_idx(blank[:5]), "t10k-labels-idx1-ubyte": encode_idx(labels[:5])}  # fmt: skip
    folder = write_files(tmp_path / "mnist", files)
    argv = ["train", "--dataset", "mnist", "--data-dir", str(folder), "--out", str(tmp_path / "r")]
    assert main([*argv, *limit]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: mnist: every pixel of the {3 if limit else 12} training images")
    assert "is 0/255 (std 0)" in err and "Traceback" not in err
    assert ("a larger --limit" in err) == bool(limit)
