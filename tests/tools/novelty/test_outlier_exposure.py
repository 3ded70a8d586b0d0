"""Outlier exposure: outliers made from the training images, the logistic regression that
weighs the clues against them (checked against a known model), the clipping, and the learned
combination in the model file (round trip, old files, damaged values)."""

import numpy as np
import pytest
from helpers.seed_model import trained_seed_net

import cnn_numpy as cnn
from cnn_numpy.tools.novelty import outliers
from cnn_numpy.tools.novelty.combine import clue_names, clues, fit_combination
from cnn_numpy.tools.novelty.storage import VERSION
from cnn_numpy.tools.saving.model_files import ModelFileError, open_npz, write_npz


def strokes(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Digit-like images: class 0 an upright stroke with a foot, class 1 a stroke across
    with a hook, drawn at random places and lengths, MNIST's background (-0.42) and ink."""
    X = np.full((2 * count, 1, 28, 28), -0.42, np.float32)
    for i in range(2 * count):
        r, c, n = rng.integers(6, 10), rng.integers(10, 16), rng.integers(10, 14)
        if i < count:
            X[i, 0, r : r + n, c : c + 2] = 2.8  # the stroke
            X[i, 0, r + n - 2 : r + n, c : c + 6] = 2.8  # its foot
        else:
            X[i, 0, c : c + 2, r : r + n] = 2.8
            X[i, 0, c - 4 : c, r + n - 2 : r + n] = 2.8  # the hook
    X += rng.normal(0, 0.05, X.shape).astype(np.float32)  # no two alike
    return X, np.repeat([0, 1], count)


def test_made_outliers_differ_from_their_sources_and_keep_their_frame():
    rng = np.random.default_rng(0)
    X, y = strokes(60, rng)
    made = outliers.make_outliers(X, y, 120, rng)
    assert made.dtype == X.dtype and made.shape[1:] == X.shape[1:] and 60 < len(made) <= 120
    assert made.min() >= X.min() - 1e-6 and made.max() <= X.max() + 0.1 * np.ptp(X)  # their range

    # hardly any made-up outlier is (nearly) a training image: a turned stroke can land on
    # the other class's, as a turned 6 on a 9
    def flat(a):
        return a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(axis=1, keepdims=True)

    m, x = flat(made), flat(X)
    similar = (m @ x.T) / np.outer(np.linalg.norm(m, axis=1), np.linalg.norm(x, axis=1))
    assert (similar.max(axis=1) > 0.95).mean() < 0.1
    # each kind changes a plain stroke, and reframing puts the ink where the source had it
    a = X[:8] - X.min()
    for kind, make in outliers.MAKERS.items():
        changed = outliers.reframe(make(a.astype(np.float64), a[::-1].astype(np.float64), rng), a)
        assert (outliers.correlation(changed, a) < 0.9).mean() > 0.5, kind
        (r, c), (r2, c2) = outliers.mass_centres(changed), outliers.mass_centres(a)
        assert np.abs(r - r2).max() <= 2.5 and np.abs(c - c2).max() <= 2.5, kind


def test_a_transform_that_leaves_an_image_as_it_was_makes_no_outlier():
    ring = np.full((40, 1, 28, 28), 0.0, np.float32)
    rows, cols = np.indices((28, 28))
    ring[:, 0] = (np.abs(np.hypot(rows - 13.5, cols - 13.5) - 7) < 1.5) * 1.0  # a round 0
    y = np.arange(40) % 2
    made = outliers.make_outliers(ring, y, 40, np.random.default_rng(0))
    # turned or mirrored, a ring is a ring: only the halves, quarters and overlays are kept
    assert len(made) <= 30
    with pytest.raises(ValueError, match="two classes"):
        outliers.make_outliers(ring, np.zeros(40, int), 10, np.random.default_rng(0))


def test_bilinear_reads_pixels_between_and_zero_outside():
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (3, 2, 5, 6))
    rows, cols = np.indices((5, 6), dtype=np.float64)

    def at(dr, dc):
        return outliers.bilinear(images, np.stack([rows + dr] * 3), np.stack([cols + dc] * 3))

    np.testing.assert_allclose(at(0, 0), images)
    np.testing.assert_allclose(at(0, 0.5)[..., :-1], (images[..., :-1] + images[..., 1:]) / 2)
    np.testing.assert_allclose(at(0, -1)[..., 1:], images[..., :-1])
    np.testing.assert_allclose(at(0, -1)[..., 0], 0.0)  # read from outside: zero


