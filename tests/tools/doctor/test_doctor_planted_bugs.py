"""Bugs students plant, one at a time: the doctor names the right cause first, and its
advice, followed, cures the setup.  (Found by planting them on MNIST and the lines:
benchmarks/doctor_bugs.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.doctor_setups import dead_relus, healthy, too_much_weight_decay

from cnn_numpy import SGD, Adam, CrossEntropyLoss, Dropout, Sigmoid, diagnose, lenet
from cnn_numpy.data import normalization_stats, normalize
from cnn_numpy.tools.doctor import Finding, thresholds
from cnn_numpy.tools.doctor.cures import cross_reference


def test_one_nan_image_is_found_even_when_the_sample_misses_it(monkeypatch):
    """The checks look at a sample of the images; input_scale used to count NaN only in that
    sample, so one NaN image of 3,000 MNIST images passed as "all 9 checks ok"."""
    monkeypatch.setattr(thresholds, "SAMPLES", 10)
    model, loss, (X, y), optimizer = healthy(0)
    X = X.copy()
    X[137, 0, 2, 3] = np.nan
    finding = diagnose(model, loss, (X, y), optimizer, checks=["input_scale"])["input_scale"]
    assert finding.status == "fail", finding.message
    assert finding.data["nonfinite_images"] == [137]
    assert "137" in finding.message
    keep = np.isfinite(X).reshape(len(X), -1).all(axis=1)  # the advice, followed
    cured = diagnose(model, loss, (X[keep], y[keep]), optimizer, checks=["input_scale"])
    assert cured.ok, str(cured)


#: a student's softmax at the end of the model (CrossEntropyLoss applies it again): the
#: layer the benchmark plants
Softmax = load_script("doctor_bugs").Softmax


def test_a_softmax_before_the_loss_is_named_first():
    """Probabilities given to CrossEntropyLoss: the loss at init looks normal (about ln C),
    so the doctor used to blame only the tiny-batch test, with generic advice."""
    model, loss, data, _ = healthy(0)
    model.layers.append(Softmax())
    found = diagnose(model, loss, data, Adam(model.parameters(), lr=3e-3))
    first = found.problems[0]
    assert first.check == "init_loss" and first.status == "fail", str(found)
    assert "softmax" in first.message and "model.layers.pop()" in first.message
    model.layers.pop()  # the advice, followed
    assert diagnose(model, loss, data, Adam(model.parameters(), lr=3e-3)).ok


def test_a_sigmoid_squashed_output_is_named():
    model, loss, data, _ = healthy(0)
    model.layers.append(Sigmoid())
    finding = diagnose(model, loss, data, Adam(model.parameters()), checks=["init_loss"])
    assert finding["init_loss"].status == "fail"
    assert "Sigmoid" in finding["init_loss"].message


@pytest.mark.parametrize("bug", ["shuffled", "misaligned"])
def test_labels_that_do_not_follow_the_images_are_named_first(bug):
    """Shuffled labels (or labels one place out of step with the images): every count is
    balanced, the model memorises 20 images, and the doctor used to say only that no
    learning rate helps."""
    model, loss, (X, y), optimizer = healthy(0)
    wrong = np.random.default_rng(5).permutation(y) if bug == "shuffled" else np.roll(y, 1)
    found = diagnose(model, loss, (X, wrong), optimizer)
    first = found.problems[0]
    assert first.check == "labels" and first.status == "fail", str(found)
    assert "do not follow the images" in first.message
    assert found["lr"].ok or "see labels" in found["lr"].message
    assert diagnose(model, loss, (X, y), optimizer).ok  # the right labels: all is well


def test_overfit_names_the_weight_decay_that_blocks_it_and_the_cure_works():
    model, loss, data, optimizer = too_much_weight_decay(0)
    overfit = diagnose(model, loss, data, optimizer, checks=["overfit"])["overfit"]
    assert overfit.status == "fail"
    assert overfit.data["cure"]["changed"].startswith("with weight decay 0")
    assert "Try: weight_decay=0" in overfit.message
    cured = Adam(model.parameters(), lr=3e-3, weight_decay=0.0)
    assert diagnose(model, loss, data, cured, checks=["overfit"]).ok


def test_sgd_without_momentum_at_adams_rate_is_named_and_the_suggested_rate_cures_it():
    """SGD at 3e-3 without momentum: the range test found the rate 'within range' while the
    tiny-batch test failed with advice to use 'the rate the lr finding suggests (now 0.003)'."""
    model, loss, data, _ = healthy(0)
    found = diagnose(model, loss, data, SGD(model.parameters(), lr=3e-4), checks=["overfit", "lr"])
    overfit, lr = found["overfit"], found["lr"]
    assert overfit.status == "fail" and overfit.data["cure"]["changed"].startswith("at lr")
    assert not lr.ok, str(found)
    suggested = lr.data["suggested"]
    assert f"lr={suggested:.2g}" in overfit.message and f"lr={suggested:.2g}" in lr.message
    cured = diagnose(model, loss, data, SGD(model.parameters(), lr=suggested), checks=["overfit"])
    assert cured.ok, str(cured)


def test_dead_relus_from_far_negative_biases_name_the_biases_and_the_cure_works():
    model, loss, data, optimizer = dead_relus(0)
    finding = diagnose(model, loss, data, optimizer, checks=["dead_relu"])["dead_relu"]
    assert finding.status == "fail" and "biases of 0: Conv2d" in finding.data["cause"]
    assert "model[0].bias.data[...] = 0" in finding.message
    model[0].bias.data[...] = 0  # the advice, followed
    assert diagnose(model, loss, data, optimizer, checks=["dead_relu"]).ok


def test_weights_all_zero_are_named_not_blamed_on_the_learning_rate():
    model, loss, data, optimizer = healthy(0)
    for p in model.parameters():
        p.data[...] = 0
    found = diagnose(model, loss, data, optimizer)
    first = found.problems[0]
    assert first.check == "dead_relu", str(found)
    assert "every weight of 0: Conv2d is 0" in first.message
    assert found["init_loss"].ok  # zero logits are not a squashed output
    # overfit fails too, and does not send the student after Dropout or the learning rate
    assert "cause is elsewhere" in found["overfit"].message
    assert "Dropout for this test" not in found["overfit"].message


@pytest.mark.parametrize("p", [0.9, 0.5])
def test_dropout_that_drops_most_of_a_layer_is_named(p):
    """The tiny-batch test runs in eval mode, so Dropout(0.9) (a test accuracy of 60% after
    one MNIST epoch against 87% without) used to pass every check on LeNet: now a rate above
    0.5 warns where the test passes, and is named as the cause where it fails."""
    model, loss, data, _ = healthy(0)
    model.layers.insert(-1, Dropout(p, rng=0))
    finding = diagnose(model, loss, data, Adam(model.parameters(), 3e-3), checks=["overfit"])
    overfit = finding["overfit"]
    if p == 0.5:
        assert overfit.ok, overfit.message
    else:
        assert not overfit.ok and "Dropout" in overfit.message and "0.9" in overfit.message


def test_a_dropout_that_the_tiny_batch_survives_still_warns(monkeypatch):
    monkeypatch.setattr(thresholds, "DROPOUT_WARN", 0.3)
    model, loss, data, _ = healthy(0)
    model.layers.insert(-1, Dropout(0.4, rng=0))
    finding = diagnose(model, loss, data, Adam(model.parameters(), 3e-3), checks=["overfit"])
    assert finding["overfit"].status == "warn" and "Dropout(p=0.3)" in finding["overfit"].message


def test_inputs_standardised_twice_are_not_called_raw_pixels():
    model, loss, (X, y), optimizer = healthy(0)
    twice = (X - 0.13) / 0.31  # standardised data, standardised again with MNIST's numbers
    finding = diagnose(model, loss, (twice, y), optimizer, checks=["input_scale"])["input_scale"]
    assert finding.status == "warn" and "X / 255" not in finding.message
    assert "normalization_stats(X)" in finding.message
    fixed = normalize(twice, **normalization_stats(twice))  # the advice, followed
    assert diagnose(model, loss, (fixed, y), optimizer, checks=["input_scale"]).ok


def test_findings_that_follow_from_a_huge_weight_decay_point_to_it():
    """Weight decay 10 on LeNet and MNIST made the update ratios huge and the range test flat;
    those findings advised a smaller learning rate, which cures nothing."""
    found = diagnose(*too_much_weight_decay(0), checks=["overfit"])
    overfit = found["overfit"]
    assert overfit.data["cure"]["changed"].startswith("with weight decay 0")
    findings = {
        "overfit": overfit,
        "update_ratio": Finding("update_ratio", "warn", "Steps are huge. Try: a smaller lr."),
        "lr": Finding("lr", "warn", "The loss never fell."),
    }
    cross_reference(findings, held_out=lambda: None)
    for name in ("update_ratio", "lr"):
        assert "see overfit (it learns with weight decay 0)" in findings[name].message


def test_advice_for_sgd_does_not_speak_of_adam():
    model, loss, data, _ = healthy(0)
    found = diagnose(model, loss, data, SGD(model.parameters(), lr=1.0), checks=["update_ratio"])
    assert found["update_ratio"].status == "fail" and "Adam" not in found["update_ratio"].message


def test_images_the_model_was_not_built_for_say_how_to_fix_it():
    model, loss, (X, y), optimizer = healthy(0)
    bigger = np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2)))  # 12x12 images for an 8x8 net
    with pytest.raises(ValueError, match=r"\(1, 12, 12\).*image_size and in_channels"):
        diagnose(model, loss, (bigger, y), optimizer)


def test_small_logits_that_happen_to_lie_in_0_1_are_not_called_probabilities():
    """LeNet on the raw lines gave logits all between 0 and 1 at initialisation, and the
    squashed-output rule failed a healthy setup; only rows summing to 1 (a softmax) or a
    Sigmoid at the end count."""
    model, loss, (X, y), optimizer = healthy(0)
    model[-1].weight.data *= 0.01
    model[-1].bias.data[...] = 0.5  # every logit in (0, 1), rows not summing to 1
    finding = diagnose(model, loss, (X, y), optimizer, checks=["init_loss"])["init_loss"]
    assert finding.ok, finding.message


class SquaredErrorOnOneHot:
    """A student's wrong loss for classes: the squared error between logits and one-hot."""

    def __call__(self, logits, targets):
        return self.forward(logits, targets)

    def forward(self, logits, targets):
        self.diff = logits - np.eye(logits.shape[1], dtype=logits.dtype)[targets]
        return float(np.mean(self.diff**2))

    def backward(self):
        return 2 * self.diff / self.diff.size


def test_a_loss_that_is_not_cross_entropy_is_named_not_called_trained():
    """A squared error on ten one-hot classes starts far below ln 10 on a fresh net; the
    doctor said "the model has learned something already (trained weights?)", all ok."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    model = lenet(rng=1)
    optimizer = Adam(model.parameters(), lr=3e-3)
    found = diagnose(model, SquaredErrorOnOneHot(), (X, y), optimizer, checks=["init_loss"])
    init = found["init_loss"]
    assert init.status == "warn", init.message
    assert "trained weights" not in init.message and "CrossEntropyLoss()" in init.message
    # the right loss on the same fresh net: as it should be at initialisation
    right = diagnose(model, CrossEntropyLoss(), (X, y), optimizer, checks=["init_loss"])
    assert right["init_loss"].ok, right["init_loss"].message
