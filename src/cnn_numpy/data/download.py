"""Download a dataset file once, safely: mirrors in order, a timeout, a checksum, an atomic rename.

The file is written to a temporary name in the target folder, the SHA-256 of its decompressed
payload is checked, and only then is it renamed into place.  So a failed, cut-off or wrong
download leaves nothing behind, and the next run never mistakes half a file for data.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import zlib
from collections.abc import Callable
from pathlib import Path

from .transfer import Capped, TooLarge, TooSlow, fetch


class DownloadError(RuntimeError):
    """Every mirror failed; the message says what each one answered and what to do by hand."""


def payload_sha256(path: str | os.PathLike, limit: int | None = None) -> str:
    """SHA-256 of the file's content after gunzip (of the file itself if it is not gzip).

    With ``limit``, a content longer than ``limit`` bytes is not hashed to the end (a gzip
    bomb would take minutes): the answer is then a description, never a real checksum.
    """
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    digest, total = hashlib.sha256(), 0
    with opener(path, "rb") as f:
        while chunk := f.read(1 << 20):
            total += len(chunk)
            if limit is not None and total > limit:
                return f"(unknown: over {limit:,} bytes once unpacked)"
            digest.update(chunk)
    return digest.hexdigest()


def describe(err: BaseException) -> str:
    """A short, human answer for what a mirror did."""
    if isinstance(err, (TooSlow, TooLarge)):
        return str(err)
    if isinstance(err, urllib.error.HTTPError):  # a redirect loop's reason has 3 lines
        return f"HTTP {err.code} {str(err.reason).splitlines()[0]}"
    if isinstance(err, http.client.IncompleteRead):
        return f"connection closed early ({err.expected} bytes missing)"
    if isinstance(err, urllib.error.URLError):
        err = err.reason if isinstance(err.reason, BaseException) else err
        if not isinstance(err, TimeoutError):
            return f"could not connect ({err})"
    if isinstance(err, TimeoutError):
        return "timed out"
    return f"{type(err).__name__}: {err}"


def download(
    filename: str,
    sha256: str,
    target_dir: str | os.PathLike,
    mirrors: list[str],
    timeout: float = 30.0,
    progress: bool = True,
    deadline: float = 600.0,
    max_payload: int | None = None,
) -> Path:
    """Download ``filename`` from the first mirror that serves it intact; returns its path.

    Each mirror URL is ``mirror + filename``.  ``sha256`` is the checksum of the
    decompressed payload, so any faithful copy passes, however it was compressed.
    ``timeout``: seconds to wait for each piece of data, and the window in which at least
    ``MIN_BYTES`` must arrive (else the mirror is too slow and the next one is tried);
    ``deadline``: seconds for the whole file from one mirror; ``max_payload``: bytes the
    file may unpack to (a gzip bomb from a mirror is not unpacked to the end to hash it, and
    a mirror that sends more than that, plus gzip's overhead, is stopped).

    Raises:
        DownloadError: no mirror gave a good file.  Nothing is left in ``target_dir``, and
        folders made for it are removed again.
    """
    target_dir = Path(target_dir)
    check_folder(target_dir)
    try:
        made = make_folders(target_dir)
    except OSError as err:
        raise unwritable(target_dir, err) from err
    target = target_dir / filename

    def wrong_payload(tmp: str, size: int) -> str | None:
        try:
            actual = payload_sha256(tmp, limit=max_payload)
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            return f"not a complete gzip file ({err}); expected a payload with sha256 {sha256}"
        if actual.startswith("("):  # "(unknown: over ... bytes once unpacked)"
            return (
                f"{size:,} bytes that unpack to over {max_payload:,} bytes, more than the "
                "file has: not the file (a gzip bomb?)"
            )
        if actual != sha256 and looks_like_html(tmp):
            return (
                f"{size:,} bytes of a web page or error document (HTML/XML), not the "
                "file: the mirror may have moved it or asks for a login"
            )
        if actual != sha256:
            return (
                f"{size:,} bytes, but the checksum is wrong "
                f"(expected sha256 {sha256}, got {actual})"
            )
        return None

    # gzip adds at most 5 bytes per 16 KiB block of incompressible data: 1% is ample
    most = None if max_payload is None else max_payload + max_payload // 100 + (1 << 16)
    try:
        answers = from_mirrors(
            filename, target_dir, mirrors, wrong_payload, timeout, progress, deadline, most
        )
    except BaseException:  # Ctrl-C too: leave the user's data location as it was
        remove_folders(made)
        raise
    if not answers:
        return target
    remove_folders(made)
    raise DownloadError(
        f"could not download {filename}; mirrors tried:\n"
        + "".join(f"  - {answer}\n" for answer in answers)
        + f"Download it by hand (from any mirror above, or any faithful copy) and put it at\n"
        f"  {target}\n(gzipped or not; its decompressed sha256 must be {sha256}), "
        f"or point root= / CNN_NUMPY_DATA at a folder that holds it."
    )


def from_mirrors(
    filename: str,
    folder: Path,
    mirrors: list[str],
    wrong: Callable[[str, int], str | None],
    timeout: float,
    progress: bool,
    deadline: float,
    max_size: int | None = None,
) -> list[str]:
    """Fetch ``filename`` from each mirror in turn, under a temporary name in ``folder``,
    until ``wrong(path, size)`` finds nothing wrong (None); only then is it renamed to
    ``folder / filename``.  Returns what each mirror tried answered: empty when one served
    a good file.  Nothing else is left in ``folder``.  A mirror that sends more than
    ``max_size`` bytes is stopped there (TooLarge), before it fills the disk."""
    answers = []
    remove_stale_parts(folder, filename, deadline)
    for mirror in mirrors:
        url = mirror + filename
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        except OSError as err:
            raise unwritable(folder, err) from err
        try:
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep a shared data folder's file private
            with os.fdopen(fd, "wb") as f:
                capped = Capped(f, max_size)
                size = fetch(url, capped, timeout, progress, time.monotonic() + deadline)
            problem = wrong(tmp, size)
            if problem is None:
                os.replace(tmp, folder / filename)
                return []
            answers.append(f"{url}: {problem}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            answers.append(f"{url}: {describe(err)}")
        finally:
            Path(tmp).unlink(missing_ok=True)
    return answers


def unwritable(folder: Path, err: OSError) -> OSError:
    """The error for a data folder that cannot be made or written to (read-only, full)."""
    return type(err)(
        f"cannot write in the data folder {folder} ({err.strerror or err}); give a folder "
        "you can write to (root= / --data-dir / CNN_NUMPY_DATA), or put the files there "
        "by hand"
    )


def remove_stale_parts(folder: Path, filename: str, deadline: float) -> None:
    """Remove the temporary files of earlier downloads of ``filename`` that were killed
    (kill -9, a power cut): those untouched for longer than a whole download may take."""
    for part in folder.glob(f".{filename}.*.part"):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > deadline:
                part.unlink()


def looks_like_html(path: str) -> bool:
    """Whether the file begins as a web page does (a mirror's error or login page)."""
    with open(path, "rb") as f:
        start = f.read(512).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml"))


def remove_folders(made: list[Path]) -> None:
    """Remove the folders ``make_folders`` made, innermost first, where they are empty."""
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_folder(folder: Path) -> None:
    """NotADirectoryError if ``folder``, or the nearest existing folder above it, is a file
    (``--data-dir`` given a dataset's file instead of its folder, say)."""
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                raise NotADirectoryError(
                    f"the data folder {path} is a file, not a folder; give the folder that "
                    f"holds the dataset's files, e.g. {path.parent}"
                )
            return


def make_folders(folder: Path) -> list[Path]:
    """``mkdir -p folder``; the folders it made, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    made = []
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        made.append(path)
    return made
