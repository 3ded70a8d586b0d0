"""A model file is untrusted input: its archive and its JSON header are checked before use.

What a file may hold is closed: the header's keys, each layer's type (the classes in
``cnn_numpy.layers``) and the card's known fields have fixed types; sizes are bounded
(header bytes, nesting depth, layer count, the arrays' total once unpacked); numbers are
finite.  And the architecture's parameter shapes must equal the arrays the file really
holds *before* any layer is built, so a forged header cannot make ``load`` allocate more
memory than the file itself carries.
"""

from __future__ import annotations

import json
import math
import numbers
import zipfile

MAX_HEADER_BYTES = 16 * 2**20  # a real header is a few KB
MAX_DEPTH = 32  # nesting of JSON lists and dicts
MAX_LAYERS = 1000
#: the arrays' total size once unpacked, at most this many times the file's size (our files
#: are stored uncompressed: about 1x) ...
MAX_INFLATION = 16
#: ... or at least this many bytes (small files)
MIN_ALLOWANCE = 64 * 2**20
HEADER_KEYS = {
    "format",
    "format_version",
    "kind",
    "layers",
    "arrays",
    "card",
    "resume",
    "novelty",
}  # novelty: checked in full by cnn_numpy.tools.novelty.storage
DTYPES = {"float32", "float64", "int64"}


class HeaderError(ValueError):
    """What is wrong with a header (``open_npz`` adds the path and raises ModelFileError)."""


def check_archive(archive: zipfile.ZipFile, file_size: int, header_member: str) -> None:
    """Sizes from the zip directory, read before anything is unpacked."""
    members = archive.infolist()
    header = [m for m in members if m.filename == header_member]
    if header and header[0].file_size > MAX_HEADER_BYTES:
        raise HeaderError(f"its header is {header[0].file_size:,} bytes; a real one is a few KB")
    total = sum(m.file_size for m in members)
    if total > max(MAX_INFLATION * file_size, MIN_ALLOWANCE):
        raise HeaderError(
            f"its arrays unpack to {total:,} bytes from a {file_size:,}-byte file; "
            "cnn-numpy files are not compressed, so this is not one"
        )


def parse_header(data: bytes) -> dict:
    """The header's JSON, strictly: no NaN or Infinity, bounded depth."""

    def no_constants(name):
        raise HeaderError(f"its header holds {name}, which is not a number JSON allows")

    try:
        header = json.loads(data.decode("utf-8"), parse_constant=no_constants)
    except RecursionError:
        raise HeaderError("its header is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HeaderError(f"its header is not valid JSON ({err})") from None
    if depth(header) > MAX_DEPTH:
        raise HeaderError(f"its header is nested more than {MAX_DEPTH} levels deep")
    return header


def depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_header(header, registry: dict, format_name: str, version: int) -> None:
    """The closed schema of a header; HeaderError naming the first thing that is wrong."""
    if not isinstance(header, dict) or header.get("format") != format_name:
        found = header.get("format") if isinstance(header, dict) else None
        raise HeaderError(f"is not a cnn-numpy model file (format {found!r})")
    got = header.get("format_version")
    if not isinstance(got, int) or isinstance(got, bool) or got > version or got < 1:
        raise HeaderError(
            f"has file format version {got!r}; this cnn-numpy reads version "
            f"{version} and older. Upgrade cnn-numpy to load it."
        )
    unknown = sorted(set(header) - HEADER_KEYS)
    if unknown:
        raise HeaderError(f"its header has unknown entries {unknown}")
    for key, kind in (("layers", list), ("arrays", dict), ("card", dict)):
        if not isinstance(header.get(key), kind):
            raise HeaderError(f"header has no {key!r} entry of type {kind.__name__}")
    if not isinstance(header.get("novelty", {}), dict):
        raise HeaderError("its header's novelty entry is not a dict")
    if header.get("kind", "model") not in ("model", "checkpoint"):
        raise HeaderError(f"its header's kind {header.get('kind')!r} is not model or checkpoint")
    if len(header["layers"]) > MAX_LAYERS:
        raise HeaderError(f"its header lists {len(header['layers'])} layers (at most {MAX_LAYERS})")
    count = 0
    for i, spec in enumerate(header["layers"]):
        for where, sub in nested_specs(spec, f"layer {i}"):
            check_spec(sub, where, registry)
            count += 1
    if count > MAX_LAYERS:
        raise HeaderError(f"its header describes {count} layers (at most {MAX_LAYERS})")
    for name, record in header["arrays"].items():
        if (
            not isinstance(record, dict)
            or set(record) != {"shape", "dtype"}
            or not is_shape(record["shape"])
            or record["dtype"] not in DTYPES
        ):
            raise HeaderError(
                f"its record of array {name!r:.100} is {record!r:.200}, not "
                "{'shape': [sizes], 'dtype': 'float32' | 'float64' | 'int64'}"
            )
    check_card(header["card"])


#: the containers a layer spec may nest: their branches, each a spec of its own
CONTAINERS = {"Residual": ("block", "shortcut"), "Sequential": ()}


def check_spec(spec, where: str, registry: dict) -> None:
    """One ``{"type": ..., "config": {...}}`` of a known type (not what it nests)."""
    if (
        not isinstance(spec, dict)
        or set(spec) - {"type", "config"}
        or not isinstance(spec.get("config", {}), dict)
    ):
        raise HeaderError(
            f"{where} is described as {spec!r:.200}, not as {{'type': ..., 'config': {{...}}}}"
        )
    if spec.get("type") not in registry and spec.get("type") not in CONTAINERS:
        raise HeaderError(
            f"{where} has unknown type {spec.get('type')!r:.100}; this "
            f"version of cnn-numpy knows {', '.join(sorted(registry))}"
        )


def nested_specs(spec, where: str):
    """``(where, spec)`` for ``spec`` and every spec inside it: a Residual's ``block`` and
    ``shortcut`` (None: the identity), a Sequential's ``layers``.  Malformed nesting is a
    HeaderError; each spec itself is left to ``check_spec``."""
    yield where, spec
    kind = spec.get("type") if isinstance(spec, dict) else None
    config = spec.get("config", {}) if isinstance(spec, dict) else {}
    if kind not in CONTAINERS or not isinstance(config, dict):
        return
    if kind == "Sequential":
        inner = config.get("layers")
        if not isinstance(inner, list) or set(config) != {"layers"}:
            raise HeaderError(f"{where} (Sequential) must have the config {{'layers': [...]}}")
        for i, sub in enumerate(inner):
            yield from nested_specs(sub, f"{where} ({i})")
        return
    if set(config) - {"block", "shortcut"} or not isinstance(config.get("block"), dict):
        raise HeaderError(
            f"{where} (Residual) must have the config {{'block': spec, 'shortcut': spec or None}}"
        )
    for branch in ("block", "shortcut"):
        if config.get(branch) is not None:
            yield from nested_specs(config[branch], f"{where} {branch}")


def is_shape(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= 8
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**40 for v in value)
    )


