"""The doctor never touches your model: every check works on deep copies.

``working_copies`` copies the model, the optimizer and the loss *together*: ``deepcopy``
keeps one copy per object, so the optimizer's copy holds exactly the copied model's
Parameters (the optimizer rebuilt on the copy's parameters), with its state (momentum
buffers, Adam's moments and step count) and learning rate.  The model's weights, buffers,
gradients, training mode and random generators (Dropout's) are copied with it, so nothing the
checks do (train, draw masks, update BatchNorm statistics) reaches the originals.
"""

from __future__ import annotations

import copy

import numpy as np

from ...layers.base import Layer, Parameter


def unwrapped(model):
    """The model itself, or the one a ``DataParallel`` wraps (its workers are not copied)."""
    from ..speed.parallel import DataParallel

    return model.module if isinstance(model, DataParallel) else model


def working_copies(model, optimizer, loss):
    """Fresh deep copies ``(model, optimizer, loss)``; the optimizer's copy updates the model's.

    Raises ValueError if the optimizer updates none of the model's parameters (it was built
    for another model), since nothing the checks train would then change.
    """
    model = unwrapped(model)
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for p in optimizer.params):
        raise ValueError(
            "diagnose: the optimizer updates none of this model's parameters; "
            "build it with the model's: SGD(model.parameters(), lr=...)"
        )
    return copy.deepcopy((model, optimizer, loss))


def float64_copy(layer: Layer) -> Layer:
    """A deep copy of ``layer`` in float64: its Parameters, floating arrays (buffers such as
    BatchNorm's running statistics, constants of your own layers) and dtype attributes, so
    that central differences are accurate (see gradcheck.py)."""
    twin = copy.deepcopy(layer)
    to_float64(twin)
    return twin


def to_float64(layer: Layer) -> None:
    for name, value in vars(layer).items():
        if isinstance(value, Parameter) and np.issubdtype(value.data.dtype, np.floating):
            value.data = value.data.astype(np.float64)
            value.grad = np.zeros_like(value.data)
        elif isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            setattr(layer, name, value.astype(np.float64))
        elif isinstance(value, np.dtype) and np.issubdtype(value, np.floating):
            setattr(layer, name, np.dtype(np.float64))
        elif isinstance(value, Layer):
            to_float64(value)
        elif isinstance(value, list) and value and all(isinstance(v, Layer) for v in value):
            for sub in value:  # a container's layers (Sequential keeps a list)
                to_float64(sub)
