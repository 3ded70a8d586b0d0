"""``Sequential`` where PyTorch users reach for it: ``model[a:b]`` is a Sequential sharing the
layers, and ``load_state_dict(state, strict=False)`` loads the matching keys and returns the
missing and unexpected ones, as ``torch.nn.Sequential`` does."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    Adam,
    BatchNorm1d,
    Flatten,
    Linear,
    ReLU,
    Residual,
    Sequential,
    deep,
    lenet,
)


def small(rng=0) -> Sequential:
    rng = np.random.default_rng(rng)
    return Sequential(Flatten(), Linear(12, 6, rng=rng), BatchNorm1d(6), ReLU(),
                      Linear(6, 3, rng=rng))  # fmt: skip


@pytest.mark.parametrize("index", [slice(0, 3), slice(None, 3), slice(2, None), slice(None, None, 2),
                                   slice(-2, None), slice(3, 1)])  # fmt: skip
def test_a_slice_is_a_sequential_of_the_same_layers(index):
    model = small()
    part = model[index]
    assert isinstance(part, Sequential)
    assert part.layers == model.layers[index]
    assert all(a is b for a, b in zip(part, model.layers[index]))  # shared, not copied


def test_a_slice_computes_the_first_layers_and_shares_their_weights():
    model = lenet(rng=0)
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    features = model[:4]
    np.testing.assert_array_equal(model[4:](features(x)), model(x))
    model[0].weight.data += 1  # a change to the model is the slice's
    assert features[0].weight is model[0].weight
    np.testing.assert_array_equal(model[:4](x), features(x))
    assert model[1] is model.layers[1] and model[-1] is model.layers[-1]  # ints: the layer


def test_a_slice_keeps_the_models_mode():
    model = small().eval()
    assert model[:3].training is False and model.train()[:3].training is True


def test_slicing_leaves_each_layers_own_mode_alone():
    model = small().train()
    model[2].eval()  # a frozen BatchNorm, as fine-tuning does
    features = model[:3]  # was .train(True) on the shared layers: the BatchNorm trained again
    assert model[2].training is False and features[2].training is False
    assert features.training is True


def test_strict_false_loads_the_keys_both_have_and_returns_the_others():
    model, source = small(0), small(1)
    state = source.state_dict()
    state["9.weight"] = np.zeros(3, np.float32)  # not the model's
    del state["4.bias"]  # the model's, not in state
    before = model.state_dict()
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["4.bias"] and result.unexpected_keys == ["9.weight"]
    assert result == (["4.bias"], ["9.weight"])  # a named tuple, as PyTorch's
    after = model.state_dict()
    np.testing.assert_array_equal(after["4.bias"], before["4.bias"])  # left alone
    for key in state:
        if key in after:
            np.testing.assert_array_equal(after[key], state[key], err_msg=key)


def test_strict_true_needs_the_same_keys_and_returns_none_missing():
    model = small(0)
    state = small(1).state_dict()
    assert model.load_state_dict(state) == ([], [])
    del state["1.weight"]
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"missing \['1.weight'\].*strict=False loads"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # nothing copied


def test_strict_false_still_refuses_a_wrong_shape_before_copying_anything():
    model = small(0)
    before = model.state_dict()
    state = {"1.bias": np.ones(6), "4.weight": np.ones((3, 7))}  # the second does not fit
    with pytest.raises(ValueError, match=r"'4.weight' has shape \(3, 7\)"):
        model.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(model.state_dict()["1.bias"], before["1.bias"])


@pytest.mark.parametrize("strict", [None, 0, "no"])
def test_strict_must_be_a_bool(strict):
    with pytest.raises(ValueError, match="strict must be True or False"):
        small().load_state_dict(small().state_dict(), strict=strict)


def test_the_same_keys_as_torch_for_a_slice_and_a_partial_load():
    torch = pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    model = deep(rng=0, dtype=np.float64)
    twin = to_torch(model)
    assert list(model[:5].state_dict()) == list(twin[:5].state_dict())
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("1.")}
    state["extra.weight"] = np.zeros(2)
    ours = model.load_state_dict(state, strict=False)
    theirs = twin.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=False)
    # torch fills in a missing num_batches_tracked for a state dict without its version
    # metadata (one from before BatchNorm had it) instead of reporting it; we report it
    assert [k for k in ours.missing_keys if "num_batches" not in k] == theirs.missing_keys
    assert ours.unexpected_keys == theirs.unexpected_keys


@pytest.mark.parametrize("mode", ["no", None, 0, 1.0])
def test_train_mode_must_be_a_bool_as_in_torch(mode):
    # torch: "training mode is expected to be boolean"; a string would read as True
    for layer in (small(), Linear(2, 2), Residual(Linear(2, 2))):
        with pytest.raises(ValueError, match="mode must be True or False"):
            layer.train(mode)
    model = small()
    assert model.train(False) is model and not model[2].training
    assert model.train(np.bool_(True)) is model and model[2].training is True


def test_a_layer_used_twice_is_refused_not_given_a_wrong_gradient():
    # each layer keeps its last forward's input for backward: a second use would overwrite
    # the first's, and the gradient of the first use would be wrong without an error
    shared, relu = Linear(3, 3, rng=0), ReLU()
    for build in (
        lambda: Sequential(shared, ReLU(), Linear(3, 3, rng=1), shared),
        lambda: Sequential(Linear(3, 3), relu, Linear(3, 3), relu),
        lambda: Sequential(Sequential(shared), Residual(Sequential(ReLU(), shared))),
        lambda: Residual(shared, shared),
    ):
        with pytest.raises(ValueError, match="used twice in one model"):
            build()
    model = small()
    assert len(Sequential(model[:2], model[2:]).parameters()) == len(model.parameters())


def test_an_optimizer_refuses_a_parameter_listed_twice():
    params = Linear(2, 2, rng=0).parameters()
    for make in (lambda p: SGD(p, lr=0.1), Adam):
        with pytest.raises(ValueError, match="more than once"):
            make(params + params[:1])


def test_a_torch_state_dict_loads_as_it_is():
    # what a PyTorch user tries first: model.load_state_dict(torch_model.state_dict())
    pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    model, twin = deep(rng=0), to_torch(deep(rng=1, dtype=np.float64))
    result = model.load_state_dict(twin.state_dict())
    assert result.missing_keys == result.unexpected_keys == []
    for key, value in twin.state_dict().items():
        assert np.allclose(model.state_dict()[key], value.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="'0.weight' must be an array of real numbers"):
        model.load_state_dict({**model.state_dict(), "0.weight": object()})


def test_every_layer_has_a_state_dict_as_a_torch_module():
    pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    from cnn_numpy import BatchNorm2d, Conv2d, resnet

    for layer in (Conv2d(2, 3, 3, rng=0), BatchNorm2d(3), ReLU(), resnet(rng=0)):
        twin = to_torch(layer)
        assert list(layer.state_dict()) == list(twin.state_dict())  # names and order
        other = type(layer)(**layer.config()) if not isinstance(layer, Sequential) else None
        if other is not None:
            assert other.load_state_dict(twin.state_dict()) == ([], [])
            for key, value in layer.state_dict().items():
                assert np.array_equal(other.state_dict()[key], value)
    bn = BatchNorm2d(3)
    with pytest.raises(ValueError, match="'running_var' has shape"):
        bn.load_state_dict({**bn.state_dict(), "running_var": np.ones(4)})
    assert bn.load_state_dict({"weight": np.full(3, 2.0)}, strict=False).missing_keys == [
        "bias",
        "running_mean",
        "running_var",
    ]  # fmt: skip  (as torch: a missing num_batches_tracked keeps the layer's own count)
    assert np.array_equal(bn.weight.data, np.full(3, 2.0, np.float32))


def test_append_adds_a_layer_with_the_same_checks():
    model = small()
    assert model.append(Linear(3, 2, rng=0)) is model and len(model) == 6
    assert model(np.zeros((4, 12))).shape == (4, 2)
    with pytest.raises(ValueError, match="used twice in one model"):
        model.append(model[1])
    with pytest.raises(ValueError, match="item 6 is 3, not a Layer"):
        model.append(3)
    assert len(model) == 6


def test_a_layer_of_ones_own_without_output_shape_is_measured_not_assumed_elementwise():
    # a PyTorch user writes forward and backward only; fit, predict and summary must see
    # the shape its forward returns (they took it for an elementwise layer, and refused a
    # model that runs)
    from cnn_numpy import Conv2d, CrossEntropyLoss, Layer, evaluate, fit

    class ChannelMeans(Layer):
        def forward(self, x):
            self.shape = x.shape
            return x.mean(axis=(2, 3))

        def backward(self, grad_out):
            return np.broadcast_to(grad_out[:, :, None, None] / 16, self.shape).copy()

    means = ChannelMeans()
    model = Sequential(Conv2d(1, 4, 3, rng=0), means, Linear(4, 10, rng=0))
    X, y = np.random.default_rng(0).random((8, 1, 6, 6), dtype=np.float32), np.arange(8)
    assert model.output_shape((5, 1, 6, 6)) == (5, 10) and means.training
    history = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (X, y), 1,
                  callbacks=[])  # fmt: skip
    assert len(history) == 1 and 0 <= evaluate(model, X, y) <= 1
    assert "(1, 4)" in model.summary((1, 1, 6, 6))
    with pytest.raises(ValueError, match=r"labels must be class indices 0..9"):
        evaluate(model, X, y + 5)


def test_a_new_head_by_item_assignment_and_the_list_methods_as_torch():
    torch = pytest.importorskip("torch")
    model, twin = small(), torch.nn.Sequential(*[torch.nn.Identity() for _ in range(5)])
    model[-1] = Linear(6, 2, rng=1)  # transfer learning: a new head
    assert model(np.zeros((4, 12))).shape == (4, 2)
    assert list(model.state_dict())[-2:] == ["4.weight", "4.bias"]
    with pytest.raises(ValueError, match="used twice in one model"):
        model[0] = model[1]
    with pytest.raises(IndexError):
        model[5] = ReLU()
    assert isinstance(model[0], Flatten)  # a refused assignment changed nothing

    relu = ReLU()
    model.insert(-1, relu), twin.insert(-1, torch.nn.ReLU())
    assert model[4] is relu and len(model) == len(twin) == 6
    model.insert(6, ReLU()), twin.insert(6, torch.nn.ReLU())
    assert isinstance(model[-1], ReLU) and len(model) == len(twin) == 7
    with pytest.raises(IndexError):
        model.insert(9, ReLU())
    assert model.pop() is not None and isinstance(model[-1], Linear) and len(model) == 6
    del model[1:3]
    assert [type(layer).__name__ for layer in model] == ["Flatten", "ReLU", "ReLU", "Linear"]
    assert list(model.state_dict()) == ["3.weight", "3.bias"]  # the keys move up with the layers
    model.extend(Sequential(ReLU(), Linear(2, 5, rng=0)))
    assert model(np.zeros((4, 6))).shape == (4, 5)


def test_a_list_or_an_ordered_dict_of_layers_says_how_to_pass_them():
    from collections import OrderedDict

    layers = [Flatten(), Linear(12, 3, rng=0)]
    with pytest.raises(ValueError, match=r"pass the layers themselves: Sequential\(\*layers\)"):
        Sequential(layers)
    named = OrderedDict(flat=layers[0], fc=layers[1])
    with pytest.raises(ValueError, match=r"OrderedDict, are not implemented .*named.values\(\)"):
        Sequential(named)  # torch.nn.Sequential takes one; here the keys would be lost
    assert list(Sequential(*named.values()).state_dict()) == ["1.weight", "1.bias"]


def test_a_gradient_set_to_none_as_in_torch_says_to_call_zero_grad():
    layer = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"p.grad = None\), call model.zero_grad\(\)"):
        layer.weight.grad = None  # was a TypeError at the next backward, += into None
    assert layer.weight.grad.shape == (2, 3) and not layer.weight.grad.any()
    layer.weight.grad = np.ones((2, 3))  # an array is taken
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_a_state_without_num_batches_tracked_loads_as_in_torch():
    """An older PyTorch checkpoint, or a dict rebuilt key by key, has no BatchNorm counter:
    torch loads it strictly and keeps its own count; this used to refuse it as missing keys."""
    torch = pytest.importorskip("torch")
    model = small()
    model(np.random.default_rng(0).standard_normal((4, 12)))  # one batch: the count is 1
    state = {k: v for k, v in small(rng=1).state_dict().items() if "num_batches" not in k}
    result = model.load_state_dict(state)
    assert result.missing_keys == result.unexpected_keys == []
    assert model.state_dict()["2.num_batches_tracked"] == 1
    assert np.array_equal(model.state_dict()["1.weight"], state["1.weight"])
    twin = torch.nn.BatchNorm1d(6)
    twin(torch.zeros(4, 6))
    assert not twin.load_state_dict({k[2:]: torch.as_tensor(v) for k, v in state.items()
                                     if k.startswith("2.")}).missing_keys  # fmt: skip
    assert twin.num_batches_tracked == 1


def test_torch_parameters_that_require_grad_are_refused_with_the_fix():
    """dict(torch_model.named_parameters()) is a learner's first guess; it said only 'got
    Parameter', not why (they require grad) nor what to pass."""
    torch = pytest.importorskip("torch")
    twin = torch.nn.Linear(12, 6)
    with pytest.raises(ValueError, match=r"requires grad .*torch_model\.state_dict\(\)"):
        Linear(12, 6, rng=0).load_state_dict(dict(twin.named_parameters()))
    layer = Linear(12, 6, rng=0)
    layer.load_state_dict({k: v.detach() for k, v in twin.named_parameters()})
    assert np.array_equal(layer.weight.data, twin.weight.detach().numpy())


def test_children_are_the_layers_and_named_children_the_pairs_as_in_torch():
    """``Sequential(*list(model.children())[:-1])``, a head cut off as a PyTorch user cuts it
    (children() gave (name, layer) pairs, which PyTorch's named_children() gives)."""
    model = small()
    assert list(model.children()) == list(model.layers)
    assert list(model.named_children()) == [(str(i), layer) for i, layer in enumerate(model)]
    body = Sequential(*list(model.children())[:-1])
    assert body(np.ones((2, 3, 4))).shape == (2, 6)
    res = Residual(Sequential(Linear(6, 6, rng=0)), shortcut=Linear(6, 6, rng=1))
    assert [name for name, _ in res.named_children()] == ["block", "shortcut"]
    assert list(res.children()) == [res.block, res.shortcut]
    torch = pytest.importorskip("torch")
    twin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 6), torch.nn.ReLU())
    assert [type(c).__name__ for c in twin.children()] == ["Flatten", "Linear", "ReLU"]
    assert [n for n, _ in twin.named_children()] == ["0", "1", "2"]
