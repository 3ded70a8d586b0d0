"""CIFAR-10 (A. Krizhevsky, 2009): 60,000 colour images of 32x32 in 10 classes, read from
the official *binary* version, without pickle.

Where the files come from, in order (``root``, else ``$CNN_NUMPY_DATA``, else ``./data``; a
root may also hold them in a ``cifar10/`` folder, and MNIST's folder is taken as a parent):

1. ``root/cifar-10-batches-bin/*.bin``, as the archive unpacks;
2. else ``root/cifar-10-binary.tar.gz``, checked against its published MD5 and unpacked
   safely (only the known files, only regular files, sizes checked before reading, nothing
   written outside ``cifar-10-batches-bin/``, atomically);
3. else a download of that archive from the official address (unless ``download=False``),
   written under a temporary name and renamed only once its MD5 is right.

Each batch file is records of 1 label byte (0..9) and 3,072 pixel bytes: the 1,024 red, then
green, then blue values of a 32x32 image, row by row: exactly NumPy's (N, 3, 32, 32).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from ..checks import flag, path_or_none
from .download import DownloadError, check_folder, from_mirrors, make_folders, remove_folders
from .standardized import pixel_dtype

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
ARCHIVE = "cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the dataset's page
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FOLDER = "cifar-10-batches-bin"
SPLITS = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
#: what the archive may hold; anything else in it is refused
KNOWN = {*SPLITS["train"], *SPLITS["test"], "batches.meta.txt", "readme.html"}
RECORD = 1 + 3 * 32 * 32  # label byte + pixels
MAX_MEMBER = 10_000 * RECORD  # an official batch: 30,730,000 bytes


class CifarError(ValueError):
    """A CIFAR-10 file or archive is damaged, altered or not what it claims to be."""


def cifar10_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder holding ``cifar-10-batches-bin/`` or the archive (or to download into);
    ``cifar-10-batches-bin/`` itself names its parent."""
    root = path_or_none(root, "root", "load_cifar10")
    base = Path(root or os.environ.get("CNN_NUMPY_DATA") or "data").expanduser()
    if base.name == FOLDER and any((base / name).is_file() for name in KNOWN):
        return base.parent  # the unpacked folder itself, not its parent
    if not (base / FOLDER).is_dir() and not (base / ARCHIVE).is_file():
        # another dataset's folder (named so, or holding IDX files) is a parent, as for MNIST
        other = base.name in ("mnist", "fashion-mnist") or any(base.glob("*-idx[13]-ubyte*"))
        if (base / "cifar10").is_dir() or root is None or other:
            return base / "cifar10"
    return base


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_archive(path: Path) -> None:
    actual = md5_of(path)
    if actual != MD5:
        raise CifarError(
            f"{path}: MD5 {actual}, but the official {ARCHIVE} has MD5 {MD5}; the file is "
            "damaged or is another archive. Delete it and download it again."
        )


def safe_members(archive: tarfile.TarFile, path: Path) -> list[tarfile.TarInfo]:
    """The archive's batch files, every member checked before anything is read: a plain
    relative path inside ``cifar-10-batches-bin/``, a regular file or folder (no links, no
    devices), a known name, at most an official batch's size and a whole number of records;
    and all six batches there."""
    members = []
    for member in archive.getmembers():
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or name.parts[:1] != (FOLDER,):
            raise CifarError(
                f"{path}: refusing the entry {member.name!r}: CIFAR-10's archive holds only "
                f"files inside {FOLDER}/, and this one would be written elsewhere"
            )
        if member.isdir() and len(name.parts) == 1:
            continue
        if not member.isfile() or len(name.parts) != 2 or name.name not in KNOWN:
            kind = "link" if member.issym() or member.islnk() else "entry"
            raise CifarError(f"{path}: refusing the {kind} {member.name!r}: not a CIFAR-10 file")
        if member.size > MAX_MEMBER:
            raise CifarError(
                f"{path}: {member.name} is {member.size:,} bytes; a CIFAR-10 batch is "
                f"{MAX_MEMBER:,}"
            )
        if name.name.endswith(".bin") and (member.size == 0 or member.size % RECORD):
            raise CifarError(
                f"{path}: {member.name} is {member.size:,} bytes, not a whole number of "
                f"{RECORD:,}-byte records; the archive is damaged"
            )
        members.append(member)
    missing = sorted(
        {*SPLITS["train"], *SPLITS["test"]} - {PurePosixPath(m.name).name for m in members}
    )
    if missing:
        raise CifarError(f"{path}: the archive lacks {', '.join(missing)}; it is incomplete")
    return members


