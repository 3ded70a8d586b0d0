"""Small generated CIFAR-10 files in the official binary format (records of 1 label byte and
3,072 pixel bytes, the batches in ``cifar-10-batches-bin/``), and a tar.gz archive of them."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np

FOLDER = "cifar-10-batches-bin"
NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def records(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``n`` records as bytes, with the images (n, 3, 32, 32) and labels they hold."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = (np.arange(n) + seed) % 10
    data = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(n, -1)], axis=1)
    return data.tobytes(), images, labels


def write_batches(folder: Path, per_batch: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The six batch files in ``folder/cifar-10-batches-bin``; what each holds, by name."""
    (folder / FOLDER).mkdir(parents=True, exist_ok=True)
    held = {}
    for seed, name in enumerate(NAMES):
        data, images, labels = records(per_batch, seed)
        (folder / FOLDER / name).write_bytes(data)
        held[name] = (images, labels)
    (folder / FOLDER / "batches.meta.txt").write_text("airplane\nautomobile\n")
    return held


def write_archive(
    path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None
) -> str:
    """A tar.gz of ``entries`` (name -> content) and symbolic ``links``; returns its MD5."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return hashlib.md5(path.read_bytes()).hexdigest()


def archive_entries(per_batch: int = 4) -> dict[str, bytes]:
    return {f"{FOLDER}/{name}": records(per_batch, seed)[0] for seed, name in enumerate(NAMES)}
