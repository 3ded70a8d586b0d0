"""Read IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or raw.

The header is big-endian: two zero bytes, a type byte (0x08 = uint8, ...), the number of
dimensions, then one 4-byte size per dimension.  The data follow in row-major (C) order.

A file is untrusted input: the header is read and checked against the file *before* the
data are allocated or inflated, so a forged header (sizes that overflow, or a few bytes of
gzip that would inflate to gigabytes) is an error, not an allocation.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

#: element type byte -> big-endian NumPy dtype
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
#: deflate packs at most about 1032 bytes into one: a gzip file of n bytes inflates to less
#: than this many times n
GZIP_MAX_RATIO = 1100
#: what Python's gzip raises for a file that is cut short, corrupt, or not gzip after all
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
FILE_HINT = "train-images-idx3-ubyte.gz"
FIX = "Delete it and run again to download a fresh copy, or put the original file there."


class IdxError(ValueError):
    """A file that is not a valid, complete IDX file."""


def read_header(f, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, big-endian dtype, header length) from the first bytes of an open IDX file."""
    head = f.read(4)
    if len(head) < 4:
        raise IdxError(f"{name}: {len(head)} bytes is too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", head)
    if zero != 0:
        raise IdxError(
            f"{name}: not an IDX file (magic number 0x{head.hex()} should "
            f"start with two zero bytes, as 0x00000803 for images)"
        )
    if type_code not in IDX_TYPES:
        raise IdxError(
            f"{name}: unknown IDX element type 0x{type_code:02x} (known: "
            f"{', '.join(f'0x{t:02x}' for t in IDX_TYPES)})"
        )
    if ndim == 0:
        raise IdxError(f"{name}: IDX header says 0 dimensions")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise IdxError(
            f"{name}: truncated header ({4 + len(sizes)} bytes, need {4 + 4 * ndim} "
            f"for {ndim} dimensions)"
        )
    return struct.unpack(f">{ndim}I", sizes), IDX_TYPES[type_code], 4 + 4 * ndim


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array of its shape and element type.

    Example: ``read_idx("data/mnist/train-images-idx3-ubyte.gz")`` -> uint8 (60000, 28, 28).

    Raises:
        IdxError (a ValueError) naming the file and the problem, for a truncated, corrupt or
        non-IDX file.
    """
    if path is None or not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"read_idx: path must be a str or pathlib.Path, got {path!r:.80}")
    if Path(path).is_dir():
        raise IdxError(f"{path}: is a folder; read_idx reads one IDX file (e.g. {FILE_HINT})")
    path = Path(path)
    name, file_size = str(path), path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
    compressed = head[:2] == GZIP_MAGIC  # gzip is recognised by content, not name
    if not compressed and path.suffix == ".gz" and head[:2] != b"\x00\x00":
        raise IdxError(
            f"{name}: not a gzip file (it begins with {head!r}), nor a raw IDX file. {FIX}"
        )
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            shape, dtype, header = read_header(f, name)
            nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            expected = header + nbytes
            if not compressed and file_size != expected:
                what = "truncated" if file_size < expected else "has trailing bytes"
                raise IdxError(
                    f"{name}: {what}: header says shape {shape} of {dtype.name}, "
                    f"which needs {expected:,} bytes, but the file holds "
                    f"{file_size:,}"
                )
            if compressed and nbytes > GZIP_MAX_RATIO * file_size:
                raise IdxError(
                    f"{name}: header says shape {shape} of {dtype.name} "
                    f"({expected:,} bytes), more than a {file_size:,}-byte gzip "
                    "file can hold"
                )
            data = np.empty(nbytes, np.uint8)
            got = read_into(f, data)
            if got < nbytes:
                raise IdxError(
                    f"{name}: truncated: header says shape {shape} of {dtype.name}, "
                    f"which needs {expected:,} bytes, but the file holds "
                    f"{header + got:,} once unpacked"
                )
            if f.read(1):
                raise IdxError(
                    f"{name}: has trailing bytes: header says shape {shape} of "
                    f"{dtype.name}, which needs {expected:,} bytes, but the file "
                    "holds more once unpacked"
                )
    except (*GZIP_ERRORS, OSError) as err:
        if not compressed:
            raise
        raise damaged_gzip(path, err) from err
    array = data.view(dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def damaged_gzip(path: str | os.PathLike, err: BaseException) -> IdxError:
    """The IdxError for a gzip file that cannot be unpacked: the file, what is wrong, the fix."""
    if isinstance(err, EOFError):
        what = "truncated: its gzip data end before their end-of-stream marker (a cut-off copy)"
    elif isinstance(err, gzip.BadGzipFile) and str(err).startswith("Not a gzipped"):
        what = f"corrupt: the bytes after its gzip data are not gzip ({err})"
    elif isinstance(err, gzip.BadGzipFile) and "compression method" in str(err):
        what = f"not a gzip file this reader knows ({err})"
    elif isinstance(err, (gzip.BadGzipFile, zlib.error)):
        what = f"corrupt: its compressed data cannot be unpacked ({err})"
    else:
        what = f"unreadable ({getattr(err, 'strerror', None) or err})"
    return IdxError(f"{path} is {what}. {FIX}")


def read_into(f, buffer: np.ndarray) -> int:
    """Fill ``buffer`` from ``f`` as far as the file goes; the number of bytes read."""
    view, got = memoryview(buffer), 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got
