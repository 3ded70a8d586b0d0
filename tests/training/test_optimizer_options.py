"""Optimizers with PyTorch's other arguments (dampening, amsgrad, AdamW, maximize,
zero_grad(set_to_none)): state saved and restored exactly, bad values refused.  The steps
themselves are compared with torch in tests/layers/test_torch_parity.py."""

import numpy as np
import pytest

from cnn_numpy import SGD, Adam, AdamW, Linear


def steps(optimizer, layer, n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        optimizer.zero_grad()
        layer.weight.grad += rng.standard_normal(layer.weight.shape)
        layer.bias.grad += rng.standard_normal(layer.bias.shape)
        optimizer.step()


@pytest.mark.parametrize("make", [lambda p: Adam(p, amsgrad=True, lr=0.1),
                                  lambda p: AdamW(p, lr=0.1, amsgrad=True),
                                  lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.5)])  # fmt: skip
def test_a_resumed_optimizer_steps_as_an_uninterrupted_one(make):
    straight, resumed = Linear(3, 2, rng=0), Linear(3, 2, rng=0)
    opt = make(straight.parameters())
    steps(opt, straight, 3, seed=1)
    resumed.weight.data[...], resumed.bias.data[...] = straight.weight.data, straight.bias.data
    opt_resumed = make(resumed.parameters())
    opt_resumed.load_state_dict(opt.state_dict())
    steps(opt, straight, 3, seed=2)
    steps(opt_resumed, resumed, 3, seed=2)
    assert np.array_equal(straight.weight.data, resumed.weight.data)


def test_an_amsgrad_state_without_its_maximum_is_refused():
    layer = Linear(3, 2, rng=0)
    state = Adam(layer.parameters()).state_dict()
    with pytest.raises(ValueError, match="'max_exp_avg_sq.0' is missing"):
        Adam(layer.parameters(), amsgrad=True).load_state_dict(state)


def test_zero_grad_takes_set_to_none_and_zeroes():
    layer = Linear(3, 2, rng=0)
    layer.weight.grad += 1
    SGD(layer.parameters()).zero_grad(set_to_none=True)
    assert not layer.weight.grad.any()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda p: SGD(p, lr=0.1, dampening=1.5), "dampening must be"),
        (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "and dampening 0"),
        (lambda p: SGD(p, maximize=1), "maximize must be True or False"),
        (lambda p: Adam(p, amsgrad="yes"), "amsgrad must be True or False"),
        (lambda p: AdamW(p, weight_decay=-1), "AdamW: weight_decay must be"),
        (lambda p: SGD(p).zero_grad(set_to_none=None), "set_to_none must be True or False"),
    ],
)
def test_bad_optimizer_options(build, message):
    with pytest.raises(ValueError, match=message):
        build(Linear(3, 2, rng=0).parameters())


def test_named_parameters_are_taken_as_by_torch_and_groups_refused():
    layer = Linear(3, 2, rng=0)
    assert SGD(layer.named_parameters()).params == layer.parameters()
    with pytest.raises(ValueError, match="parameter groups, dicts, are not implemented"):
        Adam([{"params": layer.parameters(), "lr": 0.1}])
    with pytest.raises(ValueError, match="params must be Parameters"):
        SGD([("weight", np.zeros(3))])


@pytest.mark.parametrize("make", [SGD, Adam, AdamW])
def test_the_model_itself_for_params_says_to_pass_its_parameters(make):
    from cnn_numpy import ReLU, Sequential

    for model in (Linear(3, 2, rng=0), Sequential(Linear(3, 2, rng=0), ReLU())):
        with pytest.raises(ValueError, match=r"is the model .* itself; pass model.parameters"):
            make(model)  # was TypeError: 'Linear' object is not iterable / "got Linear"


@pytest.mark.parametrize(
    "saved, loading",
    [
        ("bigger model", "Adam"),
        ("adam into sgd", "SGD"),
        ("momentum into plain sgd", "SGD"),
        ("amsgrad into adam", "Adam"),
    ],
)
def test_a_state_with_keys_this_optimizer_never_saves_is_refused(saved, loading):
    """A hand-written loop resumed from the wrong file (another optimizer's state, other
    options, a bigger model) used to load the part that fit and drop the rest, silently."""
    small = Linear(3, 2, rng=0)
    big = [*Linear(3, 2, rng=0).parameters(), *Linear(2, 2, rng=0).parameters()]
    make_saved = {
        "bigger model": lambda: Adam(big),
        "adam into sgd": lambda: Adam(small.parameters()),
        "momentum into plain sgd": lambda: SGD(small.parameters(), lr=0.1, momentum=0.9),
        "amsgrad into adam": lambda: Adam(small.parameters(), amsgrad=True),
    }[saved]()
    for p in make_saved.params:
        p.grad[...] = 1.0
    make_saved.step()
    target = {"Adam": Adam, "SGD": SGD}[loading](small.parameters(), lr=0.1)
    before = target.state_dict()
    with pytest.raises(ValueError, match="keys it never saves"):
        target.load_state_dict(make_saved.state_dict())
    assert target.state_dict().keys() == before.keys()  # nothing changed
