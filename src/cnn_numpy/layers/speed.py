"""The speed mechanisms a layer may use, apart from the maths it teaches.

1. ``reuse``: scratch memory kept from step to step.  A large array allocated afresh every
   step gets new memory pages from the operating system, and the first touch of each page
   is a page fault (about 10% of a LeNet step, docs/performance.md).
2. ``skip_input_grad`` / ``input_grad``: no dL/dx where nobody needs it.  The images a model
   trains on need no gradient, so ``fit`` says so with ``with input_grad(model, False):``;
   the model passes that on to its first layer, whose ``backward`` then returns None instead
   of computing dL/dx (a matrix product and a col2im in ``Conv2d``), as PyTorch skips
   inputs that do not require grad.  A plain ``model.backward(g)`` still returns dL/dx.

3. ``rows_in_place``: a ``+=`` into a strided view, row by row.  NumPy adds into a view
   whose rows are not next to each other in memory (a kernel tap's slice of the padded
   image, in col2im) by copying stretches of rows into buffers of 8,192 numbers, adding
   there and copying back: three passes instead of one.  With buffers no longer than a
   row it adds each row where it lies instead, twice as fast when the rows are long
   (col2im of LeNet's second conv: 0.63 -> 0.30 ms; docs/performance.md).

Each layer uses them in one visible line, e.g. in ``Conv2d.backward``:
``if skip_input_grad(self): return None``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np


def reuse(array: np.ndarray | None, shape: tuple[int, ...], dtype) -> np.ndarray:
    """``array`` if it has this shape and dtype, else a new uninitialised array: a layer's
    scratch memory, kept as an attribute and reused step after step
    (``self.cols = im2col(..., out=reuse(self.cols, shape, dtype))``).

    Only for arrays the layer keeps to itself: whatever it returns must be new, since the
    caller may keep it.
    """
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        return np.empty(shape, dtype)
    return array


#: a row this long (numbers) or longer is added in place (``rows_in_place``); shorter
#: rows, e.g. the N numbers of a stride-2 tap, add faster through NumPy's buffers
LONG_ROW = 256
#: NumPy's smallest buffer (it must be a multiple of 16): no row is shorter than it here
ROW_BUFFER = 16


@contextlib.contextmanager
def rows_in_place(row: int) -> Iterator:
    """Within the block, NumPy's ufuncs work row by row in place (``np.setbufsize(16)``)
    when ``row``, the length of the rows the block adds into, is ``LONG_ROW`` or more;
    otherwise nothing changes.  The setting is NumPy's per thread (and per context), and
    what it was comes back at the end of the block.
    """
    if row < LONG_ROW:
        yield
        return
    saved = np.setbufsize(ROW_BUFFER)
    try:
        yield
    finally:
        np.setbufsize(saved)


def skip_input_grad(layer) -> bool:
    """True when the model said nobody needs this layer's dL/dx (``layer.needs_input_grad``
    is False): its ``backward`` then returns None after the parameter gradients."""
    return not getattr(layer, "needs_input_grad", True)


@contextlib.contextmanager
def input_grad(layer, needed: bool) -> Iterator:
    """Within the block, ``layer.needs_input_grad`` is ``needed``; afterwards what it was.

    ``with input_grad(model, False): model.backward(g)`` is how ``fit`` says that nobody
    needs dL/d(images), so the first layer can skip computing it.
    """
    saved = getattr(layer, "needs_input_grad", True)
    layer.needs_input_grad = needed
    try:
        yield layer
    finally:
        layer.needs_input_grad = saved
