import json

import numpy as np
import pytest
from helpers.idx_fixtures import encode_idx, fake_files, write_files

from cnn_numpy.data import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    datasets,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    normalization_stats,
    normalize,
    read_idx,
)
from cnn_numpy.data.verify import MAX_PAYLOAD
from cnn_numpy.tools.cli import main

REAL_DEBIAN_DIR = datasets.debian_dir  # the tests replace it; this one asks dpkg


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No env var, no Debian package, no downloads, and ./data inside tmp_path."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "debian_dir", lambda package: None)
    monkeypatch.chdir(tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(datasets, "download_file", no_network)


@pytest.fixture
def files():
    return fake_files(np.random.default_rng(0), n_train=12, n_test=5)


def assert_matches(loaded, files):
    (X_train, y_train), (X_test, y_test) = loaded
    assert X_train.shape == (12, 1, 28, 28) and X_test.shape == (5, 1, 28, 28)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    raw = np.frombuffer(files["train-images-idx3-ubyte"], np.uint8, offset=16)
    np.testing.assert_array_equal(X_train.ravel() * 255, raw.astype(np.float32))
    np.testing.assert_array_equal(
        y_test, np.frombuffer(files["t10k-labels-idx1-ubyte"], np.uint8, offset=8)
    )


@pytest.mark.parametrize("gz", [True, False])
def test_root_is_the_dataset_folder(tmp_path, files, gz):
    write_files(tmp_path / "digits", files, gz=gz)
    assert_matches(load_mnist(tmp_path / "digits"), files)


def test_root_is_a_parent_folder(tmp_path, files):
    write_files(tmp_path / "shared" / "fashion-mnist", files)
    assert_matches(load_fashion_mnist(str(tmp_path / "shared")), files)


@pytest.mark.parametrize("sub", ["", "mnist"])
def test_environment_variable(monkeypatch, tmp_path, files, sub):
    write_files(tmp_path / "env" / "mnist", files)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env" / sub))
    assert_matches(load_mnist(), files)


def test_lookup_order_root_then_env_then_data_folder(monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    for place in ("root", "env", "data"):
        write_files(tmp_path / place / "mnist", fake_files(rng, n_train=12, n_test=5))
    first_label = {
        place: read_idx(tmp_path / place / "mnist" / "train-labels-idx1-ubyte.gz")
        for place in ("root", "env", "data")
    }

    def loaded_labels(root=None):
        return load_mnist(root, download=False)[0][1]

    assert np.array_equal(loaded_labels(), first_label["data"])  # ./data/mnist/
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env"))
    assert np.array_equal(loaded_labels(), first_label["env"])  # $CNN_NUMPY_DATA
    assert np.array_equal(loaded_labels(tmp_path / "root"), first_label["root"])  # root wins


def test_a_folder_named_after_another_dataset_is_not_used(monkeypatch, tmp_path, files):
    write_files(tmp_path / "mnist", files)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "mnist"))
    assert datasets.dataset_dir("mnist") == tmp_path / "mnist"
    assert datasets.dataset_dir("fashion-mnist") == tmp_path / "mnist" / "fashion-mnist"


def test_missing_files_without_download_raise(tmp_path, files):
    write_files(tmp_path / "data" / "mnist", {k: v for k, v in files.items() if "t10k" not in k})
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte, t10k-labels"):
        load_mnist(download=False)


