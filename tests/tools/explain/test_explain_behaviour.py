"""What the attributions and attacks promise besides their formulas: where they import from,
the model left as it was, the bad inputs refused with a message naming them, the sanity
check, completeness, class images."""

import numpy as np
import pytest
from cnn_numpy.explain import (
    class_image,
    completeness_error,
    fgsm,
    grad_cam,
    integrated_gradients,
    occlusion,
    pgd,
    rank_correlation,
    saliency,
    sanity_check,
)

import cnn_numpy as cnn


@pytest.fixture
def model():
    return cnn.seed_net(3, filters=4, rng=0)  # Conv2d(1,4,3)-ReLU-MaxPool2d(2)-Flatten-Linear


@pytest.fixture
def x():
    return np.random.default_rng(1).random((2, 1, 28, 28)).astype(np.float32)


def test_imports_as_cnn_numpy_explain():
    import cnn_numpy.explain
    from cnn_numpy.explain import saliency as by_name

    from cnn_numpy import explain

    assert explain is cnn_numpy.explain and by_name is explain.saliency
    assert explain.__name__ == "cnn_numpy.tools.explain"


def test_shapes_and_dtypes(model, x):
    assert saliency(model, x).shape == (2, 1, 28, 28)
    assert grad_cam(model, x).shape == (2, 13, 13)  # the MaxPool2d's output
    assert occlusion(model, x, window=4).shape == (2, 7, 7)
    assert occlusion(model, x, window=5, stride=2).shape == (2, 12, 12)  # (28 - 5) // 2 + 1
    assert integrated_gradients(model, x, steps=4).shape == (2, 1, 28, 28)
    adv = fgsm(model, x, [0, 1], 0.1)
    assert adv.shape == x.shape and adv.dtype == np.float32
    assert grad_cam(model, x).min() >= 0  # a ReLU of the weighted maps


def test_the_model_is_left_as_it_was():
    model = cnn.deep(10, rng=0)  # BatchNorm and Dropout
    x = np.random.default_rng(2).random((4, 1, 28, 28)).astype(np.float32)
    model.train()
    for p in model.parameters():
        p.grad[...] = 0.5
    state = model.state_dict()
    first = saliency(model, x)
    for explain in (
        lambda: saliency(model, x),
        lambda: grad_cam(model, x),
        lambda: occlusion(model, x, window=14),
        lambda: integrated_gradients(model, x, steps=2),
        lambda: fgsm(model, x, [1, 2, 3, 4], 0.1),
        lambda: pgd(model, x, [1, 2, 3, 4], 0.1, 0.05, 2, rng=0),
    ):
        explain()
        assert model.training and all(layer.training for layer in model)
        assert all(np.all(p.grad == 0.5) for p in model.parameters())
        assert all(np.array_equal(v, state[k]) for k, v in model.state_dict().items())
    # eval mode: no Dropout noise, BatchNorm's running statistics, so the same answer twice
    np.testing.assert_array_equal(saliency(model, x), first)


