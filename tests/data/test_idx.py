import gzip

import numpy as np
import pytest
from helpers.idx_fixtures import encode_idx

from cnn_numpy.data import IdxError, read_idx


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (3, 28, 28)),
        (np.uint8, (7,)),
        (np.int8, (2, 3)),
        (np.int16, (4, 5)),
        (np.int32, (2, 2, 2, 2)),
        (np.float32, (5,)),
        (np.float64, (3, 1)),
    ],
)
def test_read_idx_round_trip(tmp_path, dtype, shape, gz):
    array = (np.random.default_rng(0).standard_normal(shape) * 100).astype(dtype)
    data = encode_idx(array)
    path = tmp_path / "file.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    out = read_idx(path)
    assert out.shape == shape and out.dtype == np.dtype(dtype)  # native byte order
    np.testing.assert_array_equal(out, array)
    out[...] = 0  # a writable copy, not a view of the file's bytes


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "raw.gz").write_bytes(encode_idx(labels))
    (tmp_path / "packed").write_bytes(gzip.compress(encode_idx(labels)))
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed"), labels)


GOOD = encode_idx(np.zeros((2, 4, 4), np.uint8))  # 16-byte header + 32 pixels


@pytest.mark.parametrize(
    "data, message",
    [
        (GOOD[:-1], "truncated"),
        (GOOD[:20], "needs 48 bytes, but the file holds 20"),
        (GOOD + b"\0", "trailing bytes"),
        (GOOD[:10], "truncated header"),
        (b"", "too short"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "not an IDX file"),
        (b"\x00\x00\x07\x01" + bytes(8), "unknown IDX element type 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
    ],
)
def test_bad_files_raise_naming_file_and_problem(tmp_path, data, message):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(IdxError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


PACKED = gzip.compress(encode_idx((np.arange(2 * 28 * 28) % 7).astype(np.uint8)))


@pytest.mark.parametrize(
    "data, message",
    [
        (gzip.compress(GOOD)[:-12], "is truncated: its gzip data end before"),
        (flip(PACKED, 20), "is corrupt: its compressed data cannot be unpacked"),
        (flip(gzip.compress(GOOD), -6), r"is corrupt: .*CRC check failed"),
        (gzip.compress(GOOD) + b"junk", "is corrupt: the bytes after its gzip data"),
        (b"\x1f\x8b\x07" + bytes(20), "is not a gzip file this reader knows"),
        (b"<!DOCTYPE html><title>404</title>", "not a gzip file .*nor a raw IDX file"),
    ],
)
def test_a_damaged_gzip_file_says_what_is_wrong_and_what_to_do(tmp_path, data, message):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(IdxError, match=message) as err:
        read_idx(path)
    assert str(err.value).startswith(str(path))
    assert "Delete it and run again to download a fresh copy" in str(err.value)


def test_idx_error_is_a_value_error():
    assert issubclass(IdxError, ValueError)


def test_a_forged_header_is_refused_before_anything_is_allocated(tmp_path):
    """Sizes whose product overflows 64 bits, in a raw and in a gzip file."""
    huge = b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3 + bytes(16)
    (tmp_path / "raw").write_bytes(huge)
    with pytest.raises(IdxError, match="truncated: header says shape"):
        read_idx(tmp_path / "raw")
    (tmp_path / "packed").write_bytes(gzip.compress(huge))
    with pytest.raises(IdxError, match="more than a .*-byte gzip file can hold"):
        read_idx(tmp_path / "packed")


def test_a_gzip_bomb_behind_a_small_header_is_not_inflated(tmp_path):
    """A valid header for 4 bytes, then 256 MiB of zeros (about 256 KB of gzip): refused after
    reading 5 bytes of the payload, not after inflating all of it."""
    import time
    import zlib

    path = tmp_path / "bomb.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    parts = [packer.compress(encode_idx(np.zeros(4, np.uint8)))]
    block = bytes(2**20)
    parts += [packer.compress(block) for _ in range(256)]
    path.write_bytes(b"".join(parts) + packer.flush())
    start = time.perf_counter()
    with pytest.raises(IdxError, match="has trailing bytes"):
        read_idx(path)
    assert time.perf_counter() - start < 0.5


def test_a_folder_or_a_non_path_is_named(tmp_path):
    with pytest.raises(IdxError, match="is a folder; read_idx reads one IDX file"):
        read_idx(tmp_path)
    with pytest.raises(ValueError, match="path must be a str or pathlib.Path, got 5"):
        read_idx(5)
