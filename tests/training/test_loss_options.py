"""CrossEntropyLoss's PyTorch options (weight, ignore_index, reduction, label_smoothing): the
loss and its gradient equal torch's in float64, pass a gradient check, and bad values are
refused with a message."""

import numpy as np
import pytest
from helpers import assert_close

from cnn_numpy import CrossEntropyLoss
from cnn_numpy.gradcheck import check_loss_gradients

OPTIONS = [
    {},
    {"reduction": "sum"},
    {"label_smoothing": 0.1},
    {"weight": [1.0, 2.0, 0.5, 0.0]},
    {"ignore_index": 2},
    {"ignore_index": -1},
    {"weight": [0.3, 2.0, 1.0, 4.0], "label_smoothing": 0.2, "ignore_index": 1},
    {"weight": [0.3, 2.0, 1.0, 4.0], "label_smoothing": 0.3, "reduction": "sum"},
]


def batch(ignore_index=None, seed=0):
    rng = np.random.default_rng(seed)
    logits, targets = rng.standard_normal((6, 4)) * 3, np.array([0, 1, 2, 3, 1, 2])
    if ignore_index is not None:
        targets[[1, 4]] = ignore_index
    return logits, targets


def same_as_torch(options: dict, logits: np.ndarray, targets: np.ndarray) -> None:
    """Our loss and dL/dlogits against torch.nn.CrossEntropyLoss with the same options, and
    against central differences."""
    torch = pytest.importorskip("torch")
    loss = CrossEntropyLoss(**options)
    value, grad = loss(logits, targets), loss.backward()
    theirs = (
        {**options, "weight": torch.tensor(options["weight"], dtype=torch.float64)}
        if "weight" in options
        else options
    )
    logits_t = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss(**theirs)(logits_t, torch.as_tensor(targets))
    ref.backward()
    assert_close(value, ref, f"loss {options}")
    assert_close(grad, logits_t.grad, f"gradient {options}")
    assert check_loss_gradients(loss, logits, targets) < 1e-7


@pytest.mark.parametrize("options", OPTIONS)
def test_loss_and_gradient_match_torch(options):
    logits, targets = batch(options.get("ignore_index"))
    same_as_torch(options, logits, targets)


def test_float32_logits_keep_float32():
    logits, targets = batch()
    loss = CrossEntropyLoss(weight=[1, 2, 3, 4], label_smoothing=0.1)
    loss(logits.astype(np.float32), targets)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize(
    "build, call, message",
    [
        (lambda: CrossEntropyLoss(reduction="none"), None, "'none', a loss per sample"),
        (lambda: CrossEntropyLoss(reduction="avg"), None, "reduction must be 'mean' or 'sum'"),
        (lambda: CrossEntropyLoss(label_smoothing=1.0), None, "label_smoothing must be"),
        (lambda: CrossEntropyLoss(weight=[1, -1]), None, "weight must be a 1-D array"),
        (lambda: CrossEntropyLoss(weight=[[1, 1]]), None, "weight must be a 1-D array"),
        (lambda: CrossEntropyLoss(weight=[0, 0]), None, "not all 0"),
        (lambda: CrossEntropyLoss(ignore_index=1.5), None, "ignore_index must be a whole"),
        (lambda: CrossEntropyLoss(weight=[1, 2, 3]), batch(), "weight has 3 entries"),
        (lambda: CrossEntropyLoss(ignore_index=7), (batch()[0], np.full(6, 7)), "every target"),
        (lambda: CrossEntropyLoss(), (batch()[0], np.full(6, 4)), r"in \[0, 4\)"),
        (lambda: CrossEntropyLoss(), (batch()[0], batch()[1] * 0.5), "or class probabilities"),
        (lambda: CrossEntropyLoss(), (batch()[0], np.full((6, 4), np.nan)), "NaN"),
        (lambda: CrossEntropyLoss(), (batch()[0], np.ones((6, 3))), r"or \(6, 4\) float"),
    ],
)
def test_bad_options_are_refused(build, call, message):
    with pytest.raises(ValueError, match=message):
        loss = build()
        loss(*call)


def test_all_ignored_with_sum_is_zero_as_torch():
    logits, _ = batch()
    loss = CrossEntropyLoss(ignore_index=3, reduction="sum")
    assert loss(logits, np.full(6, 3)) == 0.0
    assert not loss.backward().any()


@pytest.mark.parametrize("options", [o for o in OPTIONS if "ignore_index" not in o])
def test_class_probabilities_as_targets_match_torch(options):
    logits, _ = batch()
    q = np.random.default_rng(1).dirichlet(np.ones(4), size=6)  # soft labels, rows sum to 1
    same_as_torch(options, logits, q)
