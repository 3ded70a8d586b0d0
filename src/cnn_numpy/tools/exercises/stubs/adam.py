"""Exercise 8: one step of Adam, PyTorch's rule.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/06-optimizers.md
Check it: cnn-numpy exercises check . adam      (a hint: cnn-numpy exercises hint . adam)
"""

import numpy as np


def adam_step(param, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    """One update of one parameter array, as torch.optim.Adam (no weight decay):

        new_m = beta1 * m + (1 - beta1) * grad              (the mean of the gradients)
        new_v = beta2 * v + (1 - beta2) * grad**2           (the mean of their squares)
        m_hat = new_m / (1 - beta1**t)                      (bias correction: m and v start
        v_hat = new_v / (1 - beta2**t)                       at 0, which pulls them towards 0)
        new_param = param - lr * m_hat / (sqrt(v_hat) + eps)

    Args:
        param, grad, m, v: arrays of one shape (m and v start at zeros).
        t: the step number, counting from 1.
        lr: the learning rate; betas: (beta1, beta2); eps: a float.

    Returns:
        (new_param, new_m, new_v): new arrays of param's shape.
    """
    raise NotImplementedError
