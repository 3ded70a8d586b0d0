"""The novelty features of a resnet: read after the stem and after each residual block (the
ReLU after the sum), and the logits."""

import numpy as np

import cnn_numpy as cnn
from cnn_numpy.tools.novelty.features import Stage, default_stages, stage_features


def test_a_resnets_stages_are_the_stem_and_each_blocks_output():
    model = cnn.resnet(rng=0)
    stages = default_stages(model)
    assert [s.layer for s in stages if s.pooling == "channels"] == [2, 4, 6]
    assert isinstance(model[3], cnn.Residual) and isinstance(model[4], cnn.ReLU)
    assert stages[-1] == Stage(-1, "flat")


def test_a_resnets_features_have_one_row_per_image():
    model = cnn.resnet(rng=0)
    X = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    features, logits = stage_features(model, X, default_stages(model), batch_size=2)
    assert [f.shape for f in features] == [
        (5, 32),
        (5, 64),
        (5, 64),
        (5, 128),
        (5, 128),
        (5, 256),
        (5, 10),
    ]
    np.testing.assert_allclose(logits, model.eval()(X), rtol=1e-5, atol=1e-6)


def test_fit_novelty_works_on_a_resnet():
    model = cnn.resnet(2, rng=0)
    X, y = cnn.synthetic_lines(30, rng=0)
    detector = cnn.fit_novelty(model, X, y, rng=0)
    assert np.isfinite(detector.threshold)


def test_a_resnet_whose_last_maps_are_one_pixel_gets_finite_features():
    """--blocks 5 on 32x32 (or 2 on 4x4) ends at 1x1 maps: their 2x2 grid of quarters once
    had empty halves, so every feature and the threshold were nan ("score above nan
    refused") and nothing was ever refused. A one-pixel row or column is both its halves."""
    model = cnn.resnet(2, image_size=4, rng=0)
    X, y = cnn.synthetic_lines(20, rng=0)
    X = X[:, :, 12:16, 12:16]  # 4x4: the last stage is 1x1
    features, _ = stage_features(model, X, default_stages(model))
    assert all(np.isfinite(f).all() for f in features)
    grid = [f for f, s in zip(features, default_stages(model)) if s.pooling == "grid"][-1]
    one = model.eval()[:7](X)  # (N, 64, 1, 1): each quarter is that pixel
    np.testing.assert_allclose(grid, np.repeat(one.reshape(len(X), -1), 4, axis=1), rtol=1e-6)
    detector = cnn.fit_novelty(model, X, y, rng=0)
    assert np.isfinite(detector.threshold)
