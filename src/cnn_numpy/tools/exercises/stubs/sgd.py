"""Exercise 4: one step of SGD with momentum and weight decay, PyTorch's rule.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/06-optimizers.md
Check it: cnn-numpy exercises check . sgd      (a hint: cnn-numpy exercises hint . sgd)
"""

import numpy as np


def sgd_step(param, grad, velocity, lr, momentum=0.0, weight_decay=0.0):
    """One update of one parameter array, as torch.optim.SGD (dampening 0, no Nesterov):

        g = grad + weight_decay * param          (weight decay first, into the gradient)
        new_velocity = momentum * velocity + g
        new_param = param - lr * new_velocity

    The velocity starts at zeros, so the first step moves by lr * g.

    Args:
        param, grad, velocity: arrays of one shape.
        lr, momentum, weight_decay: floats.

    Returns:
        (new_param, new_velocity): new arrays of param's shape.
    """
    raise NotImplementedError
