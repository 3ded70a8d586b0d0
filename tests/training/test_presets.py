"""The presets' errors: a net too deep for its images says what fits."""

from __future__ import annotations

import re

import pytest

from cnn_numpy.presets import seed_net, seed_net_min_size


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
