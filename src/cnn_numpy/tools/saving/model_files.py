"""Save a model to one ``.npz`` file and load it back, without pickle.

The file is an ordinary NumPy archive (``np.load(path)`` opens it) holding

    "0.weight", "0.bias", ...   the ``state_dict()`` arrays, under PyTorch's names
    "__header__"                UTF-8 JSON as a uint8 array: the architecture (each layer's
                                class name and ``config()``), the shape and dtype of every
                                array, and the model card (dataset, classes, normalisation...)

``load`` reads it with ``allow_pickle=False``, so opening a file can never run code; it
rebuilds the layers from a registry of the classes in ``cnn_numpy.layers`` and checks every
array against the architecture before copying it in.  Writes are atomic: a save that is
interrupted leaves the previous file as it was.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_bytes
from ...model import Sequential, checked_state
from .architecture import ModelFileError, architecture, build, layer_registry, unwrapped
from .damaged import ARCHIVE_ERRORS, FIX, damaged_archive, npy_entry
from .header import (
    MAX_DEPTH,
    HeaderError,
    check_archive,
    check_card,
    check_header,
    depth,
    param_shapes,
    parse_header,
)

FORMAT = "cnn-numpy"
#: bump when the layout changes; ``load`` refuses files from a newer version
FORMAT_VERSION = 1
HEADER_KEY = "__header__"


def _to_json(value):
    """``json.dumps`` fallback for NumPy scalars and arrays in the metadata."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-friendly")


def encode_header(header: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(header, default=_to_json).encode("utf-8"), dtype=np.uint8)


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], header: dict) -> None:
    """Write ``arrays`` and the JSON ``header`` to ``path`` atomically (temp file + rename)."""
    if HEADER_KEY in arrays:
        raise ValueError(f"array name {HEADER_KEY!r} is reserved")
    buffer = io.BytesIO()
    np.savez(buffer, **{HEADER_KEY: encode_header(header)}, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def save(model: Sequential, path: str | os.PathLike, **metadata) -> Path:
    """Save ``model`` (architecture + weights) and a model card to one ``.npz`` file.

    ``metadata`` goes into the card as given (JSON-friendly values), e.g. ``dataset="mnist",
    class_names=[...], normalize={"mean": 0.1307, "std": 0.3081}, input_shape=(1, 28, 28),
    epochs=5, test_acc=0.98, seed=0``.  The library version and the date are added.  A
    ``DataParallel`` is saved as the ``Sequential`` it wraps.

    Example:
        >>> save(model, "model.npz", dataset="mnist", input_shape=(1, 28, 28))  # doctest: +SKIP
        >>> model = load("model.npz")                                          # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"save: {path} is a folder; give a file name, e.g. {path / 'model.npz'}")
    header = model_header(model, metadata)  # first: it checks what model is
    write_npz(path, model.state_dict(), header)
    return path


def model_header(model: Sequential, metadata: dict, kind: str = "model") -> dict:
    from ... import __version__

    layers = architecture(model)  # first: it checks that model is a Sequential
    state = model.state_dict()
    card = {
        "library_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **metadata,
    }
    card = json.loads(json.dumps(card, default=_to_json))  # what the file will hold
    try:
        check_card(card, num_outputs(unwrapped(model), card))
    except HeaderError as err:  # phrased for a file: "its card's ..."
        raise ValueError(f"save: {str(err).removeprefix('its ')}") from None
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "layers": layers,
        "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in state.items()},
        "card": card,
    }
    if depth(header) > MAX_DEPTH:  # never write a file that load() refuses
        raise ValueError(
            f"save: the model's layers nest deeper than a model file allows ({MAX_DEPTH} levels "
            "of JSON, about five Residuals one inside another); load() would refuse the file"
        )
    return header


def open_npz(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check a cnn-numpy ``.npz``: returns (header, every array but the header).

    Raises FileNotFoundError, or ModelFileError with a message saying what is wrong.
    """
    path = Path(path)
    if path.is_dir():
        found = [str(path / name) for name in ("best.npz", "model.npz") if (path / name).is_file()]
        raise ModelFileError(
            f"{path} is a folder, not a model file ("
            + (f"it holds {' and '.join(found)}" if found else "it holds no best.npz or model.npz")
            + ")"
        )
    if path.exists() and not path.is_file():  # reading a pipe could wait for ever
        raise ModelFileError(f"{path} is a pipe or a device, not a model file (a .npz)")
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if not magic:
        raise ModelFileError(f"{path} is empty (0 bytes), not a model file; {FIX}")
    if magic != b"PK\x03\x04":
        hint = (
            " (it looks like a pickle; cnn-numpy never loads pickles, they can run code)"
            if magic[:1] == b"\x80"
            else ""
        )
        raise ModelFileError(f"{path} is not a cnn-numpy model file: not an .npz archive{hint}")
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive, path.stat().st_size, f"{HEADER_KEY}.npy")
        with np.load(path, allow_pickle=False) as archive:
            if HEADER_KEY not in archive.files:
                raise ModelFileError(
                    f"{path} is an .npz archive but not a cnn-numpy file (it has "
                    f"no {HEADER_KEY!r} entry; arrays: {archive.files[:5]}...)"
                )
            raw = npy_entry(archive, HEADER_KEY)
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise HeaderError("its header is not a byte array")
            header = parse_header(raw.tobytes())
            check_header(header, layer_registry(), FORMAT, FORMAT_VERSION)
            arrays = {
                name: npy_entry(archive, name) for name in archive.files if name != HEADER_KEY
            }
    except HeaderError as err:
        raise ModelFileError(
            f"{path} {err}" if str(err).startswith(("is ", "has ")) else f"{path}: {err}"
        ) from None
    except ModelFileError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():  # numpy: "Object arrays cannot be loaded when..."
            raise ModelFileError(
                f"{path} contains a pickled (object) array; cnn-numpy refuses to "
                "load it because unpickling can run arbitrary code"
            ) from err
        raise ModelFileError(damaged_archive(path, err)) from err
    except ARCHIVE_ERRORS as err:
        raise ModelFileError(damaged_archive(path, err)) from err
    return header, arrays


