"""StandardizedImages: the bytes kept, each read standardised as the float32 array would be."""

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files

from cnn_numpy.data import (
    StandardizedImages,
    load_cifar10,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    normalization_stats,
)
from cnn_numpy.data.batches import checked_split, iterate_minibatches

MEAN, STD = 0.13066047740240996, 0.30810780552710154  # MNIST's: mean and std not round


def float_path(images: np.ndarray, mean: float = MEAN, std: float = STD) -> np.ndarray:
    """How the loaders and the CLI made the standardised float32 array before the bytes."""
    X = images.astype(np.float32)
    X /= np.float32(255)
    X -= np.float32(mean)
    X /= np.float32(std)
    return X


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (7, 1, 5, 5), dtype=np.uint8)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype == np.float32 and a.shape == b.shape and a.tobytes() == b.tobytes()


INDICES = [
    0, 6, -1, -7, slice(None), slice(2, 5), slice(-3, None), slice(None, None, -2), slice(5, 2),
    np.array([3, 0, 3, -1]), [1, 2], np.array([], np.intp), np.arange(7) % 2 == 0,
    (2, 0), (-1, 0, slice(1, 3)), (slice(None), 0, 4, 4), (Ellipsis, 2), (np.array([0, 5]), 0, 1),
]  # fmt: skip


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_every_read_is_the_float_arrays_to_the_last_bit(images, index):
    X = StandardizedImages(images, MEAN, STD)
    assert same_bits(X[index], float_path(images)[index])


def test_the_whole_array_and_what_an_array_tells(images):
    X = StandardizedImages(images, MEAN, STD)
    assert same_bits(np.asarray(X), float_path(images))
    assert np.asarray(X, np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="made when read, not viewed"):
        np.asarray(X, copy=False)
    assert (len(X), X.shape, X.ndim, X.dtype) == (7, (7, 1, 5, 5), 4, np.float32)
    assert X.images is images  # the bytes themselves: no copy
    assert "uint8 -> float32" in repr(X)


@pytest.mark.parametrize("index", [7, -8, np.array([0, 7]), 1.0, "a", (0, 0, 0, 0, 0)], ids=repr)
def test_a_bad_index_is_refused_as_an_ndarray_refuses_it(images, index):
    with pytest.raises(Exception) as theirs:
        float_path(images)[index]
    with pytest.raises(type(theirs.value)) as ours:
        StandardizedImages(images, MEAN, STD)[index]
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "images, std, message",
    [
        (np.zeros((2, 1, 3, 3), np.float32), 1.0, "must be a uint8 array .* got float32"),
        (np.zeros((2, 3, 3), np.uint8), 1.0, r"\(N, C, H, W\), got uint8 \(2, 3, 3\)"),
        ([[[[0]]]], 1.0, "must be a uint8 array .* got list"),
        (np.zeros((2, 1, 3, 3), np.uint8), 0.0, "std must be a finite number > 0"),
    ],
)
def test_what_it_holds_is_checked(images, std, message):
    with pytest.raises(ValueError, match=message):
        StandardizedImages(images, 0.5, std)


def test_normalization_stats_of_the_bytes_are_the_float_arrays_to_the_last_bit():
    # 1,100 images of 28x28: 105.3 of NumPy's 8,192-value buffers and 3 slices of 512 images,
    # so the summation order counts; the float32 array is the one the loaders gave before
    images = np.random.default_rng(1).integers(0, 256, (1100, 1, 28, 28), dtype=np.uint8)
    unit = images.astype(np.float32)
    unit /= np.float32(255)
    assert normalization_stats(images) == normalization_stats(unit)
    assert normalization_stats(images[:1]) == normalization_stats(unit[:1])


def test_fit_and_evaluate_take_it_as_it_is_a_batch_at_a_time(images, monkeypatch):
    X, y = StandardizedImages(images, MEAN, STD), np.arange(7) % 3
    monkeypatch.setattr(StandardizedImages, "__array__", None)  # np.asarray(X) would fail
    assert checked_split((X, y), "train")[0] is X
    ours = list(iterate_minibatches(X, y, 3, rng=np.random.default_rng(2)))
    theirs = iterate_minibatches(float_path(images), y, 3, rng=np.random.default_rng(2))
    for (xb, yb), (xf, yf) in zip(ours, theirs, strict=True):
        assert same_bits(xb, xf) and np.array_equal(yb, yf)


def test_the_loaders_give_the_bytes_when_asked(tmp_path):
    files = fake_files(np.random.default_rng(0), n_train=12, n_test=5)
    write_files(tmp_path / "mnist", files)
    (X, y), (X_test, _) = load_dataset("mnist", tmp_path, download=False, dtype=np.uint8)
    raw = np.frombuffer(files["train-images-idx3-ubyte"], np.uint8, offset=16)
    assert X.dtype == X_test.dtype == np.uint8 and X.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(X.ravel(), raw)
    ((floats, _),) = load_dataset("mnist", tmp_path, download=False, splits=("train",))
    assert floats.dtype == np.float32 and floats.tobytes() == float_path(X, 0.0, 1.0).tobytes()
    (mnist, _), _ = load_mnist(tmp_path, download=False, dtype=np.uint8)
    assert mnist.tobytes() == X.tobytes()
    write_files(tmp_path / "fashion-mnist", files)
    assert load_fashion_mnist(tmp_path, download=False, dtype="uint8")[0][0].dtype == np.uint8
    message = "dtype must be np.float32 .* or np.uint8"
    with pytest.raises(ValueError, match=message):
        load_dataset("mnist", tmp_path, download=False, dtype=np.float64)
    with pytest.raises(ValueError, match=message):
        load_cifar10(tmp_path, download=False, dtype=np.float64)
