"""What is wrong with a model file or checkpoint whose ``.npz`` (zip) archive cannot be read."""

from __future__ import annotations

import math
import struct
import tokenize
import zipfile
import zlib

import numpy as np

#: what reading a damaged ``.npz`` raises, from zipfile, zlib and NumPy's ``.npy`` header
#: parser (ValueError is told apart by the caller: it also means a pickled array)
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,  # no end record (cut short), bad CRC, bad member header
    zipfile.LargeZipFile,
    EOFError,  # a member's data end early
    OSError,
    zlib.error,  # a deflated member whose bytes were changed
    KeyError,
    UnicodeDecodeError,
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,  # an encrypted member
    tokenize.TokenError,  # a damaged .npy header
    SyntaxError,
    struct.error,
)
FIX = "copy it again from where it came from, or train and save the model again"


def damaged_archive(path, err: BaseException) -> str:
    """The message for a ``.npz`` that ``err`` stopped: the file, what is wrong, the fix."""
    detail = f"{type(err).__name__}: {err}"
    if isinstance(err, EOFError) or (
        isinstance(err, zipfile.BadZipFile) and "not a zip file" in str(err).lower()
    ):
        what = f"truncated: the end of its zip archive is missing ({detail})"
    elif isinstance(err, (NotImplementedError, RuntimeError)):
        what = f"an archive NumPy cannot read ({detail})"
    else:
        what = f"corrupt: its zip archive is damaged ({detail})"
    return f"{path} is {what}; {FIX}"


def npy_entry(archive, name: str) -> np.ndarray:
    """``archive[name]`` of an opened ``.npz``: NumPy returns an entry that does not begin
    as a ``.npy`` file does as raw bytes, not an array; that is a damaged file too."""
    check_npy_size(archive.zip, f"{name}.npy")
    value = archive[name]
    if not isinstance(value, np.ndarray):
        raise zipfile.BadZipFile(
            f"its entry {name!r} is not a NumPy array (it begins with {bytes(value[:12])!r})"
        )
    return value


def check_npy_size(archive: zipfile.ZipFile, member: str) -> None:
    """An entry whose ``.npy`` header promises more bytes than the entry holds is damaged:
    NumPy would allocate what the header says (tens of GB from a forged one) before it
    found the data missing."""
    if member not in archive.namelist():
        return
    with archive.open(member) as f:
        if f.read(6) != np.lib.format.MAGIC_PREFIX:
            return  # not a .npy entry: NumPy hands back its bytes, npy_entry names it
        version = tuple(f.read(2))
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            return  # NumPy's own reader names what is wrong with it
    promised = math.prod(shape) * dtype.itemsize
    held = archive.getinfo(member).file_size
    if not dtype.hasobject and promised > held:
        raise zipfile.BadZipFile(
            f"its entry {member[:-4]!r} promises an array of shape {shape} and dtype {dtype} "
            f"({promised:,} bytes) but holds {held:,} bytes"
        )
