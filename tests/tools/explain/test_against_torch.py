"""Every function of cnn_numpy.explain against PyTorch autograd on the same weights (float64),
the torch twin built from state_dict (helpers.torch_twin)."""

import numpy as np
import pytest
from cnn_numpy.explain import (
    class_image,
    fgsm,
    grad_cam,
    integrated_gradients,
    occlusion,
    pgd,
    saliency,
)
from helpers import assert_close
from helpers.torch_twin import to_torch

import cnn_numpy as cnn

torch = pytest.importorskip("torch")
RTOL = 1e-9


SHAPE = (3, 2, 12, 12)  # small images, two channels: quick, and the channel axis is tested


def models():
    """A small conv net, and one with BatchNorm (running statistics) and Dropout; float64."""
    f64 = dict(dtype=np.float64)
    plain = cnn.Sequential(
        cnn.Conv2d(2, 4, 3, padding=1, rng=0, **f64),
        cnn.ReLU(),
        cnn.MaxPool2d(2),
        cnn.Conv2d(4, 6, 3, rng=1, **f64),
        cnn.Tanh(),
        cnn.Flatten(),
        cnn.Linear(6 * 4 * 4, 10, rng=2, **f64),
    )
    normed = cnn.Sequential(
        cnn.Conv2d(2, 4, 3, padding=1, bias=False, rng=0, **f64),
        cnn.BatchNorm2d(4, **f64),
        cnn.ReLU(),
        cnn.AvgPool2d(2),
        cnn.Flatten(),
        cnn.Linear(4 * 6 * 6, 16, rng=1, **f64),
        cnn.BatchNorm1d(16, **f64),
        cnn.ReLU(),
        cnn.Dropout(0.5, rng=2),
        cnn.Linear(16, 10, rng=3, **f64),
    )
    stats = np.random.default_rng(2)
    for name, b in normed.named_buffers():
        b[...] = (
            stats.uniform(0.5, 2.0, b.shape) if "var" in name else stats.normal(0, 0.3, b.shape)
        )
    return {"plain": plain, "normed": normed}


@pytest.fixture(params=["plain", "normed"])
def pair(request):
    model = models()[request.param]
    model.train()  # explained in eval mode, left in train mode
    return model, to_torch(model).eval()


@pytest.fixture
def x():
    return np.random.default_rng(3).random(SHAPE)


def torch_input_grad(twin, x, of_logits):
    """d of_logits(twin(x)) / dx, by autograd."""
    xt = torch.tensor(x, requires_grad=True)
    of_logits(twin(xt)).backward()
    return xt.grad.numpy()


def picked(target):
    return lambda out: out[torch.arange(out.shape[0]), torch.as_tensor(target)].sum()


def predicted(twin, x):
    return twin(torch.tensor(x)).argmax(1).numpy()


@pytest.mark.parametrize("target", [None, 4, np.array([0, 9, 2])])
def test_saliency(pair, x, target):
    model, twin = pair
    t = predicted(twin, x) if target is None else target
    expected = torch_input_grad(twin, x, picked(t))
    assert_close(saliency(model, x, target), expected, "saliency", rtol=RTOL, atol=0)
    assert model.training  # restored


def output_shapes(model, shape):
    shapes = []
    for sub in model:
        shape = sub.output_shape(shape)
        shapes.append(shape)
    return shapes


