"""The novelty score: Gaussians and distances against plain formulas, the threshold's refusal
rate on held-out images, far-away inputs refused, and the model file round trip."""

import numpy as np
import pytest
from helpers.model_files import save_with_novelty
from helpers.seed_model import trained_seed_net

import cnn_numpy as cnn
from cnn_numpy.tools.novelty import ClassGaussians, Stage, default_stages, stage_features
from cnn_numpy.tools.saving.model_files import ModelFileError, open_npz, write_npz


@pytest.fixture(scope="module")
def trained():
    """A seed net that tells vertical from horizontal lines, and its training images."""
    X, y = cnn.synthetic_lines(150, rng=0)
    model = trained_seed_net(X, y, epochs=2)
    return model, X, y


@pytest.fixture(scope="module")
def detector(trained):
    model, X, y = trained
    return cnn.fit_novelty(model, X, y, holdout=0.2, rng=0)


def test_gaussians_and_distance_match_the_formulas():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0]])
    mixing = rng.normal(size=(2, 3, 3))
    labels = rng.integers(0, 2, 4000)
    features = means[labels] + np.einsum("nd,nde->ne", rng.normal(size=(4000, 3)), mixing[labels])
    g = ClassGaussians.fit(features, labels, 2, shrinkage=0.0)
    inverses = []
    for k in range(2):
        own = features[labels == k]
        np.testing.assert_allclose(g.means[k], own.mean(axis=0))
        inverses.append(np.linalg.inv(np.cov(own.T, bias=True)))
        np.testing.assert_allclose(g.precisions[k], inverses[k], rtol=1e-6)
    queries = rng.normal(size=(7, 3)) * 4
    brute = [
        min(np.sqrt((q - m) @ p @ (q - m)) for m, p in zip(g.means, inverses)) for q in queries
    ]
    np.testing.assert_allclose(g.distance(queries), brute, rtol=1e-6)
    with pytest.raises(ValueError, match="every class needs training images"):
        ClassGaussians.fit(features, np.zeros(4000, dtype=int), 2)
    with pytest.raises(ValueError, match=r"features of shape \(N, 3\)"):
        g.distance(np.zeros((2, 4)))


def test_the_threshold_refuses_the_asked_share_of_held_out_images(trained):
    model, X, y = trained
    # 1200 other images of the same kind: distinct scores (copies of the same images tie,
    # and a quantile that falls on a tie refuses a whole group or none of it)
    X2, y2 = cnn.synthetic_lines(600, rng=1)  # 600 per class
    for rate in (0.05, 0.2):
        d = cnn.fit_novelty(model, X2, y2, holdout=0.25, refuse_rate=rate, rng=1)
        assert d.holdout_images == 300 and d.fit_images == 900
        assert abs(d.holdout_refused - rate) <= 1 / 300 + 1e-9
        assert np.isclose(np.mean(d.score(model, X2[:300]) > d.threshold), rate, atol=0.05)
    # the default: 1.5% of held-out images (chosen on the photo benchmark's fit seed,
    # docs/novelty.md)
    d = cnn.fit_novelty(model, X2, y2, holdout=0.25, rng=1)
    assert d.refuse_rate == 0.015 and abs(d.holdout_refused - 0.015) <= 1 / 300 + 1e-9


def test_far_away_images_are_refused_and_training_images_are_not(trained, detector):
    model, X, y = trained
    rng = np.random.default_rng(2)
    noise = rng.uniform(0, 1, size=(50, 1, 28, 28)).astype(np.float32)
    blobs = np.zeros((50, 1, 28, 28), dtype=np.float32)
    blobs[:, :, 6:22, 6:22] = 1.0  # a filled square, no line
    answer = cnn.predict_with_novelty(model, np.concatenate([X[:100], noise, blobs]), detector)
    assert answer.refused[:100].mean() <= 0.05
    assert answer.refused[100:].mean() >= 0.95
    assert answer.scores[100:].min() > np.percentile(answer.scores[:100], 95)


def test_predict_with_novelty_agrees_with_predict_proba(trained, detector):
    model, X, _ = trained
    answer = cnn.predict_with_novelty(model, X[:20], detector)
    np.testing.assert_allclose(answer.probabilities, cnn.predict_proba(model, X[:20]), atol=1e-6)
    assert answer.predicted.dtype == np.int64 and answer.scores.shape == (20,)
    assert answer.threshold == detector.threshold
    np.testing.assert_array_equal(answer.refused, answer.scores > detector.threshold)
    plain = cnn.predict_with_novelty(model, X[:5], None)  # no detector
    assert np.isnan(plain.scores).all() and not plain.refused.any() and plain.threshold is None
    with pytest.raises(ValueError, match="batch of images"):
        cnn.predict_with_novelty(model, np.zeros((0, 1, 28, 28)), detector)


