"""The presets' errors: a net too deep for its images says what fits; a bad count is named."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnn_numpy.presets import deep, lenet, resnet, seed_net, seed_net_min_size


@pytest.mark.parametrize(
    "blocks, size, says",
    [
        (
            1,
            3,
            "1 block shrinks a 3x3 image to nothing (after block 1); it takes images of at least 4x4",
        ),
        (2, 8, "use 1 block at most, or give images of at least 10x10"),
        (4, 28, "use 3 blocks at most, or give images of at least 46x46"),
    ],
)
def test_a_seed_net_too_deep_for_its_images_names_what_fits(blocks, size, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        seed_net(blocks=blocks, image_size=size)
    seed_net(blocks=blocks, image_size=seed_net_min_size(blocks))  # the size it names fits


@pytest.mark.parametrize("preset", [seed_net, lenet, deep, resnet])
@pytest.mark.parametrize(
    "argument, value", [("num_classes", 0), ("num_classes", 2.5), ("in_channels", 0)]
)
def test_a_bad_class_or_channel_count_is_named_as_the_presets_argument(preset, argument, value):
    """Not as the Linear's out_features or the Conv2d's in_channels it would become."""
    name = "seed_net" if preset is seed_net else preset.__name__
    with pytest.raises(ValueError, match=rf"^{name}: {argument} must be a whole number >= 1"):
        preset(**{argument: value})


@pytest.mark.parametrize("preset", [seed_net, lenet, deep, resnet])
def test_the_presets_take_numpy_integers_for_the_counts(preset):
    model = preset(num_classes=np.int64(3), in_channels=np.int64(2), rng=0)
    assert model(np.zeros((2, 2, 28, 28), np.float32)).shape == (2, 3)
