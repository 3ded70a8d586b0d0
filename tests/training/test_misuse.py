"""Misuse of the Python API gets a clear error naming the problem, never a silent wrong answer."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    Adam,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    CosineAnnealingLR,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    PrintEpoch,
    ReLU,
    Sequential,
    Sigmoid,
    StepLR,
    Tanh,
    evaluate,
    fit,
    predict,
    predict_proba,
    seed_net,
)

# (layer, input shape) for every layer type
LAYERS = [
    (lambda: Conv2d(2, 3, 3, rng=0), (2, 2, 5, 5)),
    (lambda: Linear(4, 3, rng=0), (2, 4)),
    (lambda: Flatten(), (2, 3, 2, 2)),
    (lambda: ReLU(), (2, 3)),
    (lambda: LeakyReLU(0.1), (2, 3)),
    (lambda: Sigmoid(), (2, 3)),
    (lambda: Tanh(), (2, 3)),
    (lambda: MaxPool2d(2), (2, 3, 4, 4)),
    (lambda: AvgPool2d(2), (2, 3, 4, 4)),
    (lambda: BatchNorm2d(3), (2, 3, 4, 4)),
    (lambda: BatchNorm1d(3), (4, 3)),
    (lambda: Dropout(0.5, rng=0), (2, 3)),
]
IDS = [type(make()).__name__ for make, _ in LAYERS]


@pytest.mark.parametrize("make, shape", LAYERS, ids=IDS)
def test_backward_before_forward_says_so(make, shape):
    with pytest.raises(RuntimeError, match=r"backward\(\) needs a forward\(\) first"):
        make().backward(np.ones(shape))


@pytest.mark.parametrize("make, shape", LAYERS, ids=IDS)
def test_a_gradient_of_the_wrong_shape_is_refused_not_broadcast(make, shape):
    layer = make()
    out = layer.forward(np.random.default_rng(0).standard_normal(shape))
    wrong = (1, *out.shape[1:-1], out.shape[-1] + 1) if out.ndim > 1 else (out.shape[0] + 1,)
    with pytest.raises(ValueError, match=re.escape(f"output's shape {out.shape}, got shape")):
        layer.backward(np.ones(wrong))
    with pytest.raises(ValueError, match="got shape"):  # (1, 3) would broadcast
        layer.backward(np.ones((1, *out.shape[1:])) if out.shape[0] > 1 else np.ones(2))


@pytest.mark.parametrize("make, shape", LAYERS, ids=IDS)
def test_complex_input_is_refused_not_cast(make, shape):
    with pytest.raises(ValueError, match="real numbers.*complex"):
        make().forward(np.ones(shape) + 1j)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Conv2d(1.5, 8, 3), r"Conv2d: in_channels must be a whole number >= 1, got 1.5"),
        (lambda: Conv2d(1, 0, 3), "out_channels must be a whole number >= 1, got 0"),
        (lambda: Conv2d(1, 8, 0), "kernel_size must be >= 1"),
        (lambda: Conv2d(1, 8, 3, stride=(1, 0)), "stride must be >= 1"),
        (lambda: Conv2d(1, 8, 3, padding=-1), "padding must be >= 0"),
        (lambda: Conv2d(1, 8, 3, dtype=np.int32), "dtype must be float32 or float64"),
        (lambda: Conv2d(1, 8, 3, bias="yes"), "bias must be True or False"),
        (lambda: Conv2d(1, 8, 3, rng=-1), "rng must be a seed"),
        (lambda: Conv2d(True, 8, 3), "in_channels must be a whole number"),
        (lambda: Linear(4, 2.0), "out_features must be a whole number >= 1, got 2.0"),
        (lambda: LeakyReLU(float("nan")), "negative_slope must be a finite number"),
        (lambda: Dropout(1.5), r"p must be a probability in \[0, 1\]"),
        (lambda: Dropout("0.5"), "p must be a probability"),
        (lambda: BatchNorm2d(0), "num_features must be a whole number >= 1"),
        (lambda: BatchNorm2d(3, eps=0), "eps must be a finite number > 0"),
        (lambda: BatchNorm2d(3, momentum=2), "momentum"),
        (lambda: MaxPool2d(2.5), "kernel_size must be >= 1"),
        (lambda: AvgPool2d(2, padding=2), "at most half of kernel_size"),
    ],
)
def test_bad_layer_arguments_name_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_layer_too_large_to_allocate_says_how_large():
    with pytest.raises(MemoryError, match="GiB"):
        Linear(10**7, 10**7)


def params():
    return seed_net(rng=0).parameters()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SGD(params(), lr=float("nan")), "learning rate lr must be a finite number >= 0"),
        (lambda: SGD(params(), lr=float("inf")), "learning rate lr must be a finite number"),
        (lambda: SGD(params(), lr=-0.1), "learning rate lr must be a finite number >= 0"),
        (
            lambda: SGD(params(), lr=0.1, momentum=1.5),
            "momentum must be a finite number >= 0 and < 1",
        ),
        (lambda: SGD(params(), lr=0.1, weight_decay=-1), "weight_decay must be"),
        (lambda: SGD([np.zeros(3)], lr=0.1), "params must be Parameters"),
        (lambda: Adam(params(), lr=1e-3, betas=(0.9, 1.0)), r"betas\[1\] must be"),
        (lambda: Adam(params(), lr=1e-3, betas=0.9), "betas must be a pair"),
        (lambda: Adam(params(), lr=1e-3, eps=0), "eps must be a finite number > 0"),
        (
            lambda: StepLR(SGD(params(), lr=0.1), step_size=1.5),
            "step_size must be a positive integer",
        ),
        (lambda: StepLR(SGD(params(), lr=0.1), 2, gamma=float("nan")), "gamma must be"),
        (lambda: CosineAnnealingLR(SGD(params(), lr=0.1), T_max=0), "T_max must be a positive"),
    ],
)
def test_bad_optimizer_and_schedule_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("state, message", [(None, "got NoneType"), ([1], "got list"),
                                            ({"param_groups": [], "state": {}}, "PyTorch state dict")])  # fmt: skip
def test_an_optimizer_or_schedule_state_that_is_not_ours_is_named(state, message):
    torch = pytest.importorskip("torch")
    opt = SGD(params(), lr=0.1)
    for target in (opt, Adam(params()), StepLR(opt, 2), CosineAnnealingLR(opt, 3)):
        with pytest.raises(ValueError, match=message):
            target.load_state_dict(state)
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="PyTorch state dict"):
        opt.load_state_dict(theirs.state_dict())
    with pytest.raises(ValueError, match="PyTorch state dict"):
        StepLR(opt, 2).load_state_dict(torch.optim.lr_scheduler.StepLR(theirs, 2).state_dict())


def test_a_failed_optimizer_state_load_changes_nothing():
    opt = Adam(params(), lr=1e-3)
    state = opt.state_dict()
    state["lr"], state["exp_avg.1"] = 5e-4, "not an array"
    with pytest.raises(ValueError, match="exp_avg.1"):
        opt.load_state_dict(state)
    assert opt.lr == 1e-3 and opt.t == 0


def test_a_failed_load_state_dict_changes_no_weight():
    model = seed_net(rng=0)
    before = model.state_dict()
    state = {k: np.full_like(v, 7.0) for k, v in before.items()}
    state["4.bias"] = np.array(["a", "b"])  # the last key is bad, the others fine
    with pytest.raises(ValueError, match="'4.bias' must be an array of real numbers"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    state["4.bias"] = np.random.default_rng(0)  # a Generator in place of a weight
    with pytest.raises(ValueError, match="'4.bias' must be an array of real numbers"):
        model.load_state_dict(state)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.random((8, 1, 28, 28), dtype=np.float32), rng.integers(0, 2, 8)


def train_once(model, data, **kwargs):
    return fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        data,
        epochs=1,
        batch_size=4,
        callbacks=[],
        **kwargs,
    )


def test_a_label_of_minus_one_is_an_error_not_the_last_class(data):
    X, y = data
    bad = y.copy()
    bad[5] = -1
    with pytest.raises(ValueError, match=r"test: labels must be class indices 0..1.*index 5"):
        train_once(seed_net(rng=0), data, test=(X, bad))
    with pytest.raises(ValueError, match=r"evaluate: labels must be class indices 0..1"):
        evaluate(seed_net(rng=0), X, bad)
    with pytest.raises(ValueError, match=r"train: labels.*values \[2\]"):
        train_once(seed_net(rng=0), (X, np.where(np.arange(8) == 3, 2, y)))


def test_nan_pixels_are_named_not_blamed_on_the_learning_rate(data):
    X, y = data
    X = X.copy()
    X[2, 0, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"train: X holds NaN or infinite values.*\(2, 0, 3, 4\)"):
        train_once(seed_net(rng=0), (X, y))
    with pytest.raises(ValueError, match="predict: X holds NaN"):
        predict(seed_net(rng=0), X)


def test_complex_data_float_labels_and_mismatched_lengths(data):
    X, y = data
    with pytest.raises(ValueError, match="train: X must hold real numbers"):
        train_once(seed_net(rng=0), (X + 0j, y))
    with pytest.raises(ValueError, match="y must be a 1-D array of integer class indices"):
        train_once(seed_net(rng=0), (X, y.astype(float)))
    with pytest.raises(ValueError, match="X has 8 samples but y has 7"):
        train_once(seed_net(rng=0), (X, y[:7]))
    with pytest.raises(ValueError, match="fit: epochs must be a whole number >= 0"):
        fit(seed_net(rng=0), CrossEntropyLoss(), SGD(params(), lr=0.1), data, epochs=1.5)
    with pytest.raises(ValueError, match="fit: batch_size must be a whole number >= 1"):
        fit(seed_net(rng=0), CrossEntropyLoss(), SGD(params(), lr=0.1), data, 1, batch_size=0)


def test_a_class_for_an_instance_and_a_lone_callback_are_named(data):
    model = seed_net(rng=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"loss is the class CrossEntropyLoss; pass an instance"):
        fit(model, CrossEntropyLoss, optimizer, data, epochs=1, callbacks=[])
    with pytest.raises(ValueError, match=r"optimizer is the class SGD"):
        fit(model, CrossEntropyLoss(), SGD, data, epochs=1, callbacks=[])
    with pytest.raises(ValueError, match=r"callbacks must be a list, e.g. callbacks=\[PrintEpoch"):
        fit(model, CrossEntropyLoss(), optimizer, data, epochs=1, callbacks=PrintEpoch())
    assert len(fit(model, CrossEntropyLoss(), optimizer, data, epochs=1, callbacks=())) == 1


def test_float_and_one_hot_labels_say_how_to_fix_them(data):
    X, y = data
    with pytest.raises(ValueError, match=r"pass y.astype\(np.int64\)"):
        train_once(seed_net(rng=0), (X, y.astype(np.float32)))
    with pytest.raises(ValueError, match=r"one-hot rows\? pass y.argmax\(axis=1\)"):
        train_once(seed_net(rng=0), (X, np.eye(2, dtype=np.int64)[y]))


def test_a_model_whose_output_is_not_one_row_of_scores_is_named(data):
    X, y = data
    model = Sequential(Conv2d(1, 2, 28, rng=0))  # (N, 2, 1, 1): argmax gave (N, 1, 1)
    for call in (lambda: predict(model, X), lambda: evaluate(model, X, y),
                 lambda: train_once(model, data)):  # fmt: skip
        with pytest.raises(
            ValueError, match=r"has shape \(1, 2, 1, 1\).*end the model with Flatten"
        ):
            call()


def test_one_sample_to_a_linear_layer_says_how_to_make_it_a_batch():
    with pytest.raises(ValueError, match=r"for one sample use x\[None\], a batch of one: \(1, 3\)"):
        Linear(3, 2)(np.ones(3))


def test_images_that_do_not_fit_the_model_name_the_layer(data):
    X, y = data
    with pytest.raises(ValueError, match="Conv2d.*expects 1 input channel"):
        train_once(seed_net(rng=0), (np.repeat(X, 3, axis=1), y))


def test_an_empty_batch(data):
    model = seed_net(rng=0)
    assert predict_proba(model, data[0][:0]).shape == (0, 2)
    assert predict(model, data[0][:0]).shape == (0,)
    with pytest.raises(ValueError, match="N >= 1"):
        CrossEntropyLoss().forward(np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="train is empty"):
        train_once(model, (data[0][:0], data[1][:0]))
    with pytest.raises(RuntimeError, match="CrossEntropyLoss: backward"):
        CrossEntropyLoss().backward()


def test_a_sequential_forwards_the_checks():
    model = Sequential(Linear(3, 2, rng=0), ReLU())
    model.forward(np.ones((4, 3)))
    with pytest.raises(
        ValueError,
        match=r"ReLU\(\): backward\(\) expects a gradient of the "
        r"output's shape \(4, 2\), got shape \(1, 2\)",
    ):
        model.backward(np.ones((1, 2)))


@pytest.mark.parametrize(
    "shape, hint",
    [
        ((28, 28), "for one grayscale image (H, W) use x[None, None]"),
        ((1, 28, 28), "for one image (C, H, W) use x[None], a batch of one: (1, 1, 28, 28)"),
        ((5, 28, 28), "for N grayscale images (N, H, W) use x[:, None]: (5, 1, 28, 28)"),
    ],
)
def test_the_shape_hint_fits_the_shape_at_hand(shape, hint):
    with pytest.raises(ValueError, match=re.escape(hint)):
        Conv2d(1, 8, 3)(np.zeros(shape))


@pytest.mark.parametrize(
    "channels, shape, hint",
    [
        (1, (5, 28, 28, 1), "channels-last (N, H, W, C): use x.transpose(0, 3, 1, 2): (5, 1, 28, 28)"),
        (3, (2, 32, 32, 3), "channels-last (N, H, W, C): use x.transpose(0, 3, 1, 2): (2, 3, 32, 32)"),
        (1, (28, 28, 1), "one image channels-last (H, W, C): use x.transpose(2, 0, 1)[None]: "
                         "(1, 1, 28, 28)"),
        (3, (32, 32, 3), "one image channels-last (H, W, C): use x.transpose(2, 0, 1)[None]: "
                         "(1, 3, 32, 32)"),
    ],
)  # fmt: skip
def test_channels_last_images_get_the_transpose_that_fixes_them(channels, shape, hint):
    """Images as PIL, matplotlib and TensorFlow keep them, (..., H, W, C): the error used to
    say only "got 28 channel(s)" (for (28, 28, 1) it even suggested x[:, None], a wrong fix)."""
    with pytest.raises(ValueError, match=re.escape(hint)) as err:
        Conv2d(channels, 8, 3)(np.zeros(shape))
    assert "x[:, None]" not in str(err.value)


def test_no_wrong_hint_for_a_colour_image_to_a_gray_net():
    with pytest.raises(ValueError) as err:
        Conv2d(3, 8, 3)(np.zeros((5, 28, 28)))
    assert "x[" not in str(err.value)
