"""Batch normalisation: per-channel statistics, as ``torch.nn.BatchNorm1d/2d``.

Every channel c is normalised with the mean and variance of *all* its values in the
batch: over (N, H, W) for images, over N for feature vectors.  (Normalising each
activation (c, h, w) on its own, a common mistake, is not BatchNorm2d.)

Both layers move the channel axis to the front and work on a (C, M) matrix, one row
per channel, M = N*H*W values in it (``channel_rows``).  Which order the M values of a row
come in does not matter to a per-channel mean, so they are taken in the order they lie in
memory: for a Conv2d output, stored as (C, H, W, N) (see ``conv.py``), the (C, M) matrix is
then a free view, not a copy, and the output is stored as the input was, so the next layer
(ReLU, the next Conv2d) also reads it without a copy.

When ``DataParallel`` splits a batch over processes, each process holds one slice of it; its
BatchNorm layers then share their per-channel numbers through ``sync`` (set by DataParallel,
tools/speed/sync.py) and normalise with the whole batch's statistics, as one process would
(``whole_batch``), as PyTorch's ``SyncBatchNorm`` does.
"""

from __future__ import annotations

import numpy as np

from ..checks import cpu_device, flag, float_dtype, real, torch_defaults, whole
from .base import Layer, Parameter, real_input


