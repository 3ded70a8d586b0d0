"""The sanity check of Adebayo et al. (2018): does the explanation depend on what the model
learned?  Re-initialise the weights layer by layer from the top (cascading) and compare each
saliency map with the trained model's by rank correlation.  A map that barely changes shows
the image's edges, not the model's reasons."""

from __future__ import annotations

import copy

import numpy as np

from ...layers.base import Parameter, as_rng, layers_of
from ..input_gradients.backprop import input_array
from .gradients import saliency


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two arrays' entries (ties broken by position)."""
    ranks = [np.argsort(np.argsort(v.ravel(), kind="stable")).astype(np.float64) for v in (a, b)]
    ra, rb = (r - r.mean() for r in ranks)
    return float((ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum()))


def reinitialise(layer, rng: np.random.Generator) -> None:
    """New weights for ``layer`` and every layer inside it (a Residual's convs, each with its
    own fan_in): U(±1/sqrt(fan_in)) for every parameter, fan_in from the weight (in·kh·kw for
    Conv2d, in for Linear), as PyTorch's default init of those two.  A BatchNorm's weight
    and bias (1-D, fan_in 1) are drawn from U(±1): randomised, not PyTorch's reset to 1 and
    0, which would leave nothing random in it; its running statistics are kept."""
    for sub in layers_of(layer):
        own = {name: v for name, v in vars(sub).items() if isinstance(v, Parameter)}
        weight = own.get("weight")
        fan_in = (
            int(np.prod(weight.shape[1:])) if weight is not None and weight.data.ndim > 1 else 1
        )
        bound = 1.0 / np.sqrt(fan_in)
        for p in own.values():
            p.data[...] = rng.uniform(-bound, bound, size=p.shape).astype(p.data.dtype)


def sanity_check(model, x, target=None, rng=None) -> list[tuple[str, float]]:
    """``[(layer, rank correlation), ...]``: the mean over samples of the rank correlation
    between |saliency| of ``model`` and of a copy whose layers from the top down to this one
    have new random weights.  ``target`` None: the trained model's predicted classes, kept
    for every copy.  ``model`` itself is not changed."""
    x = input_array(x, "sanity_check")
    rng = as_rng(rng)
    trained = np.abs(saliency(model, x, target))
    if target is None:
        model_copy = copy.deepcopy(model)
        model_copy.eval()
        target = model_copy.forward(x).argmax(axis=1)
    randomised = copy.deepcopy(model)
    rows = []
    for index in reversed(range(len(randomised.layers))):
        layer = randomised.layers[index]
        if not layer.parameters():
            continue
        reinitialise(layer, rng)
        maps = np.abs(saliency(randomised, x, target))
        correlation = np.mean([rank_correlation(a, b) for a, b in zip(trained, maps)])
        rows.append((f"{index}: {type(layer).__name__}", float(correlation)))
    return rows
