"""diagnose: every check catches its own broken setup, a healthy setup is clean, across
seeds; the model and optimizer are bit for bit unchanged afterwards; bad input is an error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.doctor_setups import (
    dead_relus,
    healthy,
    imbalanced,
    lr_too_high,
    lr_too_low,
    missing_classes,
    one_class,
    overconfident,
    raw_pixels,
    saturated_sigmoids,
    tiny_data,
    too_much_weight_decay,
    wrong_backward,
)

from cnn_numpy import (
    SGD,
    Adam,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Diagnosis,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
    diagnose,
)
from cnn_numpy.tools.doctor import CHECKS, thresholds
from cnn_numpy.tools.doctor.data_checks import check_labels
from cnn_numpy.tools.doctor.forward_checks import check_dead_relu
from cnn_numpy.tools.doctor.gradients import CheckedLayer, SampledParameter, check_gradients

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_healthy_setup_is_clean(seed):
    model, loss, data, optimizer = healthy(seed)
    found = diagnose(model, loss, data, optimizer, rng=seed)
    assert [f.check for f in found] == list(CHECKS)
    assert found.ok and found.problems == [], str(found)


#: (setup, check, status): each broken setup and the finding that must catch it
BROKEN = [
    (wrong_backward, "gradients", "fail"),
    (overconfident, "init_loss", "fail"),
    (dead_relus, "dead_relu", "fail"),
    (raw_pixels, "input_scale", "fail"),
    (saturated_sigmoids, "saturation", "fail"),
    (too_much_weight_decay, "overfit", "fail"),
    (lr_too_high, "lr", "fail"),
    (lr_too_high, "update_ratio", "fail"),
    (lr_too_low, "lr", "fail"),
    (lr_too_low, "update_ratio", "fail"),
    (lr_too_low, "overfit", "fail"),
    (one_class, "labels", "fail"),
    (missing_classes, "labels", "warn"),
    (imbalanced, "labels", "warn"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "setup, check, status", BROKEN, ids=[f"{s.__name__}-{c}" for s, c, _ in BROKEN]
)
def test_each_check_catches_its_broken_setup(setup, check, status, seed):
    model, loss, data, optimizer = setup(seed)
    found = diagnose(model, loss, data, optimizer, rng=seed)
    assert found[check].status == status, str(found)
    assert found[check] in found.problems and not found.ok


def test_the_gradient_check_names_the_first_failing_layer():
    found = diagnose(*wrong_backward(0), checks=["gradients"])
    finding = found["gradients"]
    assert "First failing layer: 1: ForgetfulReLU" in finding.message
    failing = [r for r in finding.data["rows"] if r["error"] >= thresholds.GRAD_FAIL]
    assert {r["layer"] for r in failing} == {"1: ForgetfulReLU"}


def test_messages_say_what_was_measured_what_it_means_what_to_try():
    found = diagnose(*lr_too_high(0))
    lr = found["lr"]
    assert "Suggested" in lr.message and "Try: lr=" in lr.message and "Yours is 100" in lr.message
    assert 1e-5 < lr.data["suggested"] < 10
    scale = diagnose(*raw_pixels(0), checks=["input_scale"])["input_scale"]
    assert "X / 255" in scale.message and scale.data["max"] == 255


def test_the_table_lists_every_finding():
    found = diagnose(*saturated_sigmoids(0))
    table = str(found)
    assert table.splitlines()[0].split() == ["check", "status", "finding"]
    for f in found:
        assert f.check in table
    assert "FAIL" in table and found.summary() in table
    assert isinstance(found, Diagnosis) and len(found) == len(CHECKS)
    with pytest.raises(KeyError, match="ran"):
        diagnose(*healthy(0), checks=["labels"])["lr"]


def test_a_subset_of_checks():
    found = diagnose(*healthy(0), checks=["lr", "labels"])
    assert [f.check for f in found] == ["labels", "lr"]


def test_the_summary_of_one_check_is_singular():
    """It said "All 1 checks ok" and "1 checks: 1 failed"."""
    assert diagnose(*healthy(0), checks=["labels"]).summary().startswith("1 check, ok (")
    model, loss, (X, y), optimizer = healthy(0)
    found = diagnose(model, loss, (X, np.zeros_like(y)), optimizer, checks=["labels"])
    assert found.summary().startswith("1 check: 1 failed (")
    assert (
        diagnose(*healthy(0), checks=["labels", "init_loss"])
        .summary()
        .startswith("All 2 checks ok (")
    )


def test_checks_given_as_one_string_are_names_not_letters():
    """``checks="labels"`` (or ``"lr,labels"``, as ``--checks`` takes them) names checks; it
    used to be split into letters: "unknown check(s) ['l', 'a', 'b', ...]"."""
    assert [f.check for f in diagnose(*healthy(0), checks="labels")] == ["labels"]
    found = diagnose(*healthy(0), checks="init_loss, labels")
    assert [f.check for f in found] == ["labels", "init_loss"]
    with pytest.raises(ValueError, match=r"unknown check\(s\) \['vibes'\]"):
        diagnose(*healthy(0), checks="vibes")


# --- the model and optimizer are exactly as before ------------------------------------------


def snapshot(model, optimizer) -> dict:
    """Every bit the doctor must not change: weights, gradients, buffers, modes, random
    generators, the optimizer's state and learning rate, and no new attributes."""
    state = {}
    for i, layer in enumerate(model.layers):
        state[f"{i}.training"] = layer.training
        state[f"{i}.attributes"] = sorted(vars(layer))
        for name, p in layer.named_parameters():
            state[f"{i}.{name}"] = p.data.tobytes()
            state[f"{i}.{name}.grad"] = p.grad.tobytes()
        for name, b in layer.named_buffers():
            state[f"{i}.{name}"] = np.asarray(b).tobytes()
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                state[f"{i}.{name}.rng"] = repr(value.bit_generator.state)
    state["model.training"] = model.training
    state["model.attributes"] = sorted(vars(model))
    for key, value in optimizer.state_dict().items():
        state[f"optimizer.{key}"] = value.tobytes() if isinstance(value, np.ndarray) else value
    state["optimizer.params"] = [id(p) for p in optimizer.params]
    return state