def test_the_regression_recovers_a_known_logistic_model():
    rng = np.random.default_rng(0)
    true_w, true_b = np.array([1.5, 0.0, 0.8, -1.0]), -0.3
    z = rng.normal(size=(40000, 4))
    label = rng.uniform(size=40000) < 1 / (1 + np.exp(-(z @ true_w + true_b)))
    names = clue_names(2)  # two distances, then margin and energy
    c = fit_combination(z[~label], z[label], names)
    # weights of standardised clues: undo the standardisation to compare
    w = c.weights / c.std
    b = c.bias - (c.mean / c.std) @ c.weights
    # the fit weighs both sides equally: the bias moves by log(outliers / inliers)
    shift = np.log(label.mean() / (1 - label.mean()))
    np.testing.assert_allclose(w, true_w, atol=0.06)
    assert abs(b + shift - true_b) < 0.06


def test_a_distance_never_counts_for_an_image_and_big_logits_are_clipped():
    rng = np.random.default_rng(1)
    inliers, made = rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4))
    made[:, 0] += 2.0  # farther at stage 0: outliers
    made[:, 1] -= 1.0  # *nearer* at stage 1: a fluke of the made-up set, not to be learned
    made[:, 3] -= 1.0  # lower energy
    c = fit_combination(inliers, made, clue_names(2))
    assert c.weights[0] > 0 and c.weights[1] == 0.0 and c.weights[3] < 0
    base = np.zeros((1, 4))
    huge = base.copy()
    huge[0, 3] = 1e6  # a logit far beyond any seen: counts only as much as the largest seen
    edge = base.copy()
    edge[0, 3] = c.high[3]
    assert c.score(huge)[0] == c.score(edge)[0] and (c.score(base) > 0).all()
    far = base.copy()
    far[0, 0] = 50.0  # a distance far beyond any seen still counts in full
    assert c.score(far)[0] > 10 * c.score(base)[0]


def test_clues_are_the_log_distances_and_the_logits_gap_and_logsumexp():
    scores = np.array([[1.0, np.e], [0.5, 2.0]])
    logits = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 1000.0]])
    got = clues(scores, logits)
    np.testing.assert_allclose(got[:, :2], np.log(scores))
    np.testing.assert_allclose(got[:, 2], [2.0, 1000.0])
    np.testing.assert_allclose(got[0, 3], np.log(np.exp(logits[0]).sum()))
    assert np.isclose(got[1, 3], 1000.0)  # no overflow


@pytest.fixture(scope="module")
def trained():
    X, y = strokes(150, np.random.default_rng(2))
    model = trained_seed_net(X, y, epochs=3)
    return model, X, y


def test_made_outliers_score_above_the_training_images(trained):
    model, X, y = trained
    detector = cnn.fit_novelty(model, X, y, holdout=0.5, rng=0)
    assert detector.combination is not None
    assert detector.combination.names == clue_names(len(detector.stages))
    assert abs(detector.holdout_refused - detector.refuse_rate) <= 1 / 150 + 1e-9
    fresh, labels = strokes(100, np.random.default_rng(3))  # unseen strokes
    made = outliers.make_outliers(fresh, labels, 200, np.random.default_rng(4))
    inside, outside = detector.score(model, fresh), detector.score(model, made)
    # AUROC: how often a made-up outlier scores above an unseen stroke
    assert (outside[:, None] > inside[None, :]).mean() > 0.9
    assert (inside > detector.threshold).mean() < 0.08
    # the stages' plain root mean square, kept with learn=False, orders them less well
    plain = cnn.fit_novelty(model, X, y, holdout=0.5, rng=0, learn=False)
    assert plain.combination is None
    plain_auroc = (plain.score(model, made)[:, None] > plain.score(model, fresh)[None, :]).mean()
    assert (outside[:, None] > inside[None, :]).mean() >= plain_auroc - 0.02


def save_with(model, detector, path):
    cnn.save(model, path, dataset="lines", class_names=["a", "b"], input_shape=[1, 28, 28])
    cnn.save_novelty(path, detector)
    return path


def test_the_combination_is_stored_and_read_back(trained, tmp_path):
    model, X, y = trained
    detector = cnn.fit_novelty(model, X, y, holdout=0.5, rng=0)
    path = save_with(model, detector, tmp_path / "m.npz")
    header, _ = open_npz(path)
    assert header["novelty"]["version"] == VERSION == 2
    again = cnn.load_novelty(path)
    for name in ("low", "high", "mean", "std", "weights"):
        np.testing.assert_array_equal(
            getattr(again.combination, name), getattr(detector.combination, name)
        )
    assert again.combination.bias == detector.combination.bias
    np.testing.assert_array_equal(again.score(model, X[:20]), detector.score(model, X[:20]))


