"""A learner's functions inside the library's layers and optimizers (``--layers-from``).

Only the exercises that pass the grader are used.  Each of the model's layers of a kind the
learner wrote gets the learner's forward and backward on that one layer object (its class,
parameters and saved files stay the library's); the optimizer gets the learner's step.  The
loss is returned: the learner's ``softmax_cross_entropy``, or the library's.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import MethodType

import numpy as np

from ...layers import BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU
from ...layers.base import Layer, layers_of
from ...losses import CrossEntropyLoss
from ...optim import SGD, Adam, Optimizer
from .catalog import EXERCISES
from .grader import TODO
from .source import load_source
from .workbook import check
from .worker import learner_line


def load_functions(path: Path, names) -> dict:
    """The learner's functions ``names`` from ``path``, each wrapped by ``guarded``.  While
    the file loads, its folder is on the import path, as in the grader's process: a helper
    module of the learner's beside it is found (sys.path is as it was afterwards)."""
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        module = load_source(path.resolve(), f"cnn_numpy_workbook_{path.stem}")
    finally:
        sys.path.remove(folder)
    return {name: guarded(getattr(module, name), name, str(path.resolve())) for name in names}


def guarded(fn, name: str, path: str):
    """``fn``, whose exceptions become a RuntimeError naming it and the learner's line (the
    command then prints one ``error:`` line, not a traceback)."""

    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            where = learner_line(traceback.walk_tb(err.__traceback__), path) or path
            raise RuntimeError(
                f"your {name} raised {type(err).__name__}: {err} (at {where}) during training; "
                "it passed the grader's small float64 cases, so look at what differs here: "
                "float32 arrays, larger shapes"
            ) from err

    return call


def relu(layer: ReLU, fns: dict) -> None:
    def forward(self, x):
        out, self.learner_cache = fns["relu_forward"](np.asarray(x))
        return np.asarray(out, dtype=np.asarray(x).dtype)

    def backward(self, grad_out):
        return np.asarray(fns["relu_backward"](np.asarray(grad_out), self.learner_cache))

    layer.forward, layer.backward = MethodType(forward, layer), MethodType(backward, layer)


def with_params(layer, fns: dict, name: str, extra) -> None:
    """Linear, Conv2d, BatchNorm2d: forward(x, weight, bias, **extra) and a backward whose
    parameter gradients are added into ``weight.grad`` and ``bias.grad``."""
    library_forward, library_backward = layer.forward, layer.backward

    def forward(self, x):
        if isinstance(self, BatchNorm2d) and not self.training:
            self.learner_cache = None
            return library_forward(x)  # the exercise is training mode: running statistics here
        self.out_shape = self.shape = self.output_shape(np.shape(x))  # the library's checks
        dtype = self.weight.data.dtype
        x = np.asarray(x, dtype=dtype)
        bias = self.bias.data if self.bias is not None else np.zeros(len(self.weight.data), dtype)
        out, self.learner_cache = fns[f"{name}_forward"](x, self.weight.data, bias, **extra(self))
        if isinstance(self, BatchNorm2d) and self.track_running_stats:
            m = x.size // x.shape[1]
            var = x.var(axis=(0, 2, 3))
            self._update_running(x.mean(axis=(0, 2, 3)), var * m / max(m - 1, 1))
        return np.asarray(out, dtype=dtype)

    def backward(self, grad_out):
        if self.learner_cache is None:
            return library_backward(grad_out)
        dtype = self.weight.data.dtype
        dx, dweight, dbias = fns[f"{name}_backward"](np.asarray(grad_out), self.learner_cache)
        self.weight.grad += np.asarray(dweight, dtype)
        if self.bias is not None:
            self.bias.grad += np.asarray(dbias, dtype)
        return np.asarray(dx, dtype) if self.needs_input_grad else None

    layer.forward, layer.backward = MethodType(forward, layer), MethodType(backward, layer)


def maxpool(layer: MaxPool2d, fns: dict) -> None:
    def forward(self, x):
        self.out_shape = self.output_shape(np.shape(x))
        k, s = self.kernel_size[0], self.stride[0]
        out, self.learner_cache = fns["maxpool2d_forward"](np.asarray(x), kernel_size=k, stride=s)
        return np.asarray(out, dtype=np.asarray(x).dtype)

    def backward(self, grad_out):
        return np.asarray(fns["maxpool2d_backward"](np.asarray(grad_out), self.learner_cache))

    layer.forward, layer.backward = MethodType(forward, layer), MethodType(backward, layer)


def square(pair) -> bool:
    return pair[0] == pair[1]


#: layer class -> the exercise whose functions replace its forward and backward
EXERCISE_OF = {
    ReLU: "relu",
    Linear: "linear",
    Conv2d: "conv2d",
    MaxPool2d: "maxpool2d",
    BatchNorm2d: "batchnorm2d",
}


def expressible(layer) -> bool:
    """Whether the exercise's signature can say what the layer does (one int for stride,
    padding and the pooling window; BatchNorm with gamma and beta)."""
    if isinstance(layer, Conv2d):
        return square(layer.stride) and square(layer.padding)
    if isinstance(layer, MaxPool2d):  # the exercise's pooling has no padding
        return square(layer.kernel_size) and square(layer.stride) and layer.padding == (0, 0)
    if isinstance(layer, BatchNorm2d):
        return layer.affine
    return True


def extra_arguments(layer) -> dict:
    """The keyword arguments of the layer's exercise forward besides (x, weight, bias)."""
    if isinstance(layer, Conv2d):
        return {"stride": layer.stride[0], "padding": layer.padding[0]}
    if isinstance(layer, BatchNorm2d):
        return {"eps": layer.eps}
    return {}


