"""CIFAR-10 from generated files in the official binary format: read without pickle into
(N, 3, 32, 32) float32, the archive checked by MD5 and unpacked safely, damaged files named."""

from __future__ import annotations

import stat

import numpy as np
import pytest
from helpers.cifar_fixtures import (
    FOLDER,
    archive_entries,
    records,
    write_archive,
    write_batches,
)

from cnn_numpy import CIFAR10_CLASSES, load_cifar10
from cnn_numpy.data import cifar10, download
from cnn_numpy.data.cifar10 import CifarError


def test_the_unpacked_batches_are_read_in_the_official_layout(tmp_path):
    held = write_batches(tmp_path)
    (X_train, y_train), (X_test, y_test) = load_cifar10(tmp_path, download=False)
    assert X_train.shape == (20, 3, 32, 32) and X_train.dtype == np.float32
    assert y_train.dtype == np.int64 and X_test.shape == (4, 3, 32, 32)
    images, labels = held["data_batch_2.bin"]
    np.testing.assert_array_equal(X_train[4:8], images / np.float32(255))
    np.testing.assert_array_equal(y_train[4:8], labels)
    np.testing.assert_array_equal(y_test, held["test_batch.bin"][1])
    assert 0 <= X_train.min() and X_train.max() <= 1
    assert len(CIFAR10_CLASSES) == 10 and CIFAR10_CLASSES[0] == "airplane"


def test_one_record_by_hand_red_then_green_then_blue(tmp_path):
    write_batches(tmp_path, per_batch=1)  # every batch one record, as the one made here
    record = bytearray(records(1, 0)[0])
    record[0] = 7  # the label byte
    record[1:] = bytes([10] * 1024 + [20] * 1024 + [30] * 1024)  # R, G, B planes
    (tmp_path / FOLDER / "test_batch.bin").write_bytes(bytes(record))
    ((X, y),) = load_cifar10(tmp_path, download=False, splits=("test",))
    assert y.tolist() == [7]
    np.testing.assert_allclose(X[0, :, 5, 9] * 255, [10, 20, 30], rtol=1e-6)


def test_a_parent_folder_named_by_the_environment_works(tmp_path, monkeypatch):
    write_batches(tmp_path / "cifar10")
    monkeypatch.setenv("CNN_NUMPY_DATA", str(tmp_path))
    ((X, _),) = load_cifar10(splits=("test",), download=False)
    assert X.shape == (4, 3, 32, 32)


def test_the_unpacked_folder_itself_is_read_not_downloaded_into(tmp_path, monkeypatch):
    write_batches(tmp_path)
    monkeypatch.setattr(cifar10, "MIRRORS", ("http://127.0.0.1:9/",))  # no download asked
    ((X, _),) = load_cifar10(tmp_path / FOLDER, splits=("test",), progress=False)
    assert X.shape == (4, 3, 32, 32)
    assert sorted(p.name for p in (tmp_path / FOLDER).iterdir()) == sorted(
        [*[f"data_batch_{i}.bin" for i in range(1, 6)], "test_batch.bin", "batches.meta.txt"]
    )  # nothing written into it


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """A generated archive whose MD5 stands in for the official one."""
    path = tmp_path / cifar10.ARCHIVE
    monkeypatch.setattr(cifar10, "MD5", write_archive(path, archive_entries()))
    return path


def test_the_archive_is_checked_and_unpacked_once(tmp_path, archive):
    (X_train, _), (X_test, _) = load_cifar10(tmp_path, download=False)
    assert X_train.shape == (20, 3, 32, 32) and (tmp_path / FOLDER / "test_batch.bin").is_file()
    archive.unlink()  # the unpacked files are read from now on
    assert load_cifar10(tmp_path, download=False, splits=("test",))[0][0].shape == X_test.shape
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_an_archive_with_the_wrong_md5_is_refused_before_unpacking(tmp_path, archive, monkeypatch):
    monkeypatch.setattr(cifar10, "MD5", "c32a1d4ab5d03f1284b67883e8d87530")
    with pytest.raises(CifarError, match="but the official cifar-10-binary.tar.gz has MD5 c32a"):
        load_cifar10(tmp_path, download=False)
    assert not (tmp_path / FOLDER).exists()


