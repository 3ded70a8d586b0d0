"""Dataset files on disk are checked against their known SHA-256 before first use.

A download is checked as it arrives (download.py), but files already on disk may have been
copied from anywhere: a damaged or altered file (flipped labels, say) would train silently,
and a folder may hold another dataset under the same names.  So each file's decompressed
SHA-256 is compared with the dataset's known one the first time it is used; a checksum that
belongs to another known file says which one it is.

The answer is remembered in the user's cache folder, never beside the data: ``verified.json``
in ``$CNN_NUMPY_CACHE``, else ``$XDG_CACHE_HOME/cnn-numpy``, else ``~/.cache/cnn-numpy``,
keyed by each file's absolute path, size and modification time, so later runs cost nothing
and a file that changes is checked again.  A read-only data folder works like any other;
where the cache folder cannot be written, the answer is remembered for this process only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic import atomic_write_text
from .catalogue import known_files
from .download import payload_sha256
from .idx import GZIP_ERRORS, GZIP_MAGIC, damaged_gzip

CACHE_ENV = "CNN_NUMPY_CACHE"
CACHE_FILE = "verified.json"
#: no file of MNIST or Fashion-MNIST unpacks to more than this (47,040,016 bytes)
MAX_PAYLOAD = 64 * 2**20

_checked: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, this process


class DatasetFileError(ValueError):
    """A dataset file on disk is not the one its name promises."""


def cache_dir() -> Path | None:
    """cnn-numpy's cache folder: ``$CNN_NUMPY_CACHE``, else ``$XDG_CACHE_HOME/cnn-numpy``,
    else ``~/.cache/cnn-numpy``; None where there is no home folder to find."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec: a relative path is to be ignored
        return Path(xdg) / "cnn-numpy"
    try:
        return Path.home() / ".cache" / "cnn-numpy"
    except RuntimeError:
        return None


def file_key(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content without reading it: (absolute path, size, mtime)."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def read_cache() -> dict:
    """``{absolute path: {"size", "mtime_ns", "sha256"}}`` from the cache file ({} if none)."""
    folder = cache_dir()
    try:
        cache = json.loads((folder / CACHE_FILE).read_text())
    except (OSError, TypeError, ValueError):  # none yet, unreadable, no folder, or damaged
        return {}
    return cache if isinstance(cache, dict) else {}


def cached_sha256(key: tuple[str, int, int], cache: dict) -> str | None:
    if key in _checked:
        return _checked[key]
    entry = cache.get(key[0])
    if isinstance(entry, dict) and (entry.get("size"), entry.get("mtime_ns")) == key[1:]:
        sha256 = entry.get("sha256")
        return sha256 if isinstance(sha256, str) else None
    return None


def remember(checksums: dict[tuple[str, int, int], str]) -> None:
    """Keep ``{file key: sha256}`` for this process and, where it can be written, the cache."""
    _checked.update(checksums)
    folder = cache_dir()
    if folder is None:
        return
    cache = read_cache()
    for (path, size, mtime_ns), sha256 in checksums.items():
        cache[path] = {"size": size, "mtime_ns": mtime_ns, "sha256": sha256}
    cache = {path: entry for path, entry in cache.items() if os.path.isfile(path)}
    try:
        atomic_write_text(folder / CACHE_FILE, json.dumps(cache, indent=1) + "\n")
    except OSError:
        pass  # an unwritable cache folder: remembered for this process only


def content_sha256(path: Path, cache: dict | None = None) -> str:
    """SHA-256 of the file's unpacked content: remembered if the file is unchanged since it
    was last hashed, else computed (and remembered).  IdxError for a damaged gzip file."""
    key = file_key(path)
    known = cached_sha256(key, read_cache() if cache is None else cache)
    if known is not None:
        return known
    try:
        actual = payload_sha256(path, limit=MAX_PAYLOAD)
    except GZIP_ERRORS as err:  # truncated, corrupt or not gzip after all
        raise damaged_gzip(path, err) from err
    if not actual.startswith("("):  # "(unknown: over ... bytes)" is not a checksum
        remember({key: actual})
    return actual


def which_file(path: Path) -> tuple[str, str] | None:
    """``(dataset, file stem)`` that the file's content is, whatever its name; None if unknown."""
    return known_files().get(content_sha256(path))


def verify_files(paths: list[Path], expected: dict[str, str], dataset: str) -> None:
    """Each path's decompressed SHA-256 equals ``expected[<its name without .gz>]``;
    DatasetFileError naming the first file that differs, what it is and what to do."""
    cache = read_cache()
    for path in paths:
        stem = path.name.removesuffix(".gz")
        actual = content_sha256(path, cache)
        if actual != expected[stem]:
            raise DatasetFileError(wrong_file(path, stem, dataset, actual, expected[stem]))


def wrong_file(path: Path, stem: str, dataset: str, actual: str, want: str) -> str:
    """What a file whose checksum is not ``want`` is (another dataset's, another file of
    this one, or damaged), and what to do about it."""
    other = known_files().get(actual)
    if other is not None and other[0] != dataset:
        return (
            f"{path} is {other[0]}'s {other[1]} file, not {dataset}'s. To use {other[0]}, "
            f"ask for it (--dataset {other[0]} on the command line, "
            f"load_dataset({other[0]!r}) in Python); for {dataset}, point --data-dir (root=) "
            f"at a folder holding {dataset}'s files, or at an empty one to download them."
        )
    if other is not None:
        return (
            f"{path} is {dataset}'s {other[1]} file, named as its {stem} file: the files "
            f"were renamed. Give each file its standard name ({other[1]}.gz or {other[1]})."
        )
    with open(path, "rb") as f:
        head = f.read(16)
    if path.suffix == ".gz" and head[:2] != GZIP_MAGIC and head[:2] != b"\x00\x00":
        detail = f"It is named .gz but is not a gzip file (it begins with {head!r})."
    else:
        detail = "It is damaged or was altered."
    return (
        f"{path} is not the official {dataset} file it is named after: its content has "
        f"sha256 {actual}, expected {want}. {detail} Delete it and run again to download "
        "a fresh copy, or put the original file there."
    )


def mark_verified(path: Path, sha256: str) -> None:
    """Record a file that was just checked (a fresh download) as verified."""
    remember({file_key(path): sha256})