def test_downloads_only_missing_files_and_only_once(monkeypatch, tmp_path, files):
    folder = write_files(
        tmp_path / "data" / "mnist",
        {k: v for k, v in files.items() if k != "t10k-labels-idx1-ubyte"},
    )
    calls = []

    def fake_download(filename, sha256, target_dir, mirrors, timeout, progress, max_payload):
        calls.append(filename)
        assert sha256 == datasets.DATASETS["mnist"].sha256[filename[:-3]]
        assert mirrors[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
        assert max_payload == MAX_PAYLOAD  # a gzip bomb from a mirror is not unpacked
        write_files(target_dir, {filename[:-3]: files[filename[:-3]]})

    monkeypatch.setattr(datasets, "download_file", fake_download)
    assert_matches(load_mnist(), files)
    assert calls == ["t10k-labels-idx1-ubyte.gz"]
    assert (folder / "t10k-labels-idx1-ubyte.gz").is_file()
    load_mnist()
    assert calls == ["t10k-labels-idx1-ubyte.gz"]  # a second run never downloads again


def test_fashion_mnist_uses_the_debian_folder(monkeypatch, tmp_path, files):
    write_files(tmp_path / "usr" / "share" / "fashion", files)
    monkeypatch.setattr(datasets, "debian_dir", lambda package: tmp_path / "usr/share/fashion")
    assert_matches(load_fashion_mnist(download=False), files)
    with pytest.raises(FileNotFoundError):
        load_mnist(download=False)  # MNIST has no Debian package


def test_debian_dir_is_none_without_dpkg_or_package(monkeypatch):
    REAL_DEBIAN_DIR.cache_clear()
    assert REAL_DEBIAN_DIR("no-such-package-cnn-numpy") is None  # dpkg -L fails, or no dpkg
    monkeypatch.setattr(datasets.shutil, "which", lambda name: None)
    assert REAL_DEBIAN_DIR("dataset-fashion-mnist") is None
    REAL_DEBIAN_DIR.cache_clear()


def test_inconsistent_files_raise(tmp_path, files):
    files["t10k-labels-idx1-ubyte"] = encode_idx(np.zeros(4, np.uint8))
    write_files(tmp_path / "a", files)
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_mnist(tmp_path / "a")
    files["t10k-labels-idx1-ubyte"] = encode_idx(np.full(5, 10, np.uint8))
    write_files(tmp_path / "b", files)
    with pytest.raises(ValueError, match="label 10 out of range"):
        load_mnist(tmp_path / "b")


def test_class_names():
    assert MNIST_CLASSES == tuple("0123456789")
    assert len(FASHION_MNIST_CLASSES) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_normalize():
    X = np.random.default_rng(0).random((20, 1, 4, 4), dtype=np.float32)
    stats = normalization_stats(X)
    assert set(stats) == {"mean", "std"} and all(type(v) is float for v in stats.values())
    Z = normalize(X, **stats)
    assert Z.dtype == np.float32
    assert abs(Z.mean()) < 1e-5 and abs(Z.std() - 1) < 1e-5
    np.testing.assert_array_equal(normalize(X), X)
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        normalize(X, 0.5, 0.0)


def test_cli_trains_on_idx_files_and_records_normalisation(tmp_path, files, capsys):
    write_files(tmp_path / "digits", files)
    code = main(
        [
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path / "digits"),
            "--limit",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            "run",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Data: mnist, 8 train / 5 test images of 1x28x28" in out
    assert "Model: lenet" in out and "Epoch 01" in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset"] == "mnist" and config["limit"] == 8
    assert config["normalize"]["std"] > 0


def test_cli_reports_a_failed_download_without_traceback(monkeypatch, tmp_path, capsys):
    def failing_download(filename, *args, **kwargs):
        raise datasets.DownloadError(f"could not download {filename}; mirrors tried: ...")

    monkeypatch.setattr(datasets, "download_file", failing_download)
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "empty")]) == 1
    message = capsys.readouterr().err
    assert message.startswith("error: could not download train-images-idx3-ubyte.gz")
    assert "fashion-mnist needs all four files in" in message and "t10k-labels" in message


def test_the_real_checksums_refuse_fixture_files(tmp_path, files):
    folder = write_files(tmp_path / "mnist", files, trusted=False)
    with pytest.raises(ValueError, match="is not the official mnist file"):
        load_mnist(str(folder), download=False)


@pytest.mark.parametrize("where", ["the root", "root/mnist"])
def test_a_data_folder_that_is_a_file_says_so(where, tmp_path):
    folder = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0)))
    given = next(folder.iterdir())  # one of the dataset's files, given as the folder
    if where == "root/mnist":  # a root holding a file named after the dataset
        given = tmp_path / "elsewhere"
        given.mkdir()
        (given / "mnist").write_bytes(b"not a folder")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder; give the folder"):
        load_mnist(given, download=False)
    if where == "the root":  # a folder under a file: nothing is downloaded there either
        with pytest.raises(NotADirectoryError, match=f"the data folder {given} is a file"):
            load_mnist(given / "deeper", download=True)


def test_a_cifar10_folder_that_is_a_file_says_so(tmp_path):
    given = tmp_path / "data_batch_1.bin"
    given.write_bytes(b"a batch file, not the folder")
    with pytest.raises(NotADirectoryError, match=f"the data folder {given} is a file, not a"):
        load_cifar10(given, download=True)  # nothing downloaded beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data_batch_1.bin"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: load_mnist(root=123), "root must be a path"),
        (lambda: load_cifar10(root=5), "root must be a path"),
        (lambda: load_mnist(download="no"), "download must be True or False"),
        (lambda: normalize(np.ones(3), mean="a"), "mean must be a finite number"),
        (lambda: normalize(np.ones(3), std=None), "std must be a finite number > 0"),
        (lambda: normalize(np.ones(3), std=0), "std must be a finite number > 0"),
    ],
)
def test_bad_loader_arguments_are_named(call, message):
    # download="no" is truthy: it must not start a download
    with pytest.raises(ValueError, match=message):
        call()