@pytest.mark.parametrize(
    "entries, links, message",
    [
        ({"../x": b"evil"}, None, r"refusing the entry '../x'"),
        ({f"{FOLDER}/../../x": b"evil"}, None, r"would be written elsewhere"),
        ({"/etc/x": b"evil"}, None, r"refusing the entry '/etc/x'"),
        ({}, {f"{FOLDER}/test_batch.bin": "/etc/passwd"}, r"refusing the link"),
        ({f"{FOLDER}/run.sh": b"rm -rf"}, None, r"'cifar-10-batches-bin/run.sh': not a CIFAR"),
        ({f"{FOLDER}/test_batch.bin": b"\0" * (10_000 * 3073 + 1)}, None, r"a CIFAR-10 batch is"),
    ],
)
def test_a_dangerous_archive_is_refused_and_nothing_is_written(
    tmp_path, monkeypatch, entries, links, message
):
    path = tmp_path / "data" / cifar10.ARCHIVE
    path.parent.mkdir()
    monkeypatch.setattr(cifar10, "MD5", write_archive(path, entries, links))
    with pytest.raises(CifarError, match=message):
        load_cifar10(path.parent, download=False)
    assert sorted(p.name for p in path.parent.iterdir()) == [cifar10.ARCHIVE]
    assert not (tmp_path / "x").exists()


def cut_archive(path, keep):
    """A tar.gz of the batches cut after ``keep`` bytes of its tar (or of its gzip) stream."""
    import gzip

    write_archive(path, archive_entries())
    if keep == "gzip":  # the compressed stream itself ends early
        path.write_bytes(path.read_bytes()[:-200])
    else:
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:keep]))


def not_gzip(path):
    path.write_bytes(b"this is no gzip stream" * 10)


def archive_with(change):
    def write(path):
        entries = archive_entries()
        change(entries)
        write_archive(path, entries)

    return write


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: cut_archive(p, "gzip"), r"not a complete tar.gz archive"),
        (lambda p: cut_archive(p, 5 * 3073), r"not a complete tar.gz archive"),
        (not_gzip, r"not a complete tar.gz archive"),
        (
            archive_with(lambda e: e.update({f"{FOLDER}/data_batch_2.bin": b"\0" * 3074})),
            r"data_batch_2.bin is 3,074 bytes, not a whole number of 3,073-byte records",
        ),
        (
            archive_with(lambda e: e.pop(f"{FOLDER}/test_batch.bin")),
            r"the archive lacks test_batch.bin",
        ),
    ],
    ids=["gzip-cut", "tar-cut", "not-gzip", "member-size", "member-missing"],
)
def test_a_damaged_archive_is_named_and_nothing_is_unpacked(tmp_path, monkeypatch, make, message):
    path = tmp_path / cifar10.ARCHIVE
    make(path)
    monkeypatch.setattr(cifar10, "MD5", cifar10.md5_of(path))  # damaged, yet as published
    with pytest.raises(CifarError, match=message):
        load_cifar10(tmp_path, download=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cifar10.ARCHIVE]  # nothing half-done


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b + b"\0" * 4, r"is not a whole number of 3,073-byte records"),
        (lambda b: b[:-100], r"cut off mid-record"),
        (lambda b: b"\0" * (3074 * 4), r"looks like CIFAR-100"),
        (lambda b: b"", r"0 bytes is not a whole number"),
        (lambda b: b[:3073] + bytes([10]) + b[3074:], r"record 1 has label 10; CIFAR-10 labels"),
    ],
)
def test_a_damaged_batch_is_named(tmp_path, damage, message):
    write_batches(tmp_path)
    path = tmp_path / FOLDER / "data_batch_3.bin"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CifarError, match=message):
        load_cifar10(tmp_path, download=False)


