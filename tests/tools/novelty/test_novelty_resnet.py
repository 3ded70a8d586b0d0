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
