"""Dataset files on disk are checked by checksum (data/verify.py): the answer is cached in
the user's cache folder, never in the data folder; a damaged file, another dataset's file or
a renamed file is an error saying what it is and what to do."""

import dataclasses
import gzip
import re
import warnings

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, sha256, write_files

from cnn_numpy.data import (
    DatasetFileError,
    IdxError,
    datasets,
    load_fashion_mnist,
    load_mnist,
    verify,
)
from cnn_numpy.tools.cli import main

STEMS = list(datasets.FILES)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No downloads, ./data inside tmp_path, a fresh process memory of checked files, and
    fixture checksums registered as the real ones of both datasets."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(verify, "_checked", {})

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(datasets, "download_file", no_network)


@pytest.fixture
def known(monkeypatch):
    """``{"mnist": files, "fashion-mnist": files}``: generated files whose checksums stand in
    for the real datasets' (monkeypatched into the checksum table)."""
    rng = np.random.default_rng(0)
    files = {name: fake_files(rng, n_train=12, n_test=5) for name in datasets.DATASETS}
    for name, info in list(datasets.DATASETS.items()):
        checksums = {stem: sha256(data) for stem, data in files[name].items()}
        monkeypatch.setitem(datasets.DATASETS, name, dataclasses.replace(info, sha256=checksums))
    return files


def hashes(monkeypatch):
    """The names of the files hashed from now on."""
    hashed = []
    original = verify.payload_sha256
    monkeypatch.setattr(
        verify,
        "payload_sha256",
        lambda path, limit: hashed.append(path.name) or original(path, limit),
    )
    return hashed


