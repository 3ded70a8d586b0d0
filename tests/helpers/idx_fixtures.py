"""Small generated IDX files for the data tests (the real datasets never enter the tests)."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np

from cnn_numpy.data.datasets import DATASETS
from cnn_numpy.data.verify import mark_verified

TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes of ``array``: zero, zero, type, ndim, big-endian sizes, big-endian data."""
    array = np.asarray(array)
    header = struct.pack(">HBB", 0, TYPE_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def fake_split(n: int, rng, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    return (
        rng.integers(0, 256, size=(n, size, size), dtype=np.uint8),
        rng.integers(0, 10, size=n, dtype=np.uint8),
    )


def fake_files(rng, n_train: int = 12, n_test: int = 5) -> dict[str, bytes]:
    """Raw IDX bytes under the standard MNIST stems."""
    train, test = fake_split(n_train, rng), fake_split(n_test, rng)
    return {
        "train-images-idx3-ubyte": encode_idx(train[0]),
        "train-labels-idx1-ubyte": encode_idx(train[1]),
        "t10k-images-idx3-ubyte": encode_idx(test[0]),
        "t10k-labels-idx1-ubyte": encode_idx(test[1]),
    }


def write_files(
    folder: Path, files: dict[str, bytes], gz: bool = True, trusted: bool = True
) -> Path:
    """Write the fixture files.  ``trusted``: also mark them as checked, as a real dataset's
    files are once their SHA-256 matched (data/verify.py), for the dataset the path names
    (fashion-mnist if it mentions "fashion", else mnist): fixtures are not the real data."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, data in files.items():
        path = folder / (f"{stem}.gz" if gz else stem)
        path.write_bytes(gzip.compress(data) if gz else data)
        if trusted:
            dataset = "fashion-mnist" if "fashion" in str(folder) else "mnist"
            mark_verified(path, DATASETS[dataset].sha256[stem])
    return folder


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