def check_arrays(
    header: dict, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray], path
) -> None:
    """Every array the architecture needs is present, with the shape and dtype it needs."""
    try:
        checked_state(arrays, expected, cast=False)
    except ValueError as err:
        raise ModelFileError(f"{path}: arrays do not match the architecture: {err}") from None
    for key, got in arrays.items():
        recorded = header["arrays"].get(key, {})
        if recorded and (
            tuple(recorded.get("shape", ())) != got.shape or recorded.get("dtype") != str(got.dtype)
        ):
            raise ModelFileError(
                f"{path}: array {key!r} does not match the header's record {recorded}"
            )


def check_finite(arrays: dict[str, np.ndarray], path) -> None:
    """A ModelFileError naming the first weight or buffer that holds NaN or infinity: such a
    model answers NaN for every image (its training diverged, or the file is damaged)."""
    for key, array in arrays.items():
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ModelFileError(
                f"{path}: array {key!r} holds {bad:,} of {array.size:,} values that are NaN "
                "or infinite, so the model's every answer would be NaN (its training "
                "diverged, or the file is damaged): train it again, e.g. with a smaller "
                "learning rate, or use an earlier file (best.npz)"
            )


def restore_model(header: dict, arrays: dict[str, np.ndarray], path) -> Sequential:
    # before building anything: the arrays the architecture needs are in the file, so a
    # forged header cannot make us allocate more than the file holds
    needed = {
        f"{i}.{name}": shape
        for i, spec in enumerate(header["layers"])
        for name, shape in param_shapes(spec).items()
    }
    missing = [key for key in needed if key not in arrays]
    if missing:
        raise ModelFileError(f"{path}: arrays do not match the architecture: missing {missing}")
    for key, shape in needed.items():
        if arrays[key].shape != shape:
            raise ModelFileError(
                f"{path}: array {key!r} has shape {arrays[key].shape}; the "
                f"architecture needs shape {shape}"
            )
    try:
        model = build(header["layers"])
    except MemoryError as err:  # a crafted header asking for absurd layer sizes
        raise ModelFileError(
            f"{path}: the architecture in its header is too large to "
            "build; the file is damaged or not a real model"
        ) from err
    # not the model's: a checkpoint's "optimizer/..." and a novelty check's "novelty/..."
    checkpoint = header.get("kind") == "checkpoint"
    arrays = {
        k: v
        for k, v in arrays.items()
        if not k.startswith("novelty/") and not (checkpoint and "/" in k)
    }
    check_arrays(header, arrays, model.state_dict(), path)
    check_finite(arrays, path)
    try:
        check_card(header["card"], num_outputs(model, header["card"]))
    except HeaderError as err:
        raise ModelFileError(f"{path}: {err}") from None
    model.load_state_dict(arrays)
    model.eval()
    return model


def num_outputs(model: Sequential, card: dict) -> int | None:
    """The model's number of outputs for the card's input_shape (None without one); a
    HeaderError if the layers do not take that shape."""
    shape = card.get("input_shape")
    if shape is None:
        return None
    try:
        return model.output_shape((1, *shape))[-1]
    except ValueError as err:
        raise HeaderError(f"its layers do not take its card's input_shape {shape}: {err}") from None


def load(path: str | os.PathLike) -> Sequential:
    """Rebuild a model saved by ``save`` (or a training checkpoint), in eval mode.

    Never unpickles.  Raises ``ModelFileError`` (a ValueError) for a corrupt, truncated,
    foreign or pickled file, an unknown layer type, a missing array or a wrong shape/dtype,
    and for weights or buffers that hold NaN or infinity (a diverged model answers NaN).
    """
    header, arrays = open_npz(path)
    return restore_model(header, arrays, path)


def load_card(path: str | os.PathLike) -> dict:
    """The model card of a saved model: dataset, class names, normalisation, accuracy...
    plus ``"layers"`` (the architecture)."""
    header, _ = open_npz(path)
    return card_of(header)


def load_with_card(path: str | os.PathLike) -> tuple[Sequential, dict]:
    """``(load(path), load_card(path))``, reading the file once."""
    header, arrays = open_npz(path)
    return restore_model(header, arrays, path), card_of(header)


def card_of(header: dict) -> dict:
    return {**header["card"], "layers": header["layers"]}