def test_stages_are_the_conv_blocks_and_the_logits():
    assert default_stages(cnn.lenet(rng=0)) == [
        Stage(1, "channels"),
        Stage(1, "grid"),
        Stage(4, "channels"),
        Stage(4, "grid"),
        Stage(-1, "flat"),
    ]
    features, logits = stage_features(
        cnn.lenet(rng=0), np.zeros((3, 1, 28, 28), np.float32), default_stages(cnn.lenet(rng=0))
    )
    assert [f.shape for f in features] == [(3, 32), (3, 64), (3, 64), (3, 128), (3, 10)]
    np.testing.assert_array_equal(features[-1], logits)
    with pytest.raises(ValueError, match="ends with ReLU"):
        default_stages(cnn.Sequential(cnn.Flatten(), cnn.Linear(784, 10), cnn.ReLU()))


def test_features_of_chosen_rows_in_any_batch_size_are_those_of_the_rows(trained):
    model, X, _ = trained
    stages = default_stages(model)
    whole, whole_logits = stage_features(model, X, stages)
    rows = np.random.default_rng(3).permutation(len(X))[:37]
    for batch_size in (1, 8, 500):
        features, logits = stage_features(model, X, stages, batch_size, rows=rows)
        for f, g in zip(features, whole):
            assert f.dtype == np.float32 and f.shape == (37, g.shape[1])
            # float32 sums in another order (BLAS blocks by batch size): 1e-4 relative
            np.testing.assert_allclose(f, g[rows], rtol=1e-4, atol=1e-5 * np.abs(g).max())
        np.testing.assert_allclose(logits, whole_logits[rows], rtol=1e-4, atol=1e-5)


def test_fitted_on_at_most_max_images_drawn_at_random(trained):
    model, X, y = trained  # 300 images
    d = cnn.fit_novelty(model, X, y, holdout=0.2, rng=0, max_images=100)
    assert (d.fit_images, d.holdout_images) == (80, 20)
    everything = cnn.fit_novelty(model, X, y, holdout=0.2, rng=0, max_images=None)
    assert (everything.fit_images, everything.holdout_images) == (240, 60)
    # the default (20,000) uses all of a small set
    assert cnn.fit_novelty(model, X, y, holdout=0.2, rng=0).fit_images == 240
    # a random draw: another seed, other images, other class means
    other = cnn.fit_novelty(model, X, y, holdout=0.2, rng=1, max_images=100)
    assert not np.allclose(other.gaussians[0].means, d.gaussians[0].means)
    for bad in (0, 2, 2.5, True, "100"):
        with pytest.raises(ValueError, match="max_images must be a whole number >= 3"):
            cnn.fit_novelty(model, X, y, max_images=bad)


def test_bad_arguments_name_the_problem(trained):
    model, X, y = trained
    with pytest.raises(ValueError, match="holdout must be between 0 and 1"):
        cnn.fit_novelty(model, X, y, holdout=1.0)
    with pytest.raises(ValueError, match="refuse_rate must be between 0 and 1"):
        cnn.fit_novelty(model, X, y, refuse_rate=0)
    with pytest.raises(ValueError, match="every class needs training images"):
        cnn.fit_novelty(model, X[y == 0], y[y == 0])


def test_stored_in_the_model_file_and_read_back(trained, detector, tmp_path):
    model, X, _ = trained
    path = save_with_novelty(model, detector, tmp_path / "model.npz")
    again = cnn.load_novelty(path)
    assert again.threshold == detector.threshold and again.stages == detector.stages
    np.testing.assert_array_equal(again.scales, detector.scales)
    for a, b in zip(again.gaussians, detector.gaussians):
        np.testing.assert_array_equal(a.means, b.means)
        np.testing.assert_array_equal(a.precisions, b.precisions)
    loaded = cnn.load(path)  # the model ignores them
    np.testing.assert_array_equal(loaded(X[:4]), model(X[:4]))
    np.testing.assert_allclose(again.score(loaded, X[:10]), detector.score(model, X[:10]))
    cnn.save_novelty(path, detector)  # replaced, not doubled
    header, arrays = open_npz(path)
    assert sum(k.startswith("novelty/") for k in arrays) == 2 * len(detector.stages)
    assert header["novelty"]["method"] == "mahalanobis"


