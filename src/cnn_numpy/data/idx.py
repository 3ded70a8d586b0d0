"""Read IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or raw.

The header is big-endian: two zero bytes, a type byte (0x08 = uint8, ...), the number of
dimensions, then one 4-byte size per dimension.  The data follow in row-major (C) order.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

#: element type byte -> big-endian NumPy dtype
IDX_TYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


class IdxError(ValueError):
    """A file that is not a valid, complete IDX file."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed first if it is gzip (recognised by its magic, not name)."""
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as err:  # EOFError: the gzip stream is cut short
        raise IdxError(f"{path}: not a complete gzip file ({err}); delete it and download "
                       f"it again") from err


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array, checking the header against the length."""
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IdxError(f"{name}: not an IDX file (magic number 0x{data[:4].hex()} should "
                       f"start with two zero bytes, as 0x00000803 for images)")
    if type_code not in IDX_TYPES:
        raise IdxError(f"{name}: unknown IDX element type 0x{type_code:02x} (known: "
                       f"{', '.join(f'0x{t:02x}' for t in IDX_TYPES)})")
    if ndim == 0:
        raise IdxError(f"{name}: IDX header says 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes, need {header} for "
                       f"{ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise IdxError(f"{name}: {what}: header says shape {shape} of {dtype.name}, which "
                       f"needs {expected:,} bytes, but the file holds {len(data):,}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array of its shape and element type.

    Example: ``read_idx("data/mnist/train-images-idx3-ubyte.gz")`` -> uint8 (60000, 28, 28).

    Raises:
        IdxError (a ValueError) naming the file and the problem, for a truncated, corrupt or
        non-IDX file.
    """
    return parse_idx(read_bytes(path), str(path))
