"""cnn_numpy.transforms and fit(augment=...): what each transform does to a batch, that it is
reproducible from the seed, that only training batches are augmented, and clear errors."""

import numpy as np
import pytest

from cnn_numpy import SGD, CrossEntropyLoss, fit, seed_net, synthetic_lines
from cnn_numpy.transforms import (
    Compose,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    augmentation,
)


def batch(n=16, c=1, h=12, w=10, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32) + 1.0


ALL = [
    RandomCrop(12, padding=2),
    RandomShift(3),
    RandomHorizontalFlip(),
    RandomRotation(20),
    Compose([RandomRotation(10), RandomShift(2)]),
]


@pytest.mark.parametrize("transform", ALL, ids=repr)
def test_shape_and_dtype_are_kept_and_a_seed_repeats_the_draw(transform):
    x = batch(h=12, w=12)
    a = transform(x, np.random.default_rng(5))
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(a, transform(x, np.random.default_rng(5)))
    assert not np.array_equal(a, transform(x, np.random.default_rng(6)))
    assert np.array_equal(x, batch(h=12, w=12))  # the input is left as it was


def test_shift_moves_each_image_by_whole_pixels_and_fills_with_its_background():
    x = batch(n=40, h=9, w=9)
    out = RandomShift(2)(x, np.random.default_rng(0))
    seen = set()
    for original, moved in zip(x, out):
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(shifted(original, dy, dx, original.min()), moved)
        ]
        assert len(found) == 1
        seen.add(found[0])
    assert len(seen) > 10  # many different shifts, drawn per image


def shifted(image, dy, dx, fill):
    C, H, W = image.shape
    out = np.full_like(image, fill)
    out[:, max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = image[
        :, max(-dy, 0) : H - max(dy, 0), max(-dx, 0) : W - max(dx, 0)
    ]
    return out


def test_crop_without_padding_is_a_window_of_the_image():
    x = batch(n=8, c=3, h=10, w=10)
    out = RandomCrop((6, 7))(x, np.random.default_rng(1))
    assert out.shape == (8, 3, 6, 7)
    for original, window in zip(x, out):
        assert any(
            np.array_equal(original[:, i : i + 6, j : j + 7], window)
            for i in range(5)
            for j in range(4)
        )


def test_crop_fill_is_used_for_the_padding():
    x = batch(n=64, h=4, w=4)
    out = RandomCrop(4, padding=4, fill=-7.0)(x, np.random.default_rng(2))
    assert (out == -7.0).all(axis=(1, 2, 3)).any()  # some crops are all padding


@pytest.mark.parametrize("p, flipped", [(0.0, 0), (1.0, 32)])
def test_flip_probability(p, flipped):
    x = batch(n=32)
    out = RandomHorizontalFlip(p)(x, np.random.default_rng(3))
    assert sum(np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)) == flipped


def test_flip_mirrors_about_half_of_the_images():
    x = batch(n=400)
    out = RandomHorizontalFlip()(x, np.random.default_rng(4))
    assert 150 < sum(np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)) < 250


def test_rotation_by_zero_degrees_is_the_identity():
    x = batch(c=2)
    np.testing.assert_array_equal(RandomRotation(0)(x, np.random.default_rng(0)), x)


def test_rotation_equals_torchs_bilinear_grid_sample():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).random((6, 2, 11, 11))
    out = RandomRotation(40, fill=0.0)(x, np.random.default_rng(8))
    theta = np.deg2rad(np.random.default_rng(8).uniform(-40, 40, size=6))  # the same draw
    c, s = np.cos(theta), np.sin(theta)
    affine = torch.tensor(np.stack([np.stack([c, s, 0 * c], 1), np.stack([-s, c, 0 * c], 1)], 1))
    grid = torch.nn.functional.affine_grid(affine, x.shape, align_corners=True)
    ref = torch.nn.functional.grid_sample(
        torch.tensor(x), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-9, atol=1e-12)


