"""A novelty check read by another network (a reader): its scores are the reader's own check's,
the model still answers, the reader travels in the model file (version 3) and a damaged one
is named."""

import numpy as np
import pytest
from helpers.model_files import save_with_novelty
from helpers.seed_model import trained_seed_net

import cnn_numpy as cnn
from cnn_numpy.tools.novelty import predict_with_novelty, storage, train_reader
from cnn_numpy.tools.novelty.storage import read_novelty
from cnn_numpy.tools.saving.model_files import ModelFileError, open_npz, write_npz


@pytest.fixture(scope="module")
def parts():
    """Lines, a seed net trained on them and a LeNet reader trained beside it."""
    X, y = cnn.synthetic_lines(160, rng=0)
    model = trained_seed_net(X, y, epochs=2)
    reader = train_reader(X, y, rng=0)
    return model, reader, X, y


@pytest.fixture(scope="module")
def checked(parts):
    model, reader, X, y = parts
    return cnn.fit_novelty(model, X, y, rng=1, reader=reader)


def far(X):
    """The images turned into noise and filled areas: nothing like a line."""
    rng = np.random.default_rng(5)
    return np.concatenate([rng.normal(0, 3, X[:8].shape), np.full_like(X[:8], 2.5)]).astype(
        np.float32
    )


def test_the_reader_trains_a_lenet_that_learns_the_images(parts):
    model, reader, X, y = parts
    assert [type(layer).__name__ for layer in reader.layers][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert reader.layers[-1].out_features == 2 and not reader.training
    assert cnn.evaluate(reader, X, y) > 0.75  # one epoch (3 steps) on the lines: chance is 0.5
    again = train_reader(X, y, rng=0)
    np.testing.assert_array_equal(again(X[:5]), reader(X[:5]))  # seeded: the same reader
    with pytest.raises(ValueError, match="square images"):
        train_reader(X[:, :, :, :20], y)


def test_scores_are_those_of_the_reader_checked_as_a_model(parts, checked):
    model, reader, X, y = parts
    own = cnn.fit_novelty(reader, X, y, rng=1)  # the reader's own check, the same rng
    assert checked.reader is reader and checked.stages == own.stages
    assert checked.threshold == own.threshold
    images = np.concatenate([X[:20], far(X)])
    np.testing.assert_array_equal(checked.score(model, images), own.score(reader, images))
    plain = cnn.fit_novelty(model, X, y, rng=1)  # the model's own check reads other features
    assert not np.allclose(plain.score(model, images), own.score(reader, images))
    assert (checked.score(model, far(X)) > checked.threshold).all()


def test_predict_answers_with_the_model_and_scores_with_the_reader(parts, checked):
    model, reader, X, _ = parts
    images = np.concatenate([X[:20], far(X)])
    answer = predict_with_novelty(model, images, checked)
    np.testing.assert_allclose(answer.probabilities, cnn.predict_proba(model, images), rtol=1e-5)
    np.testing.assert_array_equal(answer.scores, checked.score(model, images))
    assert answer.refused[20:].all() and answer.refused[:20].mean() < 0.2


def test_a_reader_must_take_the_images_and_give_the_classes(parts):
    model, _, X, y = parts
    with pytest.raises(ValueError, match="reader gives 3 logits, the model 2"):
        cnn.fit_novelty(model, X, y, rng=1, reader=cnn.lenet(3, rng=0))
    with pytest.raises(ValueError, match="reader must be a model taking the images"):
        cnn.fit_novelty(model, X, y, rng=1, reader=cnn.lenet(2, image_size=12, rng=0))


def test_stored_with_its_reader_as_version_3_and_read_back(parts, checked, tmp_path):
    model, _, X, y = parts
    path = save_with_novelty(model, checked, tmp_path / "model.npz")
    header, arrays = open_npz(path)
    assert header["novelty"]["version"] == 3 and header["novelty"]["reader"]["card"]["preset"]
    assert {"novelty/reader/0.weight", "novelty/reader/9.bias"} <= set(arrays)
    again = cnn.load_novelty(path)
    images = np.concatenate([X[:20], far(X)])
    np.testing.assert_array_equal(again.score(cnn.load(path), images), checked.score(model, images))
    plain = save_with_novelty(model, cnn.fit_novelty(model, X, y, rng=1), tmp_path / "plain.npz")
    header, arrays = open_npz(plain)  # without a reader: version 2, no reader arrays
    assert header["novelty"]["version"] == 2 and "reader" not in header["novelty"]
    assert not any(k.startswith("novelty/reader/") for k in arrays)
    assert cnn.load_novelty(plain).reader is None
    cnn.save_novelty(path, cnn.load_novelty(plain))  # replaced: the reader's arrays go too
    assert not any(k.startswith("novelty/reader/") for k in open_npz(path)[1])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda h, a: a.pop("novelty/reader/3.weight"), "missing.*3.weight"),
        (lambda h, a: [a.pop(k) for k in list(a) if k.startswith("novelty/reader/")], "missing"),
        (lambda h, a: a.update({"novelty/reader/0.weight": np.zeros((2, 2))}), "shape"),
        (lambda h, a: h["novelty"].pop("reader"), "no reader entry"),
        (lambda h, a: h["novelty"]["reader"]["layers"][0].update(type="Evil"), "unknown type"),
        (lambda h, a: h["novelty"]["reader"]["layers"].pop(), "Linear|arrays"),
        (lambda h, a: h["novelty"].update(version=2), "reader in a version 2"),
    ],
)
def test_a_damaged_reader_is_named(parts, checked, tmp_path, damage, message):
    path = save_with_novelty(parts[0], checked, tmp_path / "model.npz")
    header, arrays = open_npz(path)
    damage(header, arrays)
    write_npz(path, arrays, header)
    with pytest.raises(ModelFileError, match=f"novelty check is damaged.*{message}"):
        cnn.load_novelty(path)
    cnn.load(path)  # the model itself still loads


def test_a_check_from_a_newer_version_is_refused_as_newer(parts, checked, tmp_path, monkeypatch):
    path = save_with_novelty(parts[0], checked, tmp_path / "model.npz")
    header, arrays = open_npz(path)
    header["novelty"]["version"] = 4
    with pytest.raises(ModelFileError, match="version 4, from a newer cnn-numpy.*Upgrade"):
        read_novelty(header, arrays, path)
    # a cnn-numpy that reads versions 1 and 2 only refuses a check with a reader, instead of
    # scoring the model's own features with the reader's Gaussians
    monkeypatch.setattr(storage, "VERSIONS", (1, 2))
    with pytest.raises(ModelFileError, match="version 3, from a newer cnn-numpy"):
        cnn.load_novelty(path)