def check_card(card: dict, num_outputs: int | None = None) -> None:
    """The card's known fields, which cnn-numpy acts on, have the types it needs; the rest of
    the card is the user's (JSON, bounded with the header)."""
    names = card.get("class_names")
    if names is not None:
        if not isinstance(names, list) or not all(
            isinstance(n, str) and len(n) <= 200 and n.isprintable() for n in names
        ):  # printable: a name with terminal escapes would drive the terminal it is printed on
            raise HeaderError(
                "its card's class_names must be a list of names (strings without control "
                "characters)"
            )
        if num_outputs is not None and len(names) != num_outputs:
            raise HeaderError(
                f"its card names {len(names)} classes but the model has {num_outputs} outputs"
            )
    norm = card.get("normalize")
    if norm is not None and not (
        isinstance(norm, dict)
        and set(norm) == {"mean", "std"}
        and finite(norm["mean"])
        and finite(norm["std"])
        and norm["std"] > 0
    ):
        raise HeaderError(
            f"its card's normalize must be {{'mean': number, 'std': number > 0}}, got {norm!r:.200}"
        )
    shape = card.get("input_shape")
    if shape is not None and not (is_shape(shape) and len(shape) == 3 and min(shape) >= 1):
        raise HeaderError(
            f"its card's input_shape must be [channels, height, width], got {shape!r:.200}"
        )
    for key in ("dataset", "preset", "library_version", "date", "saved_as"):
        if card.get(key) is not None and not (
            isinstance(card[key], str) and card[key].isprintable()
        ):
            raise HeaderError(
                f"its card's {key} must be a string without control characters, "
                f"got {card[key]!r:.100}"
            )
    for key in ("epochs", "total_epochs", "seed"):
        value = card.get(key)
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        ):
            raise HeaderError(f"its card's {key} must be a whole number >= 0, got {value!r:.100}")


def finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def param_shapes(spec: dict) -> dict[str, tuple[int, ...]]:
    """The parameter and buffer shapes a layer spec will have once built, worked out from its
    config alone (without building it); {} for layers without parameters or when the config
    is not plain (the constructor then says what is wrong)."""
    config, kind = spec.get("config", {}), spec.get("type")

    def size(key, default=None):
        value = config.get(key, default)
        if isinstance(value, list) and len(value) == 2:
            return tuple(value)
        return (value, value)

    if kind in CONTAINERS and isinstance(config, dict):  # the arrays of what it nests
        inner = config.get("layers") if kind == "Sequential" else None
        inner = dict(enumerate(inner)) if isinstance(inner, list) else inner
        branches = inner or {b: config.get(b) for b in CONTAINERS[kind]}
        return {
            f"{branch}.{name}": shape
            for branch, sub in branches.items()
            if isinstance(sub, dict)
            for name, shape in param_shapes(sub).items()
        }
    try:
        if kind == "Conv2d":
            shapes = {
                "weight": (config["out_channels"], config["in_channels"], *size("kernel_size"))
            }
            if config.get("bias", True):
                shapes["bias"] = (config["out_channels"],)
        elif kind == "Linear":
            shapes = {"weight": (config["out_features"], config["in_features"])}
            if config.get("bias", True):
                shapes["bias"] = (config["out_features"],)
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            c = (config["num_features"],)
            shapes = {"weight": c, "bias": c} if config.get("affine", True) else {}
            if config.get("track_running_stats", True):
                shapes.update(running_mean=c, running_var=c, num_batches_tracked=())
        else:
            return {}
    except (KeyError, TypeError):
        return {}
    if not all(isinstance(v, int) and not isinstance(v, bool) for s in shapes.values() for v in s):
        return {}
    return shapes