def test_compose_applies_in_order_from_one_generator():
    x = batch()
    both = Compose([RandomShift(1), RandomHorizontalFlip()])(x, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    np.testing.assert_array_equal(both, RandomHorizontalFlip()(RandomShift(1)(x, rng), rng))


@pytest.mark.parametrize("name", ["shift", "crop-flip", "rotate-shift"])
@pytest.mark.parametrize("size", [28, 32])
def test_the_cli_augmentations_keep_the_image_size(name, size):
    x = batch(n=4, c=3, h=size, w=size)
    assert augmentation(name, size)(x, np.random.default_rng(0)).shape == x.shape
    assert augmentation("none", size) is None


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: RandomCrop(0), "size must be a whole number >= 1"),
        (lambda: RandomCrop("big"), "size must be a whole number or"),
        (lambda: RandomShift(-1), "max_pixels must be a whole number >= 0"),
        (lambda: RandomHorizontalFlip(1.5), "p must be a finite number"),
        (lambda: RandomRotation(float("nan")), "degrees must be a finite number"),
        (lambda: RandomRotation(-5), r"got -5: for angles from -5 to 5, degrees=5; for a"),
        # a NumPy number (np.arange(-10, 11, 5)) got only "must be a finite number >= 0"
        (lambda: RandomRotation(np.int64(-5)), r"got -5: for angles from -5 to 5, degrees=5"),
        (lambda: RandomRotation(np.float32(-2.5)), r"for angles from -2.5 to 2.5, degrees=2.5"),
        (lambda: Compose([1]), "every transform must be callable"),
        (lambda: Compose(RandomShift(2)), r"a list of transforms, e.g. Compose\(\[RandomShift"),
        (lambda: augmentation("blur", 28), "'blur' is not one of none, crop-flip"),
    ],
)
def test_bad_arguments_are_clear_errors(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_bad_batches_are_clear_errors():
    with pytest.raises(ValueError, match=r"batch of images \(N, C, H, W\)"):
        RandomShift(1)(np.zeros((28, 28)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="does not fit"):
        RandomCrop(20)(batch(h=8, w=8), np.random.default_rng(0))


def test_a_crop_larger_than_the_images_names_the_fix():
    with pytest.raises(ValueError, match=r"8x10 images padded by 1 .* size=\(10, 12\) at most"):
        RandomCrop(11, padding=1)(batch(h=8, w=10), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"or padding=3 at least"):
        RandomCrop((14, 9), padding=1)(batch(h=8, w=10), np.random.default_rng(0))


def lines_fit(augment, epochs=2, callbacks=()):
    X, y = synthetic_lines(40, rng=0)
    model = seed_net(rng=1)
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        (X[:64], y[:64]),
        epochs=epochs,
        batch_size=16,
        test=(X[64:], y[64:]),
        rng=2,
        augment=augment,
        callbacks=list(callbacks),
    )
    return model


def test_fit_augments_every_training_batch_and_never_the_test_set():
    seen = []

    def record(xb, rng):
        seen.append(xb.shape)
        return RandomShift(2)(xb, rng)

    lines_fit(record)
    assert seen == [(16, 1, 28, 28)] * 8  # 2 epochs of 4 batches; the 16 test images never


def test_fit_trains_on_what_the_augmentation_returns():
    plain, same = lines_fit(None), lines_fit(lambda xb, rng: xb)
    assert all(np.array_equal(plain.state_dict()[k], v) for k, v in same.state_dict().items())
    blank = lines_fit(lambda xb, rng: np.zeros_like(xb))
    assert not np.array_equal(blank.state_dict()["0.weight"], plain.state_dict()["0.weight"])


def test_fit_with_augmentation_is_reproducible_from_its_seed():
    a, b = lines_fit(RandomRotation(15)), lines_fit(RandomRotation(15))
    assert all(np.array_equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_fit_refuses_an_augmentation_that_is_not_callable():
    with pytest.raises(ValueError, match="augment must be None or a transform"):
        lines_fit("crop-flip")


def test_a_transform_class_for_an_instance_is_named_with_the_fix():
    """augment=RandomShift (the class, not RandomShift(2)) would be called as
    RandomShift(batch, rng) and complain of max_pixels=array(...)."""
    with pytest.raises(ValueError, match=r"got the class RandomShift; make one, e.g. RandomShift"):
        lines_fit(RandomShift)
    with pytest.raises(ValueError, match=r"got the class RandomHorizontalFlip; make one"):
        Compose([RandomShift(2), RandomHorizontalFlip])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_rotation_keeps_the_dtype_and_matches_a_loop_over_pixels(dtype):
    x = (np.random.default_rng(10).random((5, 2, 7, 9)) * 200).astype(dtype)
    out = RandomRotation(30, fill=0.0)(x, np.random.default_rng(11))
    angles = np.deg2rad(np.random.default_rng(11).uniform(-30, 30, size=5))  # the same draw
    assert out.dtype == x.dtype
    expected = np.zeros(x.shape)
    for n, theta in enumerate(angles):  # the definition, one output pixel at a time
        for i in range(7):
            for j in range(9):
                di, dj = i - 3, j - 4  # about the centre (3, 4)
                y = np.cos(theta) * di - np.sin(theta) * dj + 3
                x_ = np.sin(theta) * di + np.cos(theta) * dj + 4
                y0, x0 = int(np.floor(y)), int(np.floor(x_))
                for a, b, weight in [
                    (y0, x0, (1 - (y - y0)) * (1 - (x_ - x0))),
                    (y0, x0 + 1, (1 - (y - y0)) * (x_ - x0)),
                    (y0 + 1, x0, (y - y0) * (1 - (x_ - x0))),
                    (y0 + 1, x0 + 1, (y - y0) * (x_ - x0)),
                ]:
                    if 0 <= a < 7 and 0 <= b < 9:  # outside: fill 0
                        expected[n, :, i, j] += weight * x[n, :, a, b].astype(float)
    # float32: a few ulps of 200; uint8: rounded to the nearest whole number (as torchvision's
    # rotate), not truncated, which would make the rotated images darker on average
    tolerance = {np.float64: 1e-9, np.float32: 1e-3, np.uint8: 0.5 + 1e-3}[dtype]
    np.testing.assert_allclose(out.astype(float), expected, atol=tolerance)
    assert abs((out.astype(float) - expected).mean()) < {np.uint8: 0.1}.get(dtype, 1e-3)


@pytest.mark.parametrize(
    "broken", [lambda xb, rng: None, lambda xb, rng: xb[:-1], lambda xb, rng: xb[0]]
)
def test_fit_names_an_augmentation_that_does_not_return_the_batch(broken):
    with pytest.raises(ValueError, match=r"fit: augment .* turned a batch of shape \(16, 1, 28"):
        lines_fit(broken, epochs=1)


def test_a_range_of_degrees_turns_counter_clockwise_as_torchvision():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    turned = RandomRotation((90, 90), fill=0.0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(turned, np.rot90(x, 1, axes=(2, 3)), atol=1e-9)
    back = RandomRotation((-90.0, -90.0), fill=0.0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(back, np.rot90(x, -1, axes=(2, 3)), atol=1e-9)
    # a symmetric range draws as the plain number does, image by image
    x = np.random.default_rng(1).random((6, 1, 8, 8))
    np.testing.assert_array_equal(
        RandomRotation((-20, 20))(x, np.random.default_rng(3)),
        RandomRotation(20)(x, np.random.default_rng(3)),
    )
    with pytest.raises(ValueError, match="needs min <= max"):
        RandomRotation((10, -10))


def test_one_image_is_told_to_become_a_batch_of_one():
    # torchvision's transforms take one image; these take batches
    with pytest.raises(ValueError, match=r"one image \(C, H, W\)\? pass image\[None\]"):
        RandomRotation(10)(np.zeros((1, 8, 8)), np.random.default_rng(0))


@pytest.mark.parametrize(
    "make",
    [
        lambda fill: RandomCrop(6, padding=3, fill=fill),
        lambda fill: RandomShift(3, fill=fill),
        lambda fill: RandomRotation((45, 45), fill=fill),
    ],
    ids=["crop", "shift", "rotation"],
)
def test_a_fill_is_a_value_of_whole_number_images_never_wrapped(make):
    """uint8 images padded with fill=300 once came back padded with 44 (300 mod 256), and
    fill=-1 with 255: a fill outside the dtype's range is refused, one inside is used as is."""
    batch = np.full((2, 1, 6, 6), 100, dtype=np.uint8)
    for fill in (300, -1, 0.5):
        with pytest.raises(ValueError, match=r"fill=.* uint8 images .*from 0 to 255"):
            make(fill)(batch, 0)
    filled = make(255)(batch, 0)
    assert filled.dtype == np.uint8 and filled.max() == 255  # the fill shows, as given
    floats = make(300)(batch.astype(np.float32), 0)  # any real fill for float images
    assert floats.max() == 300