@pytest.mark.parametrize("layer", [None, 0, 2, -6, "the ReLU object"])
def test_grad_cam(pair, x, layer):
    model, twin = pair
    shapes = output_shapes(model, x.shape)
    if layer is None:  # the default: the last top-level layer with a 4-D output
        index = max(i for i, s in enumerate(shapes) if len(s) == 4)
    elif isinstance(layer, str):
        index = next(i for i, sub in enumerate(model) if isinstance(sub, cnn.ReLU))
        layer = model[index]
    else:
        index = layer % len(model)
    if len(shapes[index]) != 4:
        with pytest.raises(ValueError, match="not 4-D"):
            grad_cam(model, x, layer=layer)
        return
    t = predicted(twin, x)
    A = twin[: index + 1](torch.tensor(x)).detach().requires_grad_(True)
    picked(t)(twin[index + 1 :](A)).backward()
    alpha = A.grad.mean(dim=(2, 3), keepdim=True)
    expected = torch.relu((alpha * A).sum(1)).detach().numpy()
    cam = grad_cam(model, x, layer=layer)
    assert cam.shape == (3, *shapes[index][2:])
    assert_close(cam, expected, "grad_cam", rtol=RTOL, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("window, stride, fill", [(4, None, 0.0), (5, 3, -0.5), (12, None, 1.0)])
def test_occlusion(pair, x, window, stride, fill):
    model, twin = pair
    s = stride or window
    with torch.no_grad():
        p = torch.softmax(twin(torch.tensor(x)), 1).numpy()
        t = p.argmax(1)
        rows = (12 - window) // s + 1
        expected = np.zeros((3, rows, rows))
        for i in range(rows):
            for j in range(rows):
                hidden = x.copy()
                hidden[:, :, i * s : i * s + window, j * s : j * s + window] = fill
                q = torch.softmax(twin(torch.tensor(hidden)), 1).numpy()
                expected[:, i, j] = p[np.arange(3), t] - q[np.arange(3), t]
    got = occlusion(model, x, window=window, stride=stride, fill=fill)
    assert_close(got, expected, "occlusion", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("baseline, steps", [(None, 8), (0.25, 5)])
def test_integrated_gradients(pair, x, baseline, steps):
    model, twin = pair
    b = np.zeros_like(x) if baseline is None else np.full_like(x, baseline)
    t = predicted(twin, x)
    total = sum(
        torch_input_grad(twin, b + (k / steps) * (x - b), picked(t)) for k in range(1, steps + 1)
    )
    expected = (x - b) * total / steps
    got = integrated_gradients(model, x, baseline=baseline, steps=steps)
    assert_close(got, expected, "integrated_gradients", rtol=RTOL, atol=0)


def cross_entropy(labels):
    return lambda out: torch.nn.functional.cross_entropy(
        out, torch.as_tensor(labels), reduction="sum"
    )


@pytest.mark.parametrize("clip", [(0.0, 1.0), None])
@pytest.mark.parametrize("target", [None, 3])
def test_fgsm(pair, x, clip, target):
    model, twin = pair
    labels = np.array([1, 2, 7])
    aim = labels if target is None else np.full(3, target)
    g = torch_input_grad(twin, x, cross_entropy(aim))
    sign = 1 if target is None else -1
    expected = x + sign * 0.1 * np.sign(g)
    expected = expected if clip is None else np.clip(expected, *clip)
    assert_close(fgsm(model, x, labels, 0.1, clip=clip, target=target), expected, "fgsm")


@pytest.mark.parametrize("random_start", [False, True])
@pytest.mark.parametrize("target", [None, 5])
def test_pgd(pair, x, random_start, target):
    model, twin = pair
    labels, eps, step, steps = np.array([1, 2, 7]), 0.08, 0.03, 4
    aim = labels if target is None else np.full(3, target)
    adv = x.copy()
    if random_start:
        adv = np.clip(x + np.random.default_rng(11).uniform(-eps, eps, x.shape), 0, 1)
    for _ in range(steps):
        g = torch_input_grad(twin, adv, cross_entropy(aim))
        adv = adv + (1 if target is None else -1) * step * np.sign(g)
        adv = np.clip(np.clip(adv, x - eps, x + eps), 0, 1)
    got = pgd(model, x, labels, eps, step, steps, target=target, rng=11 if random_start else None)
    assert_close(got, adv, "pgd")
    assert np.abs(got - x).max() <= eps + 1e-12 and got.min() >= 0 and got.max() <= 1


def test_class_image_follows_torch_and_reaches_its_class():
    model = cnn.lenet(10, rng=0)  # float32, as a user's model
    twin = to_torch(model).eval()
    image = class_image(model, 6, (1, 28, 28), steps=6, lr=0.5, l2=0.01, rng=4)
    x = torch.tensor(
        0.01 * np.random.default_rng(4).standard_normal((1, 1, 28, 28)).astype(np.float32),
        dtype=torch.float64,
    )
    for _ in range(6):
        x.requires_grad_(True)
        (twin(x)[0, 6] - 0.01 * (x * x).sum()).backward()
        with torch.no_grad():
            x = (x + 0.5 * x.grad / x.grad.norm()).float().double()
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert_close(image, x.detach().numpy()[0], "class_image", rtol=1e-4, atol=1e-5)
    image = class_image(model, 3, (1, 28, 28), steps=100, rng=3)
    assert cnn.predict(model, image[None])[0] == 3


def test_float64_input_explains_a_float32_model_in_float64(x):
    """Layers cast their input to their weights' dtype; the explanation follows x instead, on
    a float64 copy (the float32 model itself is left alone)."""
    model = cnn.deep(10, rng=0, in_channels=2, image_size=12)  # float32, BatchNorm, Dropout
    twin = to_torch(model).eval()  # float64 copies of the same float32 numbers
    before = model.state_dict()
    t = predicted(twin, x)
    expected = torch_input_grad(twin, x, picked(t))
    got = saliency(model, x)
    assert got.dtype == np.float64
    assert_close(got, expected, "saliency of a float32 model", rtol=RTOL, atol=0)
    labels = np.array([1, 2, 7])
    g = torch_input_grad(twin, x, cross_entropy(labels))
    assert_close(fgsm(model, x, labels, 0.1), np.clip(x + 0.1 * np.sign(g), 0, 1), "fgsm")
    assert all(v.dtype == np.float32 for v in model.state_dict().values() if v.dtype.kind == "f")
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
    cam = grad_cam(model, x, layer=model[2])  # a layer object of the original model
    assert cam.dtype == np.float64 and cam.shape == (3, 12, 12)


def test_a_float32_model_with_blocks_is_explained_in_float64_all_through():
    """float64 input to a float32 ResNet: every layer, those inside its residual blocks too,
    runs in float64 (on a copy), so the answer is autograd's to float64 precision."""
    model = cnn.resnet(10, image_size=12, width=4, rng=0)  # float32, as a user's model
    twin = to_torch(model).eval()
    x = np.random.default_rng(3).random((2, 1, 12, 12))
    expected = torch_input_grad(twin, x, picked(predicted(twin, x)))
    assert_close(saliency(model, x), expected, "saliency", rtol=RTOL, atol=0)
    assert {p.data.dtype for p in model.parameters()} == {np.dtype(np.float32)}  # not changed