def unpack(path: Path, folder: Path) -> None:
    """``path`` (checked) into ``folder/cifar-10-batches-bin``: into a temporary folder first,
    renamed into place when every file is out, so an interrupted unpack leaves nothing."""
    check_archive(path)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{FOLDER}."))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would keep a shared data folder's batches private
        with tarfile.open(path, "r:gz") as archive:
            for member in safe_members(archive, path):
                source = archive.extractfile(member)
                with source, open(staging / PurePosixPath(member.name).name, "wb") as out:
                    shutil.copyfileobj(source, out)
        os.replace(staging, folder / FOLDER)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise CifarError(
            f"{path}: not a complete tar.gz archive ({err}); delete it and download it again"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_archive(folder: Path, timeout: float, progress: bool) -> Path:
    """The archive from the first mirror that serves it with the right MD5 (atomic).  On
    failure the folders made for it are removed again, as ``download`` does."""
    made = make_folders(folder)

    def wrong_md5(tmp: str, size: int) -> str | None:
        actual = md5_of(Path(tmp))
        return None if actual == MD5 else f"{size:,} bytes, but MD5 {actual} (expected {MD5})"

    try:
        answers = from_mirrors(ARCHIVE, folder, MIRRORS, wrong_md5, timeout, progress, 3600)
    except BaseException:  # Ctrl-C too: leave the user's data location as it was
        remove_folders(made)
        raise
    if not answers:
        return folder / ARCHIVE
    remove_folders(made)
    raise DownloadError(
        f"could not download {ARCHIVE}; mirrors tried:\n"
        + "".join(f"  - {answer}\n" for answer in answers)
        + f"Download it by hand (the binary version, MD5 {MD5}) and put it at\n"
        f"  {folder / ARCHIVE}\nor its unpacked {FOLDER}/ folder beside it."
    )


def python_version(folder: Path) -> str:
    """For the errors: the Python version (torchvision's copy) is there, and not read."""
    names = ("cifar-10-batches-py", "cifar-10-python.tar.gz")
    found = [folder / n for n in names if (folder / n).exists()] + [folder] * (folder.name in names)
    return (
        f"\n({found[0]} is the Python version of CIFAR-10: pickles, which cnn-numpy "
        "never reads, since unpickling can run code; it needs the binary version beside it)"
        if found
        else ""
    )


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: images uint8 (N, 3, 32, 32) and labels uint8 (N,), checked."""
    size = path.stat().st_size
    if size == 0 or size % RECORD:
        hint = (
            " (records of 3,074 bytes: this looks like CIFAR-100, which has two label bytes)"
            if size and size % (RECORD + 1) == 0
            else " (the file is cut off mid-record, or is not a CIFAR-10 binary batch; the "
            "Python version's pickles are not read)"
        )
        raise CifarError(
            f"{path}: {size:,} bytes is not a whole number of {RECORD:,}-byte records "
            f"(1 label byte + 32x32x3 pixel bytes){hint}"
        )
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() >= len(CIFAR10_CLASSES):
        at = int(np.argmax(labels >= len(CIFAR10_CLASSES)))
        raise CifarError(f"{path}: record {at} has label {labels[at]}; CIFAR-10 labels are 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_split(folder: Path, split: str, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A split's batches, joined: X float32 (N, 3, 32, 32) in [0, 1] (or the uint8 bytes,
    for ``dtype=np.uint8``), y int64 (N,)."""
    batches = [read_batch(folder / name) for name in SPLITS[split]]
    counts = [len(labels) for _, labels in batches]
    # every batch of the set holds as many records (10,000 each in the official one): the
    # other split's batches count too, so a test batch cut at a record's end is caught
    others = [folder / n for n in SPLITS["train"] + SPLITS["test"] if n not in SPLITS[split]]
    most = max([*counts, *(p.stat().st_size // RECORD for p in others if p.is_file())])
    if min(counts) < most:
        short = SPLITS[split][int(np.argmin(counts))]
        raise CifarError(
            f"{folder / short}: {min(counts):,} records where the other batches hold "
            f"{most:,}; the batch is truncated"
        )
    X = np.concatenate([images for images, _ in batches])
    if dtype != np.uint8:
        X = X.astype(np.float32) / np.float32(255)
    return X, np.concatenate([labels for _, labels in batches]).astype(np.int64)


def load_cifar10(
    root: str | os.PathLike | None = None,
    download: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
    timeout: float = 30.0,
    progress: bool = True,
    dtype=np.float32,
):
    """CIFAR-10: ``(X_train, y_train), (X_test, y_test)``; 50,000 + 10,000 colour images.

    X float32 (N, 3, 32, 32) in [0, 1], y int64 in 0..9 (names in ``CIFAR10_CLASSES``).
    See the module docstring for where the files are looked for.  ``splits=("test",)``
    returns ``((X_test, y_test),)``.  ``dtype=np.uint8``: X as the files' bytes, 0..255.

    Example:
        >>> (X_train, y_train), (X_test, y_test) = load_cifar10()  # doctest: +SKIP
    """
    if isinstance(splits, str):  # ("test") is the string "test", not a tuple
        raise ValueError(
            f"load_cifar10: splits must be a tuple, e.g. ({splits!r},), got {splits!r}"
        )
    if not splits or any(s not in SPLITS for s in splits):
        raise ValueError(f"splits must name some of train, test, got {splits!r}")
    download = flag(download, "download", "load_cifar10")
    dtype = pixel_dtype(dtype, "load_cifar10")
    folder = cifar10_dir(root)
    check_folder(folder)
    needed = [folder / FOLDER / name for split in splits for name in SPLITS[split]]
    missing = [path.name for path in needed if not path.is_file()]
    if missing and (folder / FOLDER).exists():  # the user's folder: never overwritten
        raise FileNotFoundError(
            f"cifar10: {folder / FOLDER} lacks {', '.join(missing)}; put them there, or "
            f"remove the folder to unpack {ARCHIVE} again"
        )
    if missing:
        archive = folder / ARCHIVE
        if not archive.is_file():
            if not download:
                raise FileNotFoundError(
                    f"cifar10: neither {folder / FOLDER}/ nor {archive} exists; pass "
                    "download=True, or put the archive (the binary version) there"
                    + python_version(folder)
                )
            try:
                download_archive(folder, timeout, progress)
            except DownloadError as err:
                raise DownloadError(f"{err}{python_version(folder)}") from None
        unpack(archive, folder)
    return tuple(read_split(folder / FOLDER, split, dtype) for split in splits)