def busy_model(seed: int) -> Sequential:
    """Every kind of state: BatchNorm buffers, a Dropout generator, parameters."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 4, 3, padding=1, rng=rng),
        BatchNorm2d(4),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dropout(0.3, rng=rng),
        Linear(64, 16, rng=rng),
        Tanh(),
        Linear(16, 3, rng=rng),
    )


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: Adam(params, lr=3e-3),
        lambda params: SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4),
    ],
    ids=["adam", "sgd-momentum"],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_and_optimizer_are_unchanged_bit_for_bit(make_optimizer, mode):
    X, y = tiny_data(rng=3)
    model, loss = busy_model(3), CrossEntropyLoss()
    optimizer = make_optimizer(model.parameters())
    for start in (0, 16):  # some optimizer state and leftover gradients
        optimizer.zero_grad()
        loss.forward(model.forward(X[start : start + 16]), y[start : start + 16])
        model.backward(loss.backward())
        optimizer.step()
    model.train(mode == "train")
    before = snapshot(model, optimizer)
    found = diagnose(model, loss, (X, y), optimizer, rng=4)
    assert len(found) == len(CHECKS)
    after = snapshot(model, optimizer)
    assert after.keys() == before.keys()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"diagnose changed {changed}"


# --- the gradient check -------------------------------------------------------------------------


def test_a_large_weight_is_checked_on_a_sample_that_reaches_the_layer():
    layer = Linear(300, 20, dtype=np.float64, rng=0)
    checked = CheckedLayer(layer, max_entries=256)
    weight = checked.params["weight"]
    assert isinstance(weight, SampledParameter) and 0 < weight.data.size <= 256
    positions = np.arange(0, 300 * 20, weight.step)  # the flat indices sampled
    assert len(np.unique(positions // 300)) == 20  # every output unit's weights
    assert len(np.unique(positions % 300)) == weight.data.size  # no two in the same column
    view = weight.data
    view[0] += 1.0  # perturbing the sample perturbs the layer
    assert layer.weight.data[0, 0] == pytest.approx(weight.data[0])
    assert checked.params["bias"] is layer.bias  # small enough: checked in full


class HalfBiasLinear(Linear):
    """A Linear whose bias gradient is half what it should be."""

    def backward(self, grad_out):
        before = self.bias.grad.copy()
        dx = super().backward(grad_out)
        self.bias.grad[...] = before + (self.bias.grad - before) / 2
        return dx


def test_a_wrong_parameter_gradient_is_caught_and_dropout_is_not_a_false_alarm():
    rng = np.random.default_rng(0)
    model = Sequential(Flatten(), Dropout(0.5, rng=rng), HalfBiasLinear(64, 3, rng=rng))
    finding = check_gradients(
        model, CrossEntropyLoss(), [(1, 8, 8), (64,), (64,)], 3, np.random.default_rng(1)
    )
    assert finding.status == "fail"
    assert "2: HalfBiasLinear" in finding.message and "bias" in finding.message
    by_row = {(r["layer"], r["gradient"]): r["error"] for r in finding.data["rows"]}
    assert by_row[("1: Dropout", "input")] < thresholds.GRAD_OK  # mask frozen
    assert by_row[("2: HalfBiasLinear", "weight")] < thresholds.GRAD_OK
    assert by_row[("2: HalfBiasLinear", "bias")] >= thresholds.GRAD_FAIL


class NoBackward(ReLU):
    def backward(self, grad_out):
        raise NotImplementedError("backward is left as an exercise")


def test_a_backward_that_raises_is_a_finding_not_a_crash():
    model, loss, data, _ = healthy(0)
    model.layers[1] = NoBackward()
    found = diagnose(model, loss, data, SGD(model.parameters(), lr=0.1), checks=["gradients"])
    assert found["gradients"].status == "fail"
    assert "left as an exercise" in found["gradients"].message


def test_lenet_sized_weights_are_sampled_and_pass():
    from cnn_numpy import lenet

    finding = check_gradients(
        lenet(rng=0),
        CrossEntropyLoss(),
        [
            (1, 28, 28),
            (16, 28, 28),
            (16, 28, 28),
            (16, 14, 14),
            (32, 14, 14),
            (32, 14, 14),
            (32, 7, 7),
            (1568,),
            (128,),
            (128,),
        ],
        10,
        np.random.default_rng(0),
    )
    assert finding.status == "ok", finding.message
    notes = {r["layer"]: r["note"] for r in finding.data["rows"] if r["gradient"] == "weight"}
    assert notes["7: Linear"].endswith("of 200,704 entries")


# --- bad input ----------------------------------------------------------------------------------

BAD_INPUT = {
    "check": "unknown check",
    "label-range": r"labels must be class indices in \[0, 3\)",
    "label-dtype": "integer class indices",
    "lengths": "X has 10 samples but y has 240",
    "optimizer": "updates none of this model's parameters",
    "shape": "cannot run on images of shape",
    "batch": "batch_size must be an int >= 1",
    "empty": r"diagnose: the data \(X, y\) is empty",  # was "diagnose is empty"
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_a_clear_error(case):
    model, loss, (X, y), optimizer = healthy(0)
    kwargs = {"checks": ["labels", "vibes"]} if case == "check" else {}
    kwargs = {"batch_size": 0} if case == "batch" else kwargs
    if case == "label-range":
        y = y + 5
    elif case == "label-dtype":
        y = y.astype(float)
    elif case == "lengths":
        X = X[:10]
    elif case == "empty":
        X, y = X[:0], y[:0]
    elif case == "shape":
        X = X[:, :, :6]
    elif case == "optimizer":
        optimizer = SGD(healthy(1)[0].parameters(), lr=0.1)
    with pytest.raises(ValueError, match=BAD_INPUT[case]):
        diagnose(model, loss, (X, y), optimizer, **kwargs)


def test_misuse_of_the_arguments_is_a_clear_error():
    """Were: a silent empty diagnosis (checks=[]), "object too deep for desired array" (labels
    of shape (N, 1)), X's first two images read as (X, y) (data=X), a TypeError from
    forward() (the loss class itself) and "e.g. SGD()" (loss and optimizer swapped)."""
    model, loss, (X, y), optimizer = healthy(0)
    with pytest.raises(ValueError, match="checks names none"):
        diagnose(model, loss, (X, y), optimizer, checks=[])
    with pytest.raises(ValueError, match=r"shape \(N,\); got \(240, 1\)"):
        diagnose(model, loss, (X, y[:, None]), optimizer, checks="labels")
    with pytest.raises(ValueError, match=r"the pair \(X, y\).*ndarray of shape"):
        diagnose(model, loss, X, optimizer)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss\(\), not the class"):
        diagnose(model, CrossEntropyLoss, (X, y), optimizer, checks="init_loss")
    with pytest.raises(ValueError, match="got Adam .are loss and optimizer swapped"):
        diagnose(model, optimizer, (X, y), loss, checks="init_loss")


def test_input_scale_nan_fails():
    model, loss, (X, y), optimizer = healthy(0)
    X = X.copy()
    X[3, 0, 2, 2] = np.nan
    found = diagnose(model, loss, (X, y), optimizer, checks=["input_scale"])
    assert found["input_scale"].status == "fail" and "NaN" in found["input_scale"].message


def test_init_loss_compares_with_ln_c():
    found = diagnose(*healthy(0), checks=["init_loss"])["init_loss"]
    assert found.data["chance"] == pytest.approx(math.log(3))
    assert found.data["ratio"] < thresholds.INIT_LOSS_WARN


@pytest.mark.parametrize(
    "dead, status",
    [(0, "ok"), (52, "ok"), (77, "warn"), (115, "warn"), (116, "fail"), (128, "fail")],
)
def test_dead_relu_warns_from_60_percent_of_a_layer_and_fails_from_90(dead, status):
    """A trained healthy LeNet had 51 of its 128 Linear units dead (40%): ok."""
    stats = [{"label": "8: ReLU", "activity": [0.0] * dead + [0.3] * (128 - dead)}]
    assert check_dead_relu(stats).status == status


def test_an_ok_dead_relu_finding_says_how_much_is_dead_not_nearly_none():
    """72 of 128 units dead (56%, under the warning) was reported as "Nearly every unit
    responds to something"; the finding stays ok but says what share is dead."""
    stats = [
        {"label": "1: ReLU", "activity": [0.3] * 16},
        {"label": "8: ReLU", "activity": [0.0] * 72 + [0.3] * 56},
    ]
    found = check_dead_relu(stats)
    assert found.status == "ok"
    assert "Nearly every unit" not in found.message
    assert "56% of a layer (8: ReLU) is dead" in found.message
    alive = check_dead_relu([{"label": "1: ReLU", "activity": [0.3] * 16}])
    assert "Every unit responds to something" in alive.message


def test_missing_classes_beside_equal_ones_are_not_said_to_be_the_most_and_the_fewest():
    """Two classes of 100 labels for a 4-class model read 'class 0 has the most, 100 (50%),
    class 0 the fewest, 100'."""
    finding = check_labels(np.repeat([0, 1], 100), 4)
    assert finding.status == "warn"
    assert "200 labels, 100 in each of the 2 classes present" in finding.message
    assert "the fewest" not in finding.message