def test_a_file_with_the_older_check_still_loads_and_predicts(trained, tmp_path):
    model, X, y = trained
    old = cnn.fit_novelty(model, X, y, holdout=0.5, rng=0, learn=False)
    path = save_with(model, old, tmp_path / "old.npz")
    header, _ = open_npz(path)
    assert header["novelty"]["version"] == 1 and "combination" not in header["novelty"]
    again = cnn.load_novelty(path)
    assert again.combination is None
    answer = cnn.predict_with_novelty(model, X[:30], again)
    np.testing.assert_allclose(answer.scores, old.score(model, X[:30]))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda c: c.update(clues=["log r0"]), "does not weigh the clues"),
        (lambda c: c.update(weights=c["weights"][:-1]), "weights is"),
        (lambda c: c["mean"].__setitem__(0, "0.1"), "mean is"),
        (lambda c: c["std"].__setitem__(1, 0.0), "std is not positive"),
        (lambda c: c.update(low=[v + 1e7 for v in c["high"]]), "low above its high"),
        (lambda c: c.update(bias="big"), "bias is 'big'"),
        (lambda c: c.update(weights=[True] * len(c["weights"])), "weights is"),
        (lambda c: c.clear(), "does not weigh the clues"),
    ],
)
def test_a_damaged_combination_is_named(trained, tmp_path, damage, message):
    model, X, y = trained
    path = save_with(model, cnn.fit_novelty(model, X, y, holdout=0.5, rng=0), tmp_path / "m.npz")
    header, arrays = open_npz(path)
    damage(header["novelty"]["combination"])
    write_npz(path, arrays, header)
    with pytest.raises(ModelFileError, match=f"novelty check is damaged.*{message}"):
        cnn.load_novelty(path)
    header["novelty"].pop("combination")  # version 2 without one: damaged too
    write_npz(path, arrays, header)
    with pytest.raises(ModelFileError, match="novelty check is damaged"):
        cnn.load_novelty(path)
    cnn.load(path)  # the model itself still loads


def test_colour_and_oblong_images_make_outliers_too():
    rng = np.random.default_rng(6)
    colour = rng.uniform(0, 1, (40, 3, 32, 32)).astype(np.float32)
    colour[:, :, 8:24, 12:20] += 2.0  # a bright patch on noise
    made = outliers.make_outliers(colour, np.arange(40) % 4, 60, rng)
    assert made.shape[1:] == (3, 32, 32) and len(made) > 30
    oblong = np.zeros((30, 1, 20, 28), np.float32)
    oblong[:, 0, 4:16, 6:9] = 1.0  # turned 90 degrees it would not fit: mirrored only
    oblong[:, 0, 4:7, 6:20] = 1.0
    made = outliers.make_outliers(oblong, np.arange(30) % 2, 40, rng)
    assert made.shape[1:] == (1, 20, 28)


def test_too_few_held_out_images_keep_the_plain_score(trained):
    model, X, y = trained
    few = cnn.fit_novelty(model, X[::10], y[::10], holdout=0.3, rng=0)  # 9 held out
    assert few.combination is None and few.holdout_images < 20
    np.testing.assert_allclose(
        few.score(model, X[:5]),
        cnn.fit_novelty(model, X[::10], y[::10], holdout=0.3, rng=0, learn=False).score(
            model, X[:5]
        ),
    )


def test_held_out_images_of_one_class_keep_the_plain_score(trained):
    from cnn_numpy.tools.novelty.exposure import learn_combination
    from cnn_numpy.tools.novelty.features import stage_features

    model, X, y = trained
    plain = cnn.fit_novelty(model, X, y, holdout=0.5, rng=0, learn=False)
    images, labels = X[:40], np.zeros(40, dtype=int)
    # the one image of class 1 lands in the half the threshold is set on, not the half the
    # weights learn from: no outliers of two classes can be made there
    labels[np.random.default_rng(9).permutation(40)[0]] = 1
    features, logits = stage_features(model, images, plain.stages)
    same = learn_combination(
        plain, model, images, labels, features, logits, np.random.default_rng(9)
    )
    assert same.combination is None and same.threshold == plain.threshold


def test_free_clues_may_weigh_either_way_the_others_only_for_an_outlier():
    rng = np.random.default_rng(2)
    inliers, made = rng.normal(size=(3000, 6)), rng.normal(size=(3000, 6))
    made[:, 0] += 2.0  # a distance: farther for the outliers
    made[:, 2] -= 1.0  # lower for the outliers: a logit clue of a second network's, say
    names = [f"c{i}" for i in range(6)]
    held = fit_combination(inliers, made, names)  # the default: only the last 2 are free
    assert held.weights[0] > 0 and held.weights[2] == 0.0
    free = fit_combination(inliers, made, names, free=4)
    assert free.weights[0] > 0 and free.weights[2] < 0
