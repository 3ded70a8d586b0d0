"""Dataset files on disk are checked against their known SHA-256 before first use.

A download is checked as it arrives (download.py), but files already on disk may have been
copied from anywhere: a damaged or altered file (flipped labels, say) would train silently.
So each file's decompressed SHA-256 is compared with the dataset's known one the first time
it is used.  The answer is remembered in a small marker file beside the data
(``.cnn-numpy-verified.json``: size, modification time and checksum of each file checked),
so later runs cost nothing; a file that changes is checked again.  Where the folder is
read-only (a system package), the answer is remembered for the process only.
"""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import atomic_write_text
from .download import payload_sha256

MARKER = ".cnn-numpy-verified.json"
#: no file of MNIST or Fashion-MNIST unpacks to more than this (47,040,016 bytes)
MAX_PAYLOAD = 64 * 2**20

_checked: set[tuple] = set()  # (path, size, mtime_ns, sha256) verified in this process


class DatasetFileError(ValueError):
    """A dataset file on disk is not the one its name promises."""


def record(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def read_marker(folder: Path) -> dict:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def verify_files(paths: list[Path], expected: dict[str, str], dataset: str) -> None:
    """Each path's decompressed SHA-256 equals ``expected[<its name without .gz>]``;
    DatasetFileError naming the first file that differs and what to do."""
    for folder in sorted({p.parent for p in paths}):
        marker = read_marker(folder)
        changed = False
        for path in (p for p in paths if p.parent == folder):
            want = expected[path.name.removesuffix(".gz")]
            known = record(path, want)
            key = (str(path.resolve()), *known.values())
            if marker.get(path.name) == known or key in _checked:
                continue
            actual = payload_sha256(path, limit=MAX_PAYLOAD)
            if actual != want:
                raise DatasetFileError(
                    f"{path} is not the official {dataset} file it is named after: its content "
                    f"has sha256 {actual}, expected {want}. It is damaged or was altered. "
                    "Delete it and run again to download a fresh copy, or put the original "
                    "file there."
                )
            _checked.add(key)
            marker[path.name], changed = known, True
        if changed:
            try:
                atomic_write_text(folder / MARKER, json.dumps(marker, indent=1) + "\n")
            except OSError:
                pass  # a read-only folder: checked again by the next process


def mark_verified(path: Path, sha256: str) -> None:
    """Record a file that was just checked (a fresh download) as verified."""
    marker = read_marker(path.parent)
    marker[path.name] = record(path, sha256)
    try:
        atomic_write_text(path.parent / MARKER, json.dumps(marker, indent=1) + "\n")
    except OSError:
        pass