def wrap(layer, fns: dict) -> None:
    if isinstance(layer, ReLU):
        relu(layer, fns)
    elif isinstance(layer, MaxPool2d):
        maxpool(layer, fns)
    else:
        with_params(layer, fns, EXERCISE_OF[type(layer)], extra_arguments)


def all_layers(model) -> list:
    """The model's layers, those inside nested Sequentials and a Residual's branches too."""
    return list(layers_of(model))


def sgd(optimizer: SGD, fns: dict) -> None:
    def step(self):
        for k, p in enumerate(self.params):
            velocity = self.buffers[k] if self.buffers[k] is not None else np.zeros_like(p.data)
            new, velocity = fns["sgd_step"](
                p.data, p.grad, velocity, self.lr, self.momentum, self.weight_decay
            )
            p.data[...] = new
            if self.momentum:  # as the library's: a velocity only with momentum
                self.buffers[k] = np.asarray(velocity, dtype=p.data.dtype)

    optimizer.step = MethodType(step, optimizer)


def adam(optimizer: Adam, fns: dict) -> None:
    def step(self):
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            new, m[...], v[...] = fns["adam_step"](
                p.data, g, m, v, self.t, self.lr, self.betas, self.eps
            )
            p.data[...] = new

    optimizer.step = MethodType(step, optimizer)


class LearnerLoss(CrossEntropyLoss):
    """The learner's ``softmax_cross_entropy`` as a loss object for ``fit``."""

    def __init__(self, fn):
        self.fn, self.grad = fn, None

    def forward(self, logits, targets) -> float:
        loss, self.grad = self.fn(np.asarray(logits), np.asarray(targets))
        return float(loss)

    def backward(self) -> np.ndarray:
        return np.asarray(self.grad)


@dataclass
class Adoption:
    """What ``layers_from`` did: a line per exercise, and the loss to train with."""

    lines: list[str] = field(default_factory=list)
    loss: CrossEntropyLoss = field(default_factory=CrossEntropyLoss)


def layers_from(folder, model, optimizer=None, time_limit: float = 10.0) -> Adoption:
    """Grade the workbook in ``folder``, then give ``model`` (and ``optimizer``) the
    learner's functions wherever they pass; the rest stay the library's.  Each line of the
    result says which, and why."""
    if not isinstance(model, Layer):  # before the grading, which takes a while
        raise ValueError(
            f"layers_from: model must be a cnn_numpy model (a Layer, e.g. cnn.seed_net(2)), "
            f"got {type(model).__name__}"
        )
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"layers_from: optimizer must be a cnn_numpy optimizer (cnn.SGD, cnn.Adam ...) or "
            f"None, got {type(optimizer).__name__}"
        )
    report = check(folder, time_limit=time_limit)
    passed = set(report.exercises_passed())
    adoption = Adoption()
    fns = {
        e.name: load_functions(Path(folder) / e.file, e.functions)
        for e in EXERCISES
        if e.name in passed
    }
    layers = all_layers(model)
    for exercise in EXERCISES:
        name = exercise.name
        if name in passed:
            adoption.lines.append(f"{name}: {adopt(name, fns[name], layers, optimizer, adoption)}")
            continue
        failing = next(r for r in report.results if r.exercise == name and not r.passed)
        why = f"{failing.function} fails the grader ({failing.message.split(';')[0]})"
        adoption.lines.append(
            f"{name}: {'not done yet' if failing.status == TODO else why}, using the library's"
        )
    return adoption


def beyond_the_exercise(optimizer) -> str | None:
    """What the optimizer does that ``sgd_step``/``adam_step`` do not (PyTorch's plain SGD
    with dampening 0, and Adam with L2 weight decay), in words; None if nothing."""
    if optimizer.maximize:
        return "maximize"
    if isinstance(optimizer, SGD) and optimizer.nesterov:
        return "Nesterov momentum"
    if isinstance(optimizer, SGD) and optimizer.dampening:
        return "dampening"
    if isinstance(optimizer, Adam) and optimizer.amsgrad:
        return "AMSGrad"
    if isinstance(optimizer, Adam) and optimizer.decoupled and optimizer.weight_decay:
        return "decoupled weight decay (AdamW)"
    return None


def adopt(name: str, fns: dict, layers: list, optimizer, adoption: Adoption) -> str:
    if name == "softmax_cross_entropy":
        adoption.loss = LearnerLoss(fns["softmax_cross_entropy"])
        return "yours"
    if name in ("sgd", "adam"):
        kind, wrap_step = (SGD, sgd) if name == "sgd" else (Adam, adam)
        if optimizer is None:  # serve: the page runs forward passes only
            return "yours (not used: nothing is trained here, no optimizer)"
        if not isinstance(optimizer, kind):
            return "yours (not used: the optimizer is not " + kind.__name__ + ")"
        if beyond := beyond_the_exercise(optimizer):
            return f"yours, but {beyond} is not in the exercise: using the library's"
        wrap_step(optimizer, fns)
        return "yours"
    mine = [layer for layer in layers if EXERCISE_OF.get(type(layer)) == name]
    if not mine:
        kind = next(k.__name__ for k, exercise in EXERCISE_OF.items() if exercise == name)
        return f"yours (not used: the model has no {kind})"
    used = [layer for layer in mine if expressible(layer)]
    for layer in used:
        wrap(layer, fns)
    left = len(mine) - len(used)
    if left:
        return f"yours ({left} layer(s) that its signature cannot express use the library's)"
    return "yours"