def test_bad_inputs_are_value_errors_naming_them(model, x):
    cases = [
        (lambda: saliency(model, x, target=3), "target 3 is out of range for 3 classes"),
        (lambda: saliency(model, x, target=-1), "out of range"),
        (lambda: saliency(model, x, target=[0, 1, 2]), "one per sample"),
        (lambda: saliency(model, x, target=1.5), "target must be"),
        (lambda: saliency(model, x[0]), "shape \\(N, C, H, W\\)"),
        (lambda: saliency(model, np.full_like(x, np.nan)), "NaN"),
        (lambda: grad_cam(model, x, layer=5), "layer 5 is not in the model"),
        (lambda: grad_cam(model, x, layer=cnn.ReLU()), "not a top-level layer"),
        (lambda: grad_cam(model, x, layer=3), "not 4-D"),
        (lambda: grad_cam(model, x, layer="conv"), "layer must be"),
        (lambda: occlusion(model, x, window=29), "window 29 is larger than the image"),
        (lambda: occlusion(model, x, window=0), "window must be"),
        (lambda: occlusion(model, x, stride=0), "stride must be"),
        (lambda: integrated_gradients(model, x, steps=0), "steps must be"),
        (lambda: integrated_gradients(model, x, baseline=np.zeros(3)), "baseline"),
        (lambda: fgsm(model, x, [0, 1], -0.1), "eps must be"),
        (lambda: fgsm(model, x, [0, 5], 0.1), "labels .* out of range"),
        (lambda: fgsm(model, x, [0, 1], 0.1, clip=(1, 0)), "clip"),
        (lambda: fgsm(model, x, [0, 1], 0.1, target=7), "target 7 is out of range"),
        (lambda: pgd(model, x, [0, 1], -1, 0.1, 3), "eps must be"),
        (lambda: pgd(model, x, [0, 1], 0.1, -0.1, 3), "step_size must be"),
        (lambda: pgd(model, x, [0, 1], 0.1, 0.1, 0), "steps must be"),
        (lambda: class_image(model, 3, (1, 28, 28)), "out of range"),
        (lambda: class_image(model, 1, (28, 28)), "shape"),
        (lambda: class_image(model, 1, (1, 28, 28), steps=0), "steps must be"),
        (lambda: completeness_error(model, x, x[:1]), "attributions must be one per sample"),
        (lambda: completeness_error(model, x, 0.5), "attributions must be one per sample"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_fgsm_and_pgd_stay_in_the_ball_and_the_clip_range(model, x):
    labels = np.array([0, 2])
    adv = fgsm(model, x, labels, 0.2)
    assert adv.min() >= 0 and adv.max() <= 1 and np.abs(adv - x).max() <= 0.2 + 1e-6
    unclipped = fgsm(model, x, labels, 0.2, clip=None)
    moved = np.abs(unclipped - x)
    assert np.all(np.isclose(moved, 0.2, rtol=1e-5) | (moved == 0))  # by eps, or not at all
    assert np.mean(moved > 0) > 0.9  # (where the gradient is 0)
    inside = np.clip(x, 0.1, 0.9)  # an image inside the clip range
    far = pgd(model, inside, labels, 0.05, 0.04, 5, clip=(0.1, 0.9), rng=3)
    assert np.abs(far - inside).max() <= 0.05 + 1e-6 and far.min() >= 0.1 and far.max() <= 0.9
    assert np.array_equal(fgsm(model, x, labels, 0.0), np.clip(x, 0, 1))


def test_integrated_gradients_complete_as_steps_grow(model, x):
    errors = [
        completeness_error(model, x, integrated_gradients(model, x, steps=s)).max() for s in (2, 64)
    ]
    assert errors[1] < errors[0] and errors[1] < 0.05


def trained_lines_net():
    X, y = cnn.synthetic_lines(100, noise=0.05, rng=0)
    net = cnn.seed_net(2, rng=1)
    cnn.fit(net, cnn.CrossEntropyLoss(), cnn.Adam(net.parameters(), lr=0.01), (X, y), 3, 16,
            rng=2, callbacks=[])  # fmt: skip
    assert cnn.evaluate(net, X, y) > 0.95
    return net, X[:20]


def test_sanity_check_rank_correlation_drops_when_the_weights_are_randomised():
    net, X = trained_lines_net()
    before = net.state_dict()
    rows = sanity_check(net, X, rng=0)
    assert [name for name, _ in rows] == ["4: Linear", "0: Conv2d"]  # from the top
    assert all(r < 0.5 for _, r in rows), rows  # the maps depend on what was learned
    same = np.abs(saliency(net, X))
    assert rank_correlation(same, same) == pytest.approx(1.0)
    assert all(np.array_equal(v, before[k]) for k, v in net.state_dict().items())  # a copy


def test_rank_correlation():
    a = np.arange(10.0)
    assert rank_correlation(a, a**3) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)


def test_class_image_is_predicted_as_its_class(model):
    for target in range(3):
        image = class_image(model, target, (1, 28, 28), steps=50, rng=target)
        assert image.shape == (1, 28, 28) and cnn.predict(model, image[None])[0] == target


def test_pictures_show_grad_cam_at_the_last_map_larger_than_1x1():
    from cnn_numpy.explain import map_layer

    from cnn_numpy.tools.explain.gradcam import layer_index
    from cnn_numpy.tools.live.why_view import why

    lenet, resnet = cnn.lenet(10, rng=0), cnn.resnet(10, rng=0)
    # where the last 4-D output is a map (LeNet's MaxPool2d, 7x7), grad_cam's own default
    assert map_layer(lenet, (1, 1, 28, 28)) == layer_index(lenet, None, (1, 1, 28, 28))
    index = map_layer(resnet, (1, 1, 28, 28))
    assert resnet.output_shape((1, 1, 28, 28)) == (1, 10)
    assert index is not None and type(resnet.layers[index + 1]).__name__ == "AdaptiveAvgPool2d"
    x = np.random.default_rng(0).random((1, 1, 28, 28)).astype(np.float32)
    assert why(resnet, x, 3)["gradcam"]["shape"] == [7, 7]  # not the pooled 1x1
    assert cnn.explain.grad_cam(resnet, x, 3, layer=map_layer(resnet, x.shape)).shape == (1, 7, 7)
    assert cnn.explain.grad_cam(resnet, x, 3).shape == (1, 7, 7)  # the default, too
    assert layer_index(resnet, None, x.shape) == index
    pooled = cnn.Sequential(
        cnn.Conv2d(1, 4, 28, rng=0), cnn.ReLU(), cnn.Flatten(), cnn.Linear(4, 10, rng=0)
    )
    assert layer_index(pooled, None, x.shape) == 1  # only 1x1 maps: the last of them
    assert cnn.explain.grad_cam(pooled, x, 3).shape == (1, 1, 1)
    assert map_layer(cnn.Sequential(cnn.Flatten(), cnn.Linear(784, 10, rng=0)), x.shape) is None


def test_sanity_check_reinitialises_each_conv_of_a_residual_block_with_its_own_fan_in():
    """PyTorch's default init, U(±1/sqrt(fan_in)), for every layer inside a block too (not
    U(±1) for all of them, as for a layer without a weight of its own)."""
    from cnn_numpy.layers.base import layers_of
    from cnn_numpy.tools.explain.sanity import reinitialise

    block = cnn.resnet(10, image_size=12, width=8, rng=0)[3]  # a Residual
    reinitialise(block, np.random.default_rng(0))
    convs = [sub for sub in layers_of(block) if isinstance(sub, cnn.Conv2d)]
    assert len(convs) >= 2
    for conv in convs:
        bound = 1 / np.sqrt(np.prod(conv.weight.shape[1:]))  # 1/sqrt(8*3*3) = 0.118
        assert 0.8 * bound < np.abs(conv.weight.data).max() <= bound


def test_the_heat_maps_of_saliency_and_grad_cam_start_at_zero():
    """A Grad-CAM that is 0 everywhere (no evidence for the class) is drawn as the bottom of
    its colour map with a scale from 0, not as jet's middle green on a -0.1..0.1 bar; a
    saliency map's scale starts at 0 too, signed maps stay symmetric around 0."""
    from cnn_numpy.tools.explain.figures import heat_maps

    image = np.zeros((28, 28))
    maps = {
        "saliency": np.linspace(0.2, 1.0, 784).reshape(28, 28),
        "gradcam": np.zeros((7, 7)),
        "occlusion": np.full((7, 7), -0.5),
    }
    fig = heat_maps(image, maps, "t")
    limits = [ax.get_images()[-1].get_clim() for ax in fig.axes[1:4]]
    fig.clf()
    assert limits == [(0.0, 1.0), (0.0, 1.0), (-0.5, 0.5)]


def test_grad_cam_reads_a_data_parallel_models_module(model, x):
    # saliency took a DataParallel; grad_cam said "model must be a Sequential"
    wrapped = cnn.DataParallel(model, workers=2)  # no forward: no worker starts
    np.testing.assert_array_equal(grad_cam(wrapped, x, target=1), grad_cam(model, x, target=1))
    assert wrapped.pool == []


def test_an_explanation_gives_each_layer_back_its_own_mode(model, x):
    model.train()
    model[0].eval()  # a layer the user froze
    saliency(model, x), grad_cam(model, x)
    assert [layer.training for layer in model] == [False, True, True, True, True]


def test_class_image_that_cannot_reach_its_class_says_why_not_just_more_steps():
    """logit[0] = 2 * logit[1]: climbing class 1's logit raises class 0's twice as fast, so no
    number of steps helps; the error gives the gap instead of only 'try more steps'."""
    model = cnn.Sequential(cnn.Flatten(), cnn.Linear(4, 2, rng=0))
    w = np.ones(4, dtype=np.float32)
    model.layers[1].weight.data[...] = np.stack([2 * w, w])
    model.layers[1].bias.data[...] = 0
    with pytest.raises(ValueError) as err:
        class_image(model, 1, (1, 2, 2), steps=20, rng=0)
    message = str(err.value)
    assert "predicts 0, not 1: logit[1] is " in message and "below logit[0]" in message
    assert "help only while that gap is closing" in message