def test_a_truncated_batch_is_named(tmp_path):
    write_batches(tmp_path)
    path = tmp_path / FOLDER / "data_batch_4.bin"
    path.write_bytes(path.read_bytes()[: 3 * 3073])  # whole records, but fewer
    with pytest.raises(CifarError, match=r"data_batch_4.bin: 3 records where the other batches"):
        load_cifar10(tmp_path, download=False)


@pytest.mark.parametrize("splits", [("train", "test"), ("test",)])
def test_a_test_batch_cut_at_a_records_end_is_named_too(tmp_path, splits):
    """The only batch of its split: it is compared with the training batches' sizes."""
    write_batches(tmp_path)
    path = tmp_path / FOLDER / "test_batch.bin"
    path.write_bytes(path.read_bytes()[: 2 * 3073])
    with pytest.raises(
        CifarError, match=r"test_batch.bin: 2 records where the other batches hold 4"
    ):
        load_cifar10(tmp_path, download=False, splits=splits)


def test_missing_files_are_named_and_the_folder_is_kept(tmp_path):
    write_batches(tmp_path)
    (tmp_path / FOLDER / "data_batch_5.bin").unlink()
    with pytest.raises(FileNotFoundError, match="lacks data_batch_5.bin"):
        load_cifar10(tmp_path)
    assert (tmp_path / FOLDER / "data_batch_1.bin").is_file()


def test_without_files_and_download_false_says_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass download=True"):
        load_cifar10(tmp_path, download=False)


def test_a_failed_download_lists_what_each_mirror_answered(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "MIRRORS", ("http://127.0.0.1:9/", "http://127.0.0.1:9/b/"))
    with pytest.raises(cifar10.DownloadError, match=r"(?s)127.0.0.1:9/cifar.*127.0.0.1:9/b/cifar"):
        load_cifar10(tmp_path, timeout=2, progress=False)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_download_with_the_wrong_md5_leaves_nothing(tmp_path, monkeypatch):
    def serve(url, dest, timeout, progress, deadline):
        dest.write(b"not the archive")
        return 15

    monkeypatch.setattr(download, "fetch", serve)
    with pytest.raises(cifar10.DownloadError, match="15 bytes, but MD5"):
        load_cifar10(tmp_path, progress=False)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_failed_download_removes_the_folders_it_made(tmp_path, monkeypatch):
    def serve(url, dest, timeout, progress, deadline):
        dest.write(b"not the archive")
        return 15

    monkeypatch.setattr(download, "fetch", serve)
    (tmp_path / "mine").mkdir()
    with pytest.raises(cifar10.DownloadError):
        load_cifar10(tmp_path / "mine" / "data" / "cifar", progress=False)
    assert [p.name for p in tmp_path.rglob("*")] == ["mine"]  # the user's folder stays


def test_ctrl_c_mid_download_removes_the_folders_it_made(tmp_path, monkeypatch):
    def interrupted(url, dest, timeout, progress, deadline):
        dest.write(b"the first bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "fetch", interrupted)
    (tmp_path / "mine").mkdir()
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(tmp_path / "mine" / "data" / "cifar", progress=False)
    assert [p.name for p in tmp_path.rglob("*")] == ["mine"]  # no part file, no new folder


def test_a_good_download_is_checked_renamed_and_unpacked(tmp_path, monkeypatch):
    source = tmp_path / "source.tar.gz"
    monkeypatch.setattr(cifar10, "MD5", write_archive(source, archive_entries()))
    monkeypatch.setattr(download, "fetch", lambda url, dest, *a: dest.write(source.read_bytes()))
    ((X, y),) = load_cifar10(tmp_path / "data", splits=("test",), progress=False)
    assert X.shape == (4, 3, 32, 32) and (tmp_path / "data" / cifar10.ARCHIVE).is_file()


def test_the_downloaded_and_unpacked_files_are_readable_by_every_user(tmp_path, monkeypatch):
    """A data folder is often shared: mkdtemp's 0700 made cifar-10-batches-bin/ private to
    whoever unpacked it, and mkstemp's 0600 the downloaded archive."""
    source = tmp_path / "source.tar.gz"
    monkeypatch.setattr(cifar10, "MD5", write_archive(source, archive_entries()))
    monkeypatch.setattr(download, "fetch", lambda url, dest, *a: dest.write(source.read_bytes()))
    load_cifar10(tmp_path / "data", splits=("test",), progress=False)
    assert stat.S_IMODE((tmp_path / "data" / cifar10.ARCHIVE).stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "data" / FOLDER).stat().st_mode) == 0o755


