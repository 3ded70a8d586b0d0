"""The layer contract: ``Layer`` (forward, backward, parameters, train/eval, state) and
``Parameter`` (an array and its gradient), then the small helpers the layers' constructors
share.  The speed mechanisms (scratch memory, skipping dL/dx) are in ``layers/speed.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..checks import flag
from ..state import IncompatibleKeys, load_state


class Layer:
    """What every layer is (as ``torch.nn.Module``, by hand):

    - ``forward(x)`` computes the output and caches what ``backward`` needs;
    - ``backward(grad_out)`` takes dL/d(output), *adds* each parameter's gradient into
      ``param.grad`` and returns dL/dx;
    - ``parameters()`` are the trainable ``Parameter``s, ``zero_grad()`` clears their ``.grad``;
    - ``train()`` / ``eval()`` switch the mode (Dropout and BatchNorm behave differently);
    - state: parameters and the buffers named in ``buffer_names`` (BatchNorm's running mean).
    """

    training: bool = True
    #: names of non-trainable arrays that belong in ``state_dict()`` (e.g. BatchNorm's running mean)
    buffer_names: tuple[str, ...] = ()
    #: False while nobody needs dL/dx: ``backward`` may then return None (see layers/speed.py)
    needs_input_grad: bool = True
    #: True if forward in training mode normalises with statistics of the batch (BatchNorm):
    #: such a layer cannot train on a batch of one, so ``fit`` never makes one
    batch_statistics: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def check_grad(self, grad_out: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
        """``grad_out`` as an array, if it has the shape of the last forward's output
        (``shape``; None: there was no forward yet).  Never broadcast: a gradient of another
        shape is a mistake upstream, and broadcasting would hide it."""
        if shape is None:
            raise RuntimeError(
                f"{self!r}: backward() needs a forward() first (it uses what forward() kept)"
            )
        grad_out = np.asarray(grad_out)
        if grad_out.shape != tuple(shape):
            raise ValueError(
                f"{self!r}: backward() expects a gradient of the output's shape "
                f"{tuple(shape)}, got shape {grad_out.shape}"
            )
        return grad_out

    #: True when the output has the input's shape (ReLU, Dropout...): ``output_shape`` is free
    elementwise: bool = False

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``forward``'s result for an input of ``input_shape`` (ValueError if it
        does not fit).  Elementwise layers keep the shape; a layer of one's own that does
        not say is run once, in eval mode, on zeros of that shape (as a PyTorch user finds
        a shape), so ``fit`` and ``summary`` see what its forward really returns."""
        if self.elementwise:
            return tuple(input_shape)
        was_training = self.training
        try:
            return np.shape(self.eval().forward(np.zeros(input_shape, np.float32)))
        finally:
            self.train(was_training)

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        """(attribute, layer) of each layer this one holds (``self.conv = Conv2d(...)``): as
        torch's submodules, their parameters, buffers, state and mode are this layer's too."""
        return ((name, v) for name, v in vars(self).items() if isinstance(v, Layer))

    def children(self) -> Iterator[Layer]:
        """The layers this one holds, without their names (as torch's ``children()``)."""
        return (child for _, child in self.named_children())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value
        for name, child in self.named_children():
            yield from ((f"{name}.{key}", p) for key, p in child.named_parameters())

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for name in self.buffer_names:
            value = getattr(self, name, None)
            if value is not None:
                yield name, value
        for name, child in self.named_children():
            yield from ((f"{name}.{key}", b) for key, b in child.named_buffers())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Every gradient to 0 (``set_to_none``: taken for PyTorch code, as the optimizers')."""
        flag(set_to_none, "set_to_none", f"{type(self).__name__}.zero_grad")
        for p in self.parameters():
            p.grad[...] = 0

    def named_state(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) of each parameter and buffer, the arrays themselves, in PyTorch's
        ``state_dict`` order: its own parameters and buffers, then each layer it holds."""
        yield from ((n, v.data) for n, v in vars(self).items() if isinstance(v, Parameter))
        yield from ((n, b) for n in self.buffer_names if (b := getattr(self, n, None)) is not None)
        for name, child in self.named_children():
            yield from ((f"{name}.{key}", array) for key, array in child.named_state())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers by PyTorch's names, in PyTorch's order (copies)."""
        return {name: np.array(array, copy=True) for name, array in self.named_state()}

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays in (NumPy's, or a torch ``state_dict()``'s tensors); shapes must agree.
        Values are cast to each array's dtype (a float64 checkpoint loads into a float32
        model).  ``strict=True``: the keys must match exactly; ``strict=False``: the keys both
        have are loaded, the others left alone.  Returns the ``missing_keys`` (the model's,
        not in ``state``) and ``unexpected_keys`` (in ``state``, not the model's), as PyTorch
        does.  Everything is checked before anything is copied: a failed load leaves the
        model as it was."""
        return load_state(self, state, strict)

    def train(self, mode: bool = True) -> Layer:
        self.training = mode = training_mode(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def config(self) -> dict:
        """Constructor arguments that rebuild this layer (JSON-friendly; used by save/load)."""
        return {}

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Parameter:
    """A trainable array and the gradient accumulated for it (as ``torch.nn.Parameter``)."""

    def __init__(self, data: np.ndarray):
        if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
            raise ValueError(f"Parameter: data must be a float ndarray, got {data!r:.80}")
        self.data = data
        self.grad = np.zeros_like(data)

    @property
    def grad(self) -> np.ndarray:
        """dL/d(data), accumulated by ``backward``: always an array, which layers add into."""
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise ValueError(
                f"Parameter.grad must be a float ndarray, got {value!r:.80}: the layers add "
                "into it. To clear gradients (PyTorch's p.grad = None), call "
                "model.zero_grad() or optimizer.zero_grad()"
            )
        self._grad = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def layers_of(layer: Layer) -> Iterator[Layer]:
    """``layer`` and every layer inside it (a Sequential's, a Residual's branches), depth first."""
    yield layer
    for value in vars(layer).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, Layer):
                yield from layers_of(child)


def check_used_once(owner: str, *layers: Layer | None) -> None:
    """No layer object may appear twice among ``layers`` and the layers inside them.

    A layer keeps what its last forward saw (its input, a mask) for its backward, so a layer
    used at two places in one model would run backward for its second use twice, a wrong
    gradient for the first, with no error.  PyTorch records each use in its graph and
    allows it; here each place needs its own layer (share weights by copying them).
    """
    seen: dict[int, Layer] = {}
    for top in layers:
        for layer in layers_of(top) if top is not None else ():
            if id(layer) in seen:
                raise ValueError(
                    f"{owner}: the layer {layer!r:.80} is used twice in one model. A layer "
                    "keeps what its last forward saw for backward, so the gradient of its "
                    "first use would be wrong (PyTorch allows it, recording each use); make "
                    f"one layer for each place, e.g. {type(layer).__name__}(...) again"
                )
            seen[id(layer)] = layer


def has_batch_statistics(model: Layer) -> bool:
    """Whether any layer of ``model`` normalises with batch statistics in training mode."""
    return any(layer.batch_statistics for layer in layers_of(model))


@contextlib.contextmanager
def evaluating(model: Layer) -> Iterator[Layer]:
    """Within the block ``model`` is in eval mode; afterwards each layer inside it has the
    mode it had before, not the model's (a BatchNorm frozen in eval mode stays frozen)."""
    modes = [(layer, layer.training) for layer in layers_of(model)]
    model.eval()
    try:
        yield model
    finally:
        for layer, mode in modes:
            layer.training = mode


# Helpers the layers share: arguments, random init, input checks.


def training_mode(mode) -> bool:
    """``train(mode)``'s argument: True or False (PyTorch refuses anything else too)."""
    if not isinstance(mode, (bool, np.bool_)):
        raise ValueError(f"train(mode): mode must be True or False, got {mode!r}")
    return bool(mode)


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A seed, a Generator or None -> a Generator (never touches global state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    try:
        if isinstance(rng, bool):  # NumPy would take True as the seed 1
            raise TypeError
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise ValueError(
            f"rng must be a seed (a whole number >= 0, or a list of them), a "
            f"numpy Generator or None, got {rng!r}"
        ) from None


def pair(value: int | tuple[int, int], name: str, owner: str, low: int = 1) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5)`` stays; both whole numbers >= ``low``, else a ValueError."""

    def whole(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low

    if whole(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(whole, value)):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{owner}: {name} must be >= {low}: a whole number, or a pair (h, w) of them, got {value!r}"
    )


def kaiming_uniform(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator, dtype):
    """PyTorch's default init for Conv2d and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    (``kaiming_uniform_(a=sqrt(5))`` simplifies to exactly this bound.)
    """
    bound = 1.0 / np.sqrt(fan_in)
    try:
        return rng.uniform(-bound, bound, size=shape).astype(dtype)
    except MemoryError:
        gib = np.prod(shape, dtype=float) * 8 / 2**30
        raise MemoryError(
            f"weights of shape {shape} need {gib:,.1f} GiB while they are "
            "drawn; use fewer channels or features"
        ) from None


def real_input(x, owner: Layer) -> np.ndarray:
    """``x`` as an ndarray, refused (ValueError) unless it holds real numbers: casting
    complex numbers to float would silently drop their imaginary part."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{owner!r} expects real numbers, got an input of dtype {x.dtype}")
    return x


# The speed mechanisms' old address (they live in layers/speed.py): code that imports them from
# here keeps working.
from .speed import input_grad, reuse  # noqa: E402, F401