def channel_rows(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """x as a (C, M) matrix, one row per channel (axis 1), and the axis order used.

    Trick (memory order): the other axes follow the channel in the order of their strides,
    largest first, so the reshape is a free view whenever x's memory is channel-first in any
    order (a Conv2d's (C, H, W, N) output), instead of a copy into (C, N, H, W) order.
    ``rows.reshape(moved shape).transpose(np.argsort(order))`` turns a result back.
    """
    rest = sorted((a for a in range(x.ndim) if a != 1), key=lambda a: -abs(x.strides[a]))
    order = (1, *rest)
    return x.transpose(order).reshape(x.shape[1], -1), order


def whole_batch(sync, M: int, mean: np.ndarray, var: np.ndarray):
    """The count, per-channel mean and biased variance of a whole batch split into slices,
    from this slice's and the others' (``sync`` gathers every slice's (3, C) numbers, in slice
    order, as a (slices, 3, C) array: the same array in every process).

    The batch's values spread around its mean by each slice's own spread (its variance) plus
    that slice's offset from the batch's mean:
        mean = sum_s M_s mean_s / M,   var = sum_s M_s (var_s + (mean_s - mean)**2) / M
    """
    parts = sync(np.stack([np.full(mean.shape, M), mean, var]).astype(np.float64))
    counts, means, variances = parts[:, 0], parts[:, 1], parts[:, 2]  # each (slices, C)
    total = counts.sum(axis=0)
    whole_mean = (counts * means).sum(axis=0) / total
    whole_var = (counts * (variances + (means - whole_mean) ** 2)).sum(axis=0) / total
    return int(total[0]), whole_mean.astype(mean.dtype), whole_var.astype(var.dtype)


def unrows(rows: np.ndarray, shape: tuple[int, ...], order: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``channel_rows``: (C, M) rows back to an array of ``shape``, a view."""
    moved_shape = tuple(shape[a] for a in order)
    return rows.reshape(moved_shape).transpose(np.argsort(order))


class _BatchNorm(Layer):
    """Shared by BatchNorm1d and BatchNorm2d; they differ only in the input ranks they accept.

    Train mode:  y = weight * (x - mean_B) / sqrt(var_B + eps) + bias, with the batch's
    mean and *biased* variance, and the running statistics updated as
        running = (1 - momentum) * running + momentum * batch_stat
    with the *unbiased* batch variance (M / (M - 1) * var_B) for ``running_var``.
    ``momentum=None`` gives the cumulative average (factor 1 / num_batches_tracked).
    Eval mode:   the same formula with ``running_mean`` and ``running_var``.
    With ``track_running_stats=False`` there are no running statistics and both modes
    use the batch's.
    """

    ranks: tuple[int, ...] = ()
    shape_doc = ""
    buffer_names = ("running_mean", "running_var", "num_batches_tracked")
    batch_statistics = True  # fit never hands it a batch of one (see Layer)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=np.float32,
        *,
        device=None,
        bias: bool = True,
    ):
        name = type(self).__name__
        cpu_device(device, name)
        torch_defaults(name, bias=bias)  # PyTorch 2.13's: False keeps the weight, drops the bias
        self.num_features = whole(num_features, "num_features", name, low=1)
        self.eps = real(eps, "eps", name, low=0, low_open=True)
        self.momentum = (
            None if momentum is None else real(momentum, "momentum (or None)", name, low=0, high=1)
        )
        self.affine = flag(affine, "affine", name)
        self.track_running_stats = flag(track_running_stats, "track_running_stats", name)
        dtype, C = float_dtype(dtype, name), self.num_features
        self.weight = Parameter(np.ones(C, dtype=dtype)) if affine else None  # gamma
        self.bias = Parameter(np.zeros(C, dtype=dtype)) if affine else None  # beta
        if track_running_stats:
            self.running_mean = np.zeros(C, dtype=dtype)
            self.running_var = np.ones(C, dtype=dtype)
            self.num_batches_tracked = np.zeros((), dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.dtype = dtype
        self.x_hat = self.shape = None  # what the last forward keeps for backward
        self.sync = None  # DataParallel's, while it runs this layer on one slice of a batch

    def config(self) -> dict:
        return dict(
            num_features=self.num_features,
            eps=self.eps,
            momentum=self.momentum,
            affine=self.affine,
            track_running_stats=self.track_running_stats,
            dtype=str(self.dtype),
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) not in self.ranks or input_shape[1] != self.num_features:
            raise ValueError(
                f"{self!r} expects input of shape {self.shape_doc} with C = "
                f"{self.num_features}, got shape {input_shape}"
            )
        return input_shape

    def _use_batch_stats(self) -> bool:
        return self.training or not self.track_running_stats

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = self.output_shape(np.shape(x))
        x = real_input(x, self).astype(self.dtype, copy=False)
        xc, self.order = channel_rows(x)  # (C, M), one row per channel, see channel_rows
        M = xc.shape[1]
        self.used_batch_stats = self._use_batch_stats()  # backward differentiates what this did
        if self.used_batch_stats:
            if self.sync is None:
                self._check_count(M, x.shape)
            mean = xc.mean(axis=1)
            centered = xc - mean[:, None]
            var = np.einsum("cm,cm->c", centered, centered) / M  # biased, for normalising
            if self.sync is not None:  # one slice of the batch here: the whole batch's stats
                M, whole_mean, var = whole_batch(self.sync, M, mean, var)
                self.M = M  # the batch's count, for backward
                centered -= (whole_mean - mean)[:, None]  # centred on the batch's mean
                mean = whole_mean
                self._check_count(M, (M // int(np.prod(x.shape[2:])), *x.shape[1:]))
            if self.training and self.track_running_stats:
                self._update_running(mean, var * (M / (M - 1)))  # unbiased, as PyTorch
        else:
            mean, var = self.running_mean, self.running_var
            centered = xc - mean[:, None]
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(self.dtype)  # (C,)
        centered *= self.inv_std[:, None]  # in place: centered is ours
        self.x_hat = centered  # (C, M)
        if self.affine:
            out = self.x_hat * self.weight.data[:, None]
            out += self.bias.data[:, None]
        else:
            out = self.x_hat.copy()  # the caller may change it; x_hat must stay
        return unrows(out, x.shape, self.order)  # stored as x was, a view

    def _check_count(self, M: int, shape: tuple[int, ...]) -> None:
        if M < 2 and self.training:
            instead = (
                "eval() uses the running statistics instead"
                if self.track_running_stats
                else "with track_running_stats=False eval() uses the batch's too"
            )
            raise ValueError(
                f"{self!r}: batch statistics need more than one value per "
                f"channel, got input shape {shape} (a batch of {shape[0]}); in "
                f"training mode it needs batches of 2 or more ({instead})"
            )

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        m = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * unbiased_var

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, self.shape).astype(self.dtype, copy=False)
        # (C, M) in the forward's order, so it lines up with x_hat (free if stored alike)
        g = grad_out.transpose(self.order).reshape(self.num_features, -1)
        g_sum = g.sum(axis=1)  # (C,)
        gx_sum = np.einsum("cm,cm->c", g, self.x_hat)  # sum of g * x_hat per channel, no copy
        if self.affine:
            self.weight.grad += gx_sum
            self.bias.grad += g_sum
        # dL/dx_hat = weight * g: the weight is folded into the per-channel factor below
        scale = self.inv_std * (self.weight.data if self.affine else 1)  # (C,)
        if self.used_batch_stats:  # as in forward, whatever the mode is now
            # x_hat depends on x also through the batch mean and variance:
            # dx = weight * inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), per channel
            M = g.shape[1]
            if self.sync is not None:  # one slice of the batch: the whole batch's sums
                M = self.M
                g_sum, gx_sum = self.sync(np.stack([g_sum, gx_sum]).astype(np.float64)).sum(0)
            dx = g - (g_sum / M).astype(g.dtype)[:, None]
            dx -= self.x_hat * (gx_sum / M).astype(g.dtype)[:, None]
            dx *= scale[:, None]
        else:
            dx = g * scale[:, None]  # running stats are constants
        return unrows(dx, self.shape, self.order)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images, one mean/variance per channel over (N, H, W).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance before the square root.
        momentum: weight of the new batch in the running statistics (None: cumulative average).
        affine: learn a per-channel scale ``weight`` (gamma) and shift ``bias`` (beta).
        track_running_stats: keep ``running_mean``/``running_var`` for eval mode.
        dtype: dtype of parameters and buffers; inputs are cast to it (float32 by default).
        device, bias: PyTorch's, at their defaults only (None or 'cpu'; True).

    Shape: (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> bn = BatchNorm2d(8)
        >>> y = bn(np.random.default_rng(0).normal(3, 2, (4, 8, 5, 5)))
        >>> bool(abs(y.mean()) < 1e-5), bn.running_mean.shape
        (True, (8,))
    """

    ranks = (4,)
    shape_doc = "(N, C, H, W)"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of feature vectors (after a Linear), one mean/variance per feature.

    Arguments as ``BatchNorm2d``.

    Shape: (N, C) -> (N, C), or (N, C, L) -> (N, C, L) with statistics over (N, L).
    """

    ranks = (2, 3)
    shape_doc = "(N, C) or (N, C, L)"