def listing(folder):
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_checked_once_cached_in_the_user_cache_folder_and_again_when_changed(
    monkeypatch, tmp_path, known
):
    monkeypatch.delenv(verify.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = write_files(tmp_path / "digits", known["mnist"], trusted=False)
    before = listing(folder)
    hashed = hashes(monkeypatch)
    load_mnist(folder, download=False)
    assert sorted(hashed) == sorted(f"{stem}.gz" for stem in STEMS)
    assert listing(folder) == before  # nothing written into the data folder
    cache = tmp_path / "xdg" / "cnn-numpy" / verify.CACHE_FILE
    assert str((folder / "t10k-labels-idx1-ubyte.gz").resolve()) in cache.read_text()
    verify._checked.clear()  # a new process: only the cache file remembers
    load_mnist(folder, download=False)
    assert len(hashed) == 4  # nothing hashed again
    # flip one label: same size, new content and time -> checked again, and refused
    labels = bytearray(known["mnist"]["t10k-labels-idx1-ubyte"])
    labels[-1] = (labels[-1] + 1) % 10
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(
        DatasetFileError,
        match="t10k-labels-idx1-ubyte.gz is not the official mnist file.*damaged or was "
        "altered. Delete it and run again",
    ):
        load_mnist(folder, download=False)
    assert len(hashed) == 5


@pytest.mark.parametrize(
    "env, where",
    [
        ({"CNN_NUMPY_CACHE": "mine"}, "mine"),
        ({"CNN_NUMPY_CACHE": "mine", "XDG_CACHE_HOME": "xdg"}, "mine"),
        ({"XDG_CACHE_HOME": "xdg"}, "xdg/cnn-numpy"),
        ({"HOME": "home"}, "home/.cache/cnn-numpy"),
        ({"HOME": "home", "XDG_CACHE_HOME": "relative/is/ignored"}, "home/.cache/cnn-numpy"),
    ],
)
def test_the_cache_folder(monkeypatch, tmp_path, known, env, where):
    for name in ("CNN_NUMPY_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        relative = name == "XDG_CACHE_HOME" and value.startswith("relative")
        monkeypatch.setenv(name, value if relative else str(tmp_path / value))
    assert verify.cache_dir() == tmp_path / where
    load_mnist(write_files(tmp_path / "digits", known["mnist"], trusted=False), download=False)
    assert (tmp_path / where / verify.CACHE_FILE).is_file()


def test_a_read_only_data_folder_works_without_a_word(monkeypatch, tmp_path, known, capsys):
    folder = write_files(tmp_path / "digits", known["mnist"], trusted=False)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)  # (root may still write: the listing below is the check that holds)
    before = listing(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_mnist(folder, download=False)
    finally:
        folder.chmod(0o755)
    assert listing(folder) == before
    assert capsys.readouterr() == ("", "")


def test_an_unwritable_or_damaged_cache_is_no_error(monkeypatch, tmp_path, known, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(verify.CACHE_ENV, str(tmp_path / "a-file" / "cache"))  # cannot be made
    folder = write_files(tmp_path / "digits", known["mnist"], trusted=False)
    hashed = hashes(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist(folder, download=False)
        load_mnist(folder, download=False)
    assert len(hashed) == 4  # remembered for the process
    assert capsys.readouterr() == ("", "")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / verify.CACHE_FILE).write_text("{ damaged")
    monkeypatch.setenv(verify.CACHE_ENV, str(tmp_path / "cache"))
    verify._checked.clear()
    load_mnist(folder, download=False)
    assert len(hashed) == 8  # the damaged cache was ignored ...
    verify._checked.clear()
    load_mnist(folder, download=False)
    assert len(hashed) == 8  # ... and written again


@pytest.mark.parametrize("folder_name", ["fashion-mnist", "stuff"])
def test_another_datasets_files_are_named_with_what_to_pass(tmp_path, known, folder_name):
    folder = write_files(tmp_path / folder_name, known["fashion-mnist"], trusted=False)
    with pytest.raises(DatasetFileError) as err:
        load_mnist(folder)
    message = str(err.value)
    assert re.search(r"is fashion-mnist's (train|t10k)-\S+ file, not mnist's", message)
    assert "--dataset fashion-mnist" in message and "load_dataset('fashion-mnist')" in message
    import cnn_numpy  # the call the message names is there, where the loaders are

    (X_train, _), _ = cnn_numpy.load_dataset("fashion-mnist", folder, download=False)
    assert "load_dataset" in cnn_numpy.__all__ and X_train.shape[1:] == (1, 28, 28)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.gz" for s in STEMS)
    assert not (folder / "mnist").exists()  # no download into a subfolder


def test_the_cli_names_the_dataset_in_the_folder(tmp_path, known, capsys):
    folder = write_files(tmp_path / "fashion-mnist", known["fashion-mnist"], trusted=False)
    assert main(["train", "--dataset", "mnist", "--data-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "fashion-mnist's" in err and "--dataset fashion-mnist" in err
    assert not (folder / "mnist").exists()


def test_a_folder_named_after_another_dataset_that_holds_this_one_is_used(tmp_path, known):
    folder = write_files(tmp_path / "fashion-mnist", known["mnist"], trusted=False)
    (_, y_train), _ = load_mnist(folder)
    np.testing.assert_array_equal(
        y_train, np.frombuffer(known["mnist"]["train-labels-idx1-ubyte"], np.uint8, offset=8)
    )
    assert not (folder / "mnist").exists()


def test_unknown_files_in_a_folder_named_after_another_dataset_are_left_alone(tmp_path, known):
    folder = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(9)), trusted=False)
    with pytest.raises(FileNotFoundError, match="fashion-mnist: missing"):
        load_fashion_mnist(folder, download=False)  # looks in mnist/fashion-mnist/, as before


def test_a_renamed_file_is_named(tmp_path, known):
    files = dict(known["mnist"])
    files["train-labels-idx1-ubyte"] = files["t10k-labels-idx1-ubyte"]
    files["train-images-idx3-ubyte"] = files["t10k-images-idx3-ubyte"]
    with pytest.raises(
        DatasetFileError,
        match="train-images-idx3-ubyte.gz is mnist's t10k-images-idx3-ubyte file, named as its "
        "train-images-idx3-ubyte file",
    ):
        load_mnist(write_files(tmp_path / "mnist", files, trusted=False))


def truncated(data: bytes) -> bytes:
    packed = gzip.compress(data)
    return packed[: len(packed) // 2]


def corrupt(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data))
    packed[len(packed) // 2] ^= 0xFF
    return bytes(packed)


@pytest.mark.parametrize(
    "damage, what",
    [
        (truncated, "is truncated"),
        (corrupt, "is corrupt"),
        (lambda data: b"<html><body>Not Found</body></html>", "is named .gz but is not a gzip"),
    ],
)
@pytest.mark.parametrize("trusted", [False, True])
def test_a_damaged_file_in_a_dataset_folder(tmp_path, known, capsys, damage, what, trusted):
    folder = write_files(tmp_path / "mnist", known["mnist"], trusted=trusted)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(damage(known["mnist"]["t10k-images-idx3-ubyte"]))
    with pytest.raises(ValueError, match=what) as err:
        load_mnist(folder)
    assert isinstance(err.value, (IdxError, DatasetFileError))
    assert str(path) in str(err.value) and "Delete it and run again" in str(err.value)
    argv = ["train", "--dataset", "mnist", "--data-dir", str(folder), "--epochs", "1"]
    assert main(argv) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"error: {path}") and what in message
    assert "Traceback" not in message


def test_a_damaged_file_that_was_verified_before_is_not_trusted(tmp_path, known, monkeypatch):
    """The cache says a file was good; the file is cut short later (same path, new size)."""
    folder = write_files(tmp_path / "mnist", known["mnist"], trusted=False)
    load_mnist(folder)
    verify._checked.clear()
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(truncated(known["mnist"]["train-images-idx3-ubyte"]))
    with pytest.raises(IdxError, match=f"{path} is truncated"):
        load_mnist(folder)


def test_the_debian_folder_comes_before_the_check_of_a_misnamed_folder(
    monkeypatch, tmp_path, known
):
    """$CNN_NUMPY_DATA at an MNIST folder and Debian's Fashion-MNIST installed: Fashion-MNIST
    comes from Debian's folder, as before, not an error about the MNIST files."""
    mnist = write_files(tmp_path / "mnist", known["mnist"], trusted=False)
    system = write_files(tmp_path / "usr/share/fashion", known["fashion-mnist"], trusted=False)
    monkeypatch.setenv(datasets.ENV_VAR, str(mnist))
    monkeypatch.setattr(datasets, "debian_dir", lambda package: system)
    (_, y_train), _ = load_fashion_mnist(download=False)
    expected = known["fashion-mnist"]["train-labels-idx1-ubyte"]
    np.testing.assert_array_equal(y_train, np.frombuffer(expected, np.uint8, offset=8))
    with pytest.raises(DatasetFileError, match="is mnist's .* not fashion-mnist's"):
        monkeypatch.setattr(datasets, "debian_dir", lambda package: None)
        load_fashion_mnist(download=False)