def test_a_model_saved_without_one_has_none(trained, tmp_path):
    model, _, _ = trained
    cnn.save(model, tmp_path / "old.npz", dataset="lines")
    assert cnn.load_novelty(tmp_path / "old.npz") is None
    other = tmp_path / "ten.npz"
    cnn.save(cnn.seed_net(10, rng=0), other)
    with pytest.raises(ValueError, match="fitted for a model with 2 classes"):
        cnn.save_novelty(other, cnn.fit_novelty(model, *cnn.synthetic_lines(30, rng=1), rng=0))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda h, a: h["novelty"].update(threshold="high"), "threshold is 'high'"),
        (lambda h, a: h["novelty"].update(version=0), "version 1 or 2 or 3"),
        (lambda h, a: a.pop("novelty/0/means"), "arrays"),
        (lambda h, a: a.update({"novelty/1/precisions": np.zeros((3, 3))}), "shapes"),
        (
            lambda h, a: a.update({"novelty/0/means": a["novelty/0/means"].astype(np.float16)}),
            "stage 0's arrays are float16 and float64, not float64",
        ),
        (lambda h, a: a["novelty/0/precisions"].fill(np.nan), "stage 0's arrays hold NaN"),
        (lambda h, a: h["novelty"]["stages"][0].update(pooling="max"), "stage 0"),
        (lambda h, a: h["novelty"]["stages"][0].update(scale=-1.0), "stage 0"),
    ],
)
def test_a_damaged_novelty_check_is_named(trained, detector, tmp_path, damage, message):
    path = save_with_novelty(trained[0], detector, tmp_path / "model.npz")
    header, arrays = open_npz(path)
    damage(header, arrays)
    write_npz(path, arrays, header)
    with pytest.raises(ModelFileError, match=f"novelty check is damaged.*{message}") as err:
        cnn.load_novelty(path)
    assert "still loads (cnn_numpy.load): fit a new check with cnn_numpy.fit_novelty" in str(
        err.value
    )  # the fix, said so that a user can follow it
    cnn.load(path)  # the model itself still loads


def test_a_nan_score_is_refused_not_trusted(trained, detector):
    model, X, _ = trained
    x = X[:3].copy()
    x[0, 0, 0, 0] = np.nan  # any NaN reaching the features makes the score NaN
    with np.errstate(invalid="ignore"):  # NumPy's warning about the NaN: expected here
        answer = cnn.predict_with_novelty(model, x, detector)
    assert np.isnan(answer.scores[0]) and answer.refused.tolist() == [True, False, False]


def test_unclean_data_and_swapped_arguments_get_clear_errors(trained, detector, tmp_path):
    model, X, y = trained
    dirty = X.copy()
    dirty[3, 0, 1, 2] = np.nan  # was an IndexError from deep inside the outlier exposure
    with pytest.raises(ValueError, match=r"fit_novelty: X holds NaN .* index \(3, 0, 1, 2\)"):
        cnn.fit_novelty(model, dirty, y, rng=0)
    with pytest.raises(ValueError, match="fit_novelty: labels must be class indices"):
        cnn.fit_novelty(model, X, y - 1, rng=0)  # was NumPy's bincount complaining of a list
    with pytest.raises(ValueError, match="fit_novelty: y must be a 1-D array of integer"):
        cnn.fit_novelty(model, X, y.astype(float), rng=0)
    with pytest.raises(ValueError, match="holdout must be between 0 and 1, got '0.2'"):
        cnn.fit_novelty(model, X, y, holdout="0.2")  # was a TypeError comparing int and str
    path = cnn.save(model, tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"comes first: save_novelty\(path, detector\)"):
        cnn.save_novelty(detector, path)


def test_a_data_parallel_model_is_read_through_its_module(trained, detector):
    # was "a novelty score needs a model that ends in its classifier ... ends with DataParallel"
    model, X, y = trained
    wrapped = cnn.DataParallel(model, workers=2)
    assert cnn.fit_novelty(wrapped, X, y, holdout=0.2, rng=0).threshold == detector.threshold
    a = cnn.predict_with_novelty(wrapped, X[:5], detector)
    np.testing.assert_array_equal(a.scores, cnn.predict_with_novelty(model, X[:5], detector).scores)


def test_novelty_scores_give_each_layer_back_its_own_mode(trained, detector):
    model, X, _ = trained
    before = [layer.training for layer in model]  # the module's fixture is shared
    model.train()
    model[0].eval()
    try:
        cnn.predict_with_novelty(model, X[:3], detector)
        assert [layer.training for layer in model][:2] == [False, True]
    finally:
        for layer, mode in zip(model, before):
            layer.training = mode
