"""One more backward pass, to the input: the gradient of a logit with respect to the image.

    backprop.py      gradient_to_input(): forward, then the layers' own backward to the
                     images; explaining(): eval mode, parameters' grads left alone
    saliency.py      saliency: ∂ logit[target] / ∂ x

Below both tools that use it: ``explain`` (every method there starts here) and
``visualize`` (the report's saliency of its mistakes).  Importable as
``cnn_numpy.explain.saliency`` too.
"""

from .saliency import saliency

__all__ = ["saliency"]