def test_bad_splits_are_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="splits must name some of train, test"):
        load_cifar10(tmp_path, splits=("valid",))


def test_a_string_for_splits_or_download_is_a_clear_error(tmp_path):
    write_batches(tmp_path)
    with pytest.raises(ValueError, match=r"splits must be a tuple, e.g. \('test',\)"):
        load_cifar10(tmp_path, splits="test")  # the usual slip: ("test") for ("test",)
    with pytest.raises(ValueError, match="download must be True or False, got 'no'"):
        load_cifar10(tmp_path / "elsewhere", download="no")  # 'no' would have downloaded


def test_load_dataset_reads_cifar10_as_load_cifar10_does(tmp_path):
    """load_dataset(name) is what the errors tell Python users to call; cifar10 is a name."""
    from cnn_numpy import load_dataset

    write_batches(tmp_path)
    ((X, y),) = load_dataset("cifar10", tmp_path, download=False, splits=("test",))
    ((X_ref, y_ref),) = load_cifar10(tmp_path, download=False, splits=("test",))
    np.testing.assert_array_equal(X, X_ref) and np.testing.assert_array_equal(y, y_ref)
    assert X.shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="known: mnist, fashion-mnist, cifar10"):
        load_dataset("cifar100", tmp_path)


@pytest.mark.parametrize("name, stem", [("mnist", None), ("stuff", "t10k-labels-idx1-ubyte")])
def test_another_datasets_folder_is_a_parent_never_filled_with_cifar10(tmp_path, name, stem):
    """--dataset cifar10 --data-dir data/mnist (a slip) would download the archive among
    MNIST's files, and the error said to put it there; as for MNIST, another dataset's folder
    (named so, or holding IDX files) is a parent: CIFAR-10 goes into its cifar10/ folder."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{stem or 'train-images-idx3-ubyte'}.gz").write_bytes(b"IDX")
    assert cifar10.cifar10_dir(folder) == folder / "cifar10"
    with pytest.raises(FileNotFoundError, match=f"{name}/cifar10/cifar-10-batches-bin/ nor"):
        load_cifar10(folder, download=False)
    assert cifar10.cifar10_dir(tmp_path / "empty") == tmp_path / "empty"  # as before


@pytest.mark.parametrize("python_copy", ["cifar-10-batches-py", "cifar-10-python.tar.gz"])
def test_the_python_version_is_named_not_ignored_in_silence(tmp_path, monkeypatch, python_copy):
    """torchvision's copy (the Python version: pickles) is the one a learner often has; the
    errors say it is there and why it is not read, instead of only 'download the binary'."""
    (tmp_path / python_copy).mkdir() if "." not in python_copy else (
        tmp_path / python_copy
    ).write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=rf"{python_copy}.*Python version.*pickle"):
        load_cifar10(tmp_path, download=False)
    monkeypatch.setattr(cifar10, "MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(cifar10.DownloadError, match=rf"(?s){python_copy}.*Python version"):
        load_cifar10(tmp_path, timeout=2, progress=False)
    if "." not in python_copy:  # the Python version's folder itself, given as root
        with pytest.raises(FileNotFoundError, match=rf"{python_copy} is the Python version"):
            load_cifar10(tmp_path / python_copy, download=False)
