"""A novelty detector inside the model file: its arrays under ``"novelty/<stage>/<name>"``,
everything else as plain numbers and strings in the header's ``"novelty"`` entry.
``save_novelty(path, detector)`` adds it to a file ``save`` wrote (or replaces it);
``load_novelty(path)`` reads it back.

    "novelty/0/means"       (C, D_0) float64       class means of stage 0's features
    "novelty/0/precisions"  (C, D_0, D_0) float64  inverse of each class's covariance there
    ...one pair per stage...
    header["novelty"] = {"method": "mahalanobis", "version": 1, "threshold": 1.07,
                         "refuse_rate": 0.01, "holdout_refused": 0.0098, "fit_images": 54000,
                         "holdout_images": 6000, "shrinkage": 0.01,
                         "stages": [{"layer": 1, "pooling": "channels", "scale": 7.9}, ...]}

A detector with a learned combination of its clues (combine.py, since 2026-12) is version 2
and adds its few numbers to the header entry:

    "combination": {"clues": ["log r0", ..., "margin", "energy"], "low": [...], "high": [...],
                    "mean": [...], "std": [...], "weights": [...], "bias": -1.3}

A detector with a reader (a network whose features the check reads instead of the model's:
reader.py) is version 3, so that a cnn-numpy from before readers refuses the file instead of
scoring the model's own features with the reader's Gaussians.  The reader is stored as a
model is (``model_header``'s architecture, arrays and card), its arrays under
``"novelty/reader/"``:

    "novelty/reader/0.weight" ...            the reader's state_dict
    header["novelty"]["reader"] = {"format": "cnn-numpy", "layers": [...], "arrays": {...},
                                   "card": {"preset": "lenet", "input_shape": [1, 28, 28]}, ...}

Version 1 (no combination: the stages' root mean square) and 2 entries still load.  A file
saved before novelty detectors existed has neither: ``load_novelty`` returns None.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..saving.model_files import ModelFileError, open_npz, write_npz
from .combine import Combination, clue_names
from .detector import NoveltyDetector
from .features import POOLINGS, Stage
from .gaussian import ClassGaussians
from .reader_file import READER, read_reader, reader_entry

PREFIX = "novelty/"
METHOD, VERSION = "mahalanobis", 2
#: version 1: no "combination" (the stages' root mean square); 3: with a reader
VERSIONS = (1, 2, 3)
WITH_READER = 3
#: the combination's lists of numbers, one per clue
COMBINATION_LISTS = ("low", "high", "mean", "std", "weights")
#: the header entry's keys and their types (numbers must be finite)
NUMBERS = {
    "threshold": float,
    "refuse_rate": float,
    "holdout_refused": float,
    "fit_images": int,
    "holdout_images": int,
    "shrinkage": float,
}


def save_novelty(path: str | os.PathLike, detector: NoveltyDetector) -> None:
    """Store ``detector`` in the model file at ``path`` (written by ``save``), replacing any
    detector it held; the model and its card stay as they are.  Atomic, as ``save``.

    Example:
        >>> cnn.save(model, "model.npz", dataset="mnist", input_shape=(1, 28, 28))  # doctest: +SKIP
        >>> cnn.save_novelty("model.npz", cnn.fit_novelty(model, X, y, rng=0))      # doctest: +SKIP
    """
    if not isinstance(detector, NoveltyDetector):
        swapped = isinstance(path, NoveltyDetector)  # save(model, path) puts the path second
        raise ValueError(
            f"save_novelty: expected a NoveltyDetector (from fit_novelty), got "
            f"{type(detector).__name__}"
            + ("; the model file comes first: save_novelty(path, detector)" if swapped else "")
        )
    header, arrays = open_npz(path)
    last = header["layers"][-1] if header["layers"] else {}
    outputs = last.get("config", {}).get("out_features")
    layers = len(header["layers"]) if detector.reader is None else len(detector.reader.layers)
    if outputs != detector.num_classes or any(s.layer >= layers for s in detector.stages):
        raise ValueError(
            f"save_novelty: the detector was fitted for a model with "
            f"{detector.num_classes} classes, not the one in {path}"
        )
    entry, extra = to_file(detector)
    if detector.reader is not None:
        entry["reader"], reader_arrays = reader_entry(detector.reader, header["card"])
        extra.update(reader_arrays)
    arrays = {k: v for k, v in arrays.items() if not k.startswith(PREFIX)}
    arrays.update({PREFIX + name: array for name, array in extra.items()})
    write_npz(path, arrays, {**header, "novelty": entry})


def to_file(detector: NoveltyDetector) -> tuple[dict, dict[str, np.ndarray]]:
    """(header entry, arrays without the "novelty/" prefix) of a detector."""
    header = {
        "method": METHOD,
        "version": (
            WITH_READER
            if detector.reader is not None
            else VERSION
            if detector.combination is not None
            else 1
        ),
        "threshold": float(detector.threshold),
        "refuse_rate": float(detector.refuse_rate),
        "holdout_refused": float(detector.holdout_refused),
        "fit_images": int(detector.fit_images),
        "holdout_images": int(detector.holdout_images),
        "shrinkage": float(detector.shrinkage),
        "stages": [
            {"layer": s.layer, "pooling": s.pooling, "scale": float(scale)}
            for s, scale in zip(detector.stages, detector.scales)
        ],
    }
    if detector.unweighted is not None:  # a version 1 entry; older readers ignore the key
        header["unweighted"] = str(detector.unweighted)
    if detector.combination is not None:
        c = detector.combination
        header["combination"] = {
            "clues": list(c.names),
            **{name: [float(v) for v in getattr(c, name)] for name in COMBINATION_LISTS},
            "bias": float(c.bias),
        }
    arrays = {}
    for i, gaussians in enumerate(detector.gaussians):
        arrays[f"{i}/means"] = gaussians.means.astype(np.float64)
        arrays[f"{i}/precisions"] = gaussians.precisions.astype(np.float64)
    return header, arrays


def load_novelty(path: str | os.PathLike) -> NoveltyDetector | None:
    """The novelty detector stored in a model file, or None if it has none (a file saved
    before novelty detectors, or by ``save`` without one).  Raises ModelFileError if the
    stored detector is damaged."""
    header, arrays = open_npz(path)
    return read_novelty(header, arrays, path)


def read_novelty(header: dict, arrays: dict[str, np.ndarray], path) -> NoveltyDetector | None:
    """The detector from an opened file's header and arrays (see ``open_npz``), checked."""
    entry = header.get("novelty")
    stored = {k[len(PREFIX) :]: v for k, v in arrays.items() if k.startswith(PREFIX)}
    if entry is None and not stored:
        return None

    def damaged(problem: str) -> ModelFileError:
        return ModelFileError(
            f"{path}: its novelty check is damaged ({problem}); the model itself still "
            "loads (cnn_numpy.load): fit a new check with cnn_numpy.fit_novelty and "
            "save_novelty, or with cnn-numpy train --resume on its run folder"
        )

    version = entry.get("version") if isinstance(entry, dict) else None
    if isinstance(version, int) and version > max(VERSIONS):
        raise ModelFileError(
            f"{path}: its novelty check is version {version}, from a newer cnn-numpy; this "
            f"one reads versions {min(VERSIONS)}-{max(VERSIONS)}. Upgrade cnn-numpy to use it"
        )
    if (
        not isinstance(entry, dict)
        or entry.get("method") != METHOD
        or entry.get("version") not in VERSIONS
    ):
        raise damaged(
            f"header entry {entry!r:.80} is not a {METHOD} detector, version "
            f"{' or '.join(map(str, VERSIONS))}"
        )
    for key, kind in NUMBERS.items():
        value = entry.get(key)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or (kind is int and not isinstance(value, int))
            or not math.isfinite(value)
        ):
            raise damaged(f"{key} is {value!r}, not a finite {kind.__name__}")
    stages = entry.get("stages")
    if not isinstance(stages, list) or not stages:
        raise damaged("no stages")
    reader_arrays = {k[len(READER) :]: v for k, v in stored.items() if k.startswith(READER)}
    stored = {k: v for k, v in stored.items() if not k.startswith(READER)}
    expected = {f"{i}/{name}" for i in range(len(stages)) for name in ("means", "precisions")}
    if set(stored) != expected:
        raise damaged(f"arrays {sorted(stored)} instead of {sorted(expected)}")
    reader = None
    if entry["version"] == WITH_READER or entry.get("reader") is not None or reader_arrays:
        if entry["version"] != WITH_READER:
            raise damaged(f"a reader in a version {entry['version']} entry (readers are 3)")
        try:
            reader = read_reader(entry.get("reader"), reader_arrays, path)
        except ValueError as err:
            raise damaged(str(err)) from None
    parsed, gaussians, scales = [], [], []
    for i, stage in enumerate(stages):
        if (
            not isinstance(stage, dict)
            or stage.get("pooling") not in POOLINGS
            or not isinstance(stage.get("layer"), int)
            or not isinstance(stage.get("scale"), (int, float))
            or not (math.isfinite(stage["scale"]) and stage["scale"] > 0)
        ):
            raise damaged(f"stage {i} is {stage!r:.80}")
        means, precisions = stored[f"{i}/means"], stored[f"{i}/precisions"]
        if means.ndim != 2 or precisions.shape != (*means.shape, means.shape[1]):
            raise damaged(f"stage {i}'s arrays have shapes {means.shape} and {precisions.shape}")
        if means.dtype != np.float64 or precisions.dtype != np.float64:
            raise damaged(
                f"stage {i}'s arrays are {means.dtype} and {precisions.dtype}, not float64"
            )
        if not (np.isfinite(means).all() and np.isfinite(precisions).all()):
            raise damaged(f"stage {i}'s arrays hold NaN or infinity")
        parsed.append(Stage(stage["layer"], stage["pooling"]))
        gaussians.append(ClassGaussians(means=means, precisions=precisions))
        scales.append(stage["scale"])
    if len({g.means.shape[0] for g in gaussians}) != 1:
        raise damaged("stages disagree on the number of classes")
    if reader is not None and (
        reader.layers[-1].out_features != gaussians[0].means.shape[0]
        or any(s.layer >= len(reader.layers) for s in parsed)
    ):
        raise damaged("its reader does not give the logits and layers its stages read")
    combination = None
    # version 2 has one; 3 (a reader) has one unless fitted with learn=False
    if entry["version"] == 2 or (entry["version"] == WITH_READER and "combination" in entry):
        try:
            combination = read_combination(entry.get("combination"), len(stages))
        except ValueError as err:
            raise damaged(str(err)) from None
    return NoveltyDetector(
        stages=parsed,
        gaussians=gaussians,
        scales=np.array(scales),
        threshold=entry["threshold"],
        refuse_rate=entry["refuse_rate"],
        holdout_refused=entry["holdout_refused"],
        fit_images=entry["fit_images"],
        holdout_images=entry["holdout_images"],
        shrinkage=entry["shrinkage"],
        combination=combination,
        unweighted=(
            entry["unweighted"]
            if combination is None and isinstance(entry.get("unweighted"), str)
            else None
        ),
        reader=reader,
    )


def read_combination(entry, stages: int) -> Combination:
    """The learned combination from its header entry, checked; ValueError if damaged."""
    names = clue_names(stages)
    if not isinstance(entry, dict) or entry.get("clues") != names:
        raise ValueError(f"combination {entry!r:.80} does not weigh the clues {names}")
    lists = {}
    for name in COMBINATION_LISTS:
        values = entry.get(name)
        if (
            not isinstance(values, list)
            or len(values) != len(names)
            or not all(finite_number(v) for v in values)
        ):
            raise ValueError(f"combination's {name} is {values!r:.80}, not {len(names)} numbers")
        lists[name] = np.array(values, dtype=np.float64)
    if not finite_number(entry.get("bias")):
        raise ValueError(f"combination's bias is {entry.get('bias')!r:.40}, not a number")
    if (lists["std"] <= 0).any() or (lists["low"] > lists["high"]).any():
        raise ValueError("combination's std is not positive, or its low above its high")
    return Combination(names=names, **lists, bias=float(entry["bias"]))


def finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
