"""Exercise 3: softmax cross-entropy, the loss and its gradient in one function.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/05-softmax-cross-entropy.md
Check it: cnn-numpy exercises check . softmax_cross_entropy
"""

import numpy as np


def softmax_cross_entropy(logits, labels):
    """The mean over the batch of -log softmax(logits)[label], as torch.nn.CrossEntropyLoss.

        p = softmax(logits) row by row:  p[n, k] = exp(logits[n, k]) / sum_j exp(logits[n, j])
        loss = -(1/N) * sum_n log p[n, labels[n]]
        dlogits = (p - onehot(labels)) / N

    It must stay finite for large logits (e.g. 1000): exp(1000) overflows, so subtract each
    row's maximum from the row first (softmax does not change when a row is shifted).  Then
    take log p as the shifted row minus the log of its sum of exps: a p far below the row's
    maximum underflows to 0, and np.log(0) is -inf.

    Args:
        logits: (N, C) scores, one row per example.
        labels: (N,) integer classes in [0, C).

    Returns:
        (loss, dlogits): loss is a float, dlogits is (N, C).
    """
    raise NotImplementedError
