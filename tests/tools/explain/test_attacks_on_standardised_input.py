"""The attacks' default clip is [0, 1], pixel units.  An image standardised (MNIST's mean
0.1307, std 0.3081: background -0.42, ink 2.82) and attacked with that default was clipped
into [0, 1]: pixels moved by up to 1.8 for an eps of 0.1, and the accuracy "under attack"
measured the clip.  Now a ValueError says to pass eps and clip in the input's units."""

import numpy as np
import pytest
from cnn_numpy.explain import AdversarialTraining, fgsm, pgd, pixel_units

import cnn_numpy as cnn

STATS = {"mean": 0.1307, "std": 0.3081}


@pytest.fixture
def data():
    X, y = cnn.synthetic_lines(8, noise=0.05, rng=0)  # (16, 1, 28, 28) in [0, 1]
    return cnn.normalize(X, **STATS), y


@pytest.mark.parametrize(
    "attack",
    [
        lambda m, x, y, **kw: fgsm(m, x, y, 0.1, **kw),
        lambda m, x, y, **kw: pgd(m, x, y, 0.1, 0.02, 3, rng=0, **kw),
    ],
    ids=["fgsm", "pgd"],
)
def test_standardised_input_with_the_pixel_clip_is_refused_and_pixel_units_work(data, attack):
    x, y = data
    model = cnn.seed_net(2, rng=0)
    with pytest.raises(ValueError, match=r"outside clip \(0, 1\).*pixel_units"):
        attack(model, x, y)
    eps, clip = pixel_units(0.1, STATS)
    x_adv = attack(model, x, y, clip=clip)  # eps 0.1 in the model's units here: fine
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-5
    assert attack(model, x, y, clip=None).shape == x.shape
    pixels = x * STATS["std"] + STATS["mean"]  # in pixel units the default clip fits
    assert np.abs(attack(model, pixels.astype(np.float32), y) - pixels).max() <= 0.1 + 1e-5


def test_adversarial_training_refuses_the_pixel_clip_on_standardised_batches(data):
    x, y = data
    model = cnn.seed_net(2, rng=0)
    adv = AdversarialTraining(model, eps=0.1, attack="fgsm")  # clip (0, 1): pixel units
    with pytest.raises(ValueError, match="AdversarialTraining: x has values from -0.424"):
        cnn.fit(adv.model, adv.loss, cnn.SGD(model.parameters(), lr=0.01), (x, y), epochs=1,
                batch_size=8, rng=0, callbacks=[])  # fmt: skip
    eps, clip = pixel_units(0.1, STATS)
    adv = AdversarialTraining(model, eps=eps, attack="fgsm", clip=clip)
    cnn.fit(adv.model, adv.loss, cnn.SGD(model.parameters(), lr=0.01), (x, y), epochs=1,
            batch_size=8, rng=0, callbacks=[])  # fmt: skip
