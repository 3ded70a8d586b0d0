"""Optimizers that follow ``torch.optim``'s update rules exactly.

They never own the model: they hold the list of Parameters and read ``p.grad``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .checks import flag, real, real_array, state_mapping, whole
from .layers.base import Layer, Parameter


class Optimizer:
    def __init__(self, params: Iterable[Parameter], lr: float):
        name = type(self).__name__
        if isinstance(params, Layer):  # not iterable (a Linear), or iterable over its layers
            raise ValueError(
                f"{name}: params is the model {type(params).__name__}(...) itself; pass "
                "model.parameters()"
            )
        self.params = [named_or_plain(p, name) for p in params]
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(
                f"{name}: a Parameter appears more than once in params, so step() would "
                "update it twice (PyTorch warns that this will become an error); pass "
                "model.parameters(), which lists each once"
            )
        self.lr = real(lr, "learning rate lr", name, low=0)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Every gradient to 0.  (``set_to_none`` is taken for PyTorch code: a gradient here is
        always an array, which the layers add into, so it is zeroed either way.)"""
        flag(set_to_none, "set_to_none", type(self).__name__)
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray | float | int]:
        """Everything ``step()`` depends on besides the parameters (for exact resume)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule and arguments (``maximize``: ascend):

    g = grad + weight_decay * p          (-grad with maximize)
    buf = momentum * buf + (1 - dampening) * g        (buf = g at the first step)
    g = g + momentum * buf if nesterov else buf
    p = p - lr * g
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr)
        # momentum 1 or more never forgets a gradient: the steps grow without bound
        self.momentum = real(momentum, "momentum", "SGD", low=0, high=1, high_open=True)
        self.dampening = real(dampening, "dampening", "SGD", low=0, high=1)
        self.weight_decay = real(weight_decay, "weight_decay", "SGD", low=0)
        self.nesterov = flag(nesterov, "nesterov", "SGD")
        self.maximize = flag(maximize, "maximize", "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening 0")
        self.buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for k, p in enumerate(self.params):
            g = -p.grad if self.maximize else p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.buffers[k]
                if buf is None:
                    buf = self.buffers[k] = g.copy()
                else:
                    buf *= self.momentum
                    buf += g if not self.dampening else (1 - self.dampening) * g  # 0 by default
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g

    def state_dict(self) -> dict:
        state = {"lr": self.lr}
        for k, buf in enumerate(self.buffers):
            if buf is not None:
                state[f"momentum_buffer.{k}"] = buf.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved; everything is checked before anything changes."""
        state = state_mapping(state, "SGD")
        keys = [f"momentum_buffer.{k}" for k in range(len(self.params))] if self.momentum else []
        refuse_foreign_keys(state, {"lr", *keys}, self)
        lr = real(state.get("lr"), "lr", "SGD state", low=0)
        buffers = [
            None
            if f"momentum_buffer.{k}" not in state
            else state_array(state, f"momentum_buffer.{k}", p)
            for k, p in enumerate(self.params)
        ]
        self.lr, self.buffers = lr, buffers


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's rule and arguments (``maximize``: ascend):

    g = grad + weight_decay * p          (-grad with maximize; no L2 term if decoupled)
    p = p - lr * weight_decay * p        (only with decoupled_weight_decay: AdamW)
    m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g**2
    v_hat = max(v_hat, v) with amsgrad, else v
    p = p - lr / (1 - b1**t) * m / (sqrt(v_hat) / sqrt(1 - b2**t) + eps)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(params, lr)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(
            real(b, f"betas[{k}]", name, low=0, high=1, high_open=True) for k, b in enumerate(betas)
        )
        self.eps = real(eps, "eps", name, low=0, low_open=True)
        self.weight_decay = real(weight_decay, "weight_decay", name, low=0)
        self.amsgrad = flag(amsgrad, "amsgrad", name)
        self.maximize = flag(maximize, "maximize", name)
        self.decoupled = flag(decoupled_weight_decay, "decoupled_weight_decay", name)
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.v_max = [np.zeros_like(p.data) for p in self.params] if amsgrad else None

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        bias1, bias2 = 1 - b1**self.t, 1 - b2**self.t
        for k, (p, m, v) in enumerate(zip(self.params, self.m, self.v)):
            g = -p.grad if self.maximize else p.grad
            if self.weight_decay and self.decoupled:  # AdamW: shrink p itself
                p.data *= 1 - self.lr * self.weight_decay
            elif self.weight_decay:  # L2: the decay joins the gradient
                g = g + self.weight_decay * p.data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            if self.amsgrad:  # the largest v so far
                v = np.maximum(self.v_max[k], v, out=self.v_max[k])
            denom = np.sqrt(v) / math.sqrt(bias2) + self.eps  # Python floats keep float32
            p.data -= (self.lr / bias1) * m / denom

    def state_dict(self) -> dict:
        state = {"lr": self.lr, "t": self.t}
        for k, (m, v) in enumerate(zip(self.m, self.v)):
            state[f"exp_avg.{k}"], state[f"exp_avg_sq.{k}"] = m.copy(), v.copy()
            if self.amsgrad:
                state[f"max_exp_avg_sq.{k}"] = self.v_max[k].copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved; everything is checked before anything changes."""
        state = state_mapping(state, type(self).__name__)
        names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if self.amsgrad else [])
        arrays = [f"{name}.{k}" for name in names for k in range(len(self.params))]
        refuse_foreign_keys(state, {"lr", "t", *arrays}, self)
        lr = real(state.get("lr"), "lr", "Adam state", low=0)
        t = whole(state.get("t"), "t", "Adam state")
        m = [state_array(state, f"exp_avg.{k}", p) for k, p in enumerate(self.params)]
        v = [state_array(state, f"exp_avg_sq.{k}", p) for k, p in enumerate(self.params)]
        v_max = (
            [state_array(state, f"max_exp_avg_sq.{k}", p) for k, p in enumerate(self.params)]
            if self.amsgrad
            else None
        )
        self.lr, self.t, self.m, self.v, self.v_max = lr, t, m, v, v_max


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``:
    ``Adam(..., decoupled_weight_decay=True)`` with PyTorch's default weight_decay=0.01."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
            decoupled_weight_decay=True,
        )  # fmt: skip


def named_or_plain(item, owner: str) -> Parameter:
    """One entry of ``params``: a Parameter, or a ``(name, Parameter)`` pair of
    ``model.named_parameters()``, which PyTorch 2.x optimizers take as well."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        item = item[1]
    if isinstance(item, Parameter):
        return item
    groups = " (parameter groups, dicts, are not implemented: one optimizer per group)"
    raise ValueError(
        f"{owner}: params must be Parameters (pass model.parameters()), got "
        f"{type(item).__name__}" + (groups if isinstance(item, dict) else "")
    )


def refuse_foreign_keys(state: dict, known: set[str], optimizer: Optimizer) -> None:
    """ValueError if ``state`` has keys that ``optimizer.state_dict()`` never writes: a state
    saved by another optimizer, with other options or for more parameters would otherwise
    load in part, the rest dropped without a word."""
    foreign = [key for key in state if key not in known]
    if foreign:
        name = type(optimizer).__name__
        raise ValueError(
            f"{name}: load_state_dict got keys it never saves: {foreign[:4]}"
            + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
            + f". Was it saved by another optimizer, with other options (momentum, amsgrad), "
            f"or for another model? This {name} holds {len(optimizer.params)} parameters; "
            "build it as the saved one was, for the same model.parameters()"
        )


def state_array(state: dict, key: str, param: Parameter) -> np.ndarray:
    """``state[key]`` as a finite array of ``param``'s shape and dtype, or a ValueError."""
    if key not in state:
        raise ValueError(f"optimizer state: {key!r} is missing")
    array = real_array(state[key], key, "optimizer state")
    if array.shape != param.data.shape:
        raise ValueError(
            f"optimizer state: {key!r} has shape {array.shape}, the parameter {param.data.shape}"
        )
    return array.astype(param.data.dtype)
