"""A novelty check's reader (reader.py) inside the model file: stored as a model is, with
``model_header``'s architecture, array records and card, its arrays under ``"reader/"`` (in
the file: ``"novelty/reader/0.weight"``, ...), and read back with the checks a model file's
own network gets (``check_header``, ``restore_model``): a forged or damaged reader is an
error naming the problem, never a network built from it."""

from __future__ import annotations

import numpy as np

from ...layers import Linear
from ..saving.architecture import layer_registry
from ..saving.header import HeaderError, check_header
from ..saving.model_files import FORMAT, FORMAT_VERSION, ModelFileError, model_header, restore_model

#: the reader's arrays, under the novelty check's "novelty/"
READER = "reader/"


def reader_entry(reader, card: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """(the reader's header entry, its arrays under ``READER``); ``card``: the model's, whose
    input shape the reader takes."""
    shape = card.get("input_shape")
    entry = model_header(
        reader, {"preset": "lenet", **({"input_shape": shape} if shape is not None else {})}
    )
    return entry, {READER + k: v for k, v in reader.state_dict().items()}


def read_reader(entry, arrays: dict[str, np.ndarray], path):
    """The reader network from its header entry and its arrays (``READER`` taken off),
    checked; a ValueError saying what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError(f"a version 3 check has no reader entry, got {entry!r:.80}")
    if not arrays:
        raise ValueError("its reader's arrays are missing")
    try:
        check_header(entry, layer_registry(), FORMAT, FORMAT_VERSION)
    except HeaderError as err:  # "is not ...", "has ...", "its header ..."
        raise ValueError(f"its reader {str(err).removeprefix('its ')}") from None
    try:
        reader = restore_model(entry, arrays, "its reader")
    except ModelFileError as err:  # "its reader: arrays do not match ..."
        raise ValueError(str(err)) from None
    if not reader.layers or not isinstance(reader.layers[-1], Linear):
        raise ValueError("its reader does not end in a Linear classifier")
    return reader
