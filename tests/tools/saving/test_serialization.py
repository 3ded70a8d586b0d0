"""save/load: identical predictions after a round trip, and clear refusals of bad files."""

import json
import os
import pickle

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy import layers
from cnn_numpy.tools.saving.model_files import (
    HEADER_KEY,
    ModelFileError,
    layer_registry,
    load,
    load_card,
    open_npz,
    save,
    write_npz,
)


def small_model(dropout: bool = True) -> cnn.Sequential:
    """Conv -> BatchNorm -> LeakyReLU -> AvgPool -> Flatten -> Dropout -> Linear -> Tanh."""
    return cnn.Sequential(
        cnn.Conv2d(1, 3, 3, padding=1, rng=0),
        cnn.BatchNorm2d(3),
        cnn.LeakyReLU(0.1),
        cnn.AvgPool2d(2),
        cnn.Flatten(),
        *([cnn.Dropout(0.2, rng=1)] if dropout else []),
        cnn.Linear(3 * 4 * 4, 4, rng=0),
        cnn.Tanh(),
    )


@pytest.fixture
def trained(tmp_path):
    """A model whose BatchNorm running statistics have moved away from 0/1, and its file."""
    model = small_model()
    x = np.random.default_rng(0).normal(size=(6, 1, 8, 8)).astype(np.float32)
    model.train()
    model(x * 3 + 1)  # update the running mean/var buffers
    model.eval()
    path = save(
        model,
        tmp_path / "model.npz",
        dataset="toy",
        class_names=list("abcd"),
        normalize={"mean": np.float64(0.5), "std": 2.0},
        input_shape=(1, 8, 8),
    )
    return model, x, path


def test_round_trip_gives_identical_predictions_and_card(trained):
    model, x, path = trained
    loaded = load(path)
    assert repr(loaded) == repr(model)
    assert not loaded.training  # loaded ready to predict
    np.testing.assert_array_equal(loaded(x), model(x))
    for key, value in model.state_dict().items():
        assert loaded.state_dict()[key].dtype == value.dtype
    card = load_card(path)
    assert card["dataset"] == "toy" and card["class_names"] == ["a", "b", "c", "d"]
    assert card["normalize"] == {"mean": 0.5, "std": 2.0} and card["input_shape"] == [1, 8, 8]
    assert card["library_version"] == cnn.__version__ and "date" in card
    assert [spec["type"] for spec in card["layers"]][:3] == ["Conv2d", "BatchNorm2d", "LeakyReLU"]


def test_file_opens_with_plain_numpy_and_no_pickle(trained):
    _, _, path = trained
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive[HEADER_KEY].tobytes())
        assert archive["0.weight"].shape == (3, 1, 3, 3)
    assert header["format"] == "cnn-numpy" and header["arrays"]["0.weight"]["dtype"] == "float32"
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o644  # readable by others, as usual


def test_registry_holds_every_exported_layer_class():
    exported = {
        name
        for name in layers.__all__
        if isinstance(getattr(layers, name), type)
        and issubclass(getattr(layers, name), layers.Layer)
        and name != "Layer"
    }
    assert set(layer_registry()) == exported


def test_save_refuses_a_layer_load_could_not_rebuild(tmp_path):
    class Custom(cnn.ReLU):
        pass

    with pytest.raises(ValueError, match="Custom"):
        save(cnn.Sequential(Custom()), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


class Halve(cnn.Layer):
    """A teacher's own layer: load could not rebuild it (a file names classes, never code)."""

    elementwise = True

    def forward(self, x):
        return x / 2

    def backward(self, grad_out):
        return grad_out / 2


def test_a_layer_of_ones_own_inside_a_nested_sequential_is_refused_at_save(tmp_path):
    """It used to be saved, and the file then failed at load ('unknown type'): unloadable."""
    model = cnn.Sequential(cnn.Sequential(cnn.Conv2d(1, 2, 3, rng=0), Halve()), cnn.Flatten())
    with pytest.raises(ValueError, match=r"layer 0 \(1\) is a Halve"):
        save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_the_refusal_says_how_to_keep_the_weights_of_a_model_with_ones_own_layer(tmp_path):
    model = cnn.Sequential(cnn.Linear(3, 2, rng=0), Halve())
    with pytest.raises(ValueError, match=r"np\.savez\(path, \*\*model\.state_dict\(\)\)") as err:
        save(model, tmp_path / "m.npz")
    assert "model.load_state_dict(dict(np.load(path)))" in str(err.value)
    # and that advice works, as written
    path = tmp_path / "weights.npz"
    np.savez(path, **model.state_dict())
    again = cnn.Sequential(cnn.Linear(3, 2, rng=1), Halve())
    again.load_state_dict(dict(np.load(path)))
    assert np.array_equal(again[0].weight.data, model[0].weight.data)


def test_save_takes_the_model_inside_a_dataparallel_and_refuses_a_bare_layer(tmp_path):
    model = cnn.lenet(rng=0)
    with cnn.DataParallel(model, workers=2) as parallel:
        save(parallel, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz").state_dict()
    assert all(np.array_equal(loaded[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="must be a Sequential.*Sequential\\(layer\\)"):
        save(cnn.Conv2d(1, 2, 3), tmp_path / "layer.npz")
    assert not (tmp_path / "layer.npz").exists()


def rewrite(path, edit_header=None, edit_arrays=None):
    """Read a valid file, change its header and/or arrays, write it back."""
    header, arrays = open_npz(path)
    if edit_header:
        edit_header(header)
    if edit_arrays:
        edit_arrays(arrays)
    write_npz(path, arrays, header)


@pytest.mark.parametrize(
    "edit_header, edit_arrays, message",
    [
        (lambda h: h["layers"][0].update(type="Conv3d"), None, "unknown type 'Conv3d'"),
        (None, lambda a: a.pop("0.bias"), r"missing \['0.bias'\]"),
        (None, lambda a: a.update({"extra": np.zeros(2)}), r"unexpected \['extra'\]"),
        (
            lambda h: h["arrays"]["6.weight"].update(shape=[4, 49]),
            lambda a: a.update({"6.weight": np.zeros((4, 49), np.float32)}),
            "shape",
        ),
        (
            lambda h: h["arrays"]["0.weight"].update(dtype="float64"),
            lambda a: a.update({"0.weight": a["0.weight"].astype(np.float64)}),
            "dtype",
        ),
        (lambda h: h["layers"][0]["config"].update(out_channels="three"), None, "cannot be built"),
        (lambda h: h.update(format_version=99), None, "version 99.*Upgrade"),
        (lambda h: h.update(format="keras"), None, "not a cnn-numpy model"),
    ],
)
def test_load_rejects_a_file_that_does_not_match(trained, edit_header, edit_arrays, message):
    _, _, path = trained
    rewrite(path, edit_header, edit_arrays)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_load_rejects_a_pickled_object_array(trained):
    _, _, path = trained
    header, arrays = open_npz(path)
    arrays["0.weight"] = np.array([{"evil": "payload"}], dtype=object)
    np.savez(path, **{HEADER_KEY: np.frombuffer(json.dumps(header).encode(), np.uint8)}, **arrays)
    with pytest.raises(ModelFileError, match="pickle"):
        load(path)


def test_load_rejects_a_pickle_a_foreign_npz_a_truncated_and_a_missing_file(trained, tmp_path):
    _, _, path = trained
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cut.npz is truncated"):
        load(tmp_path / "cut.npz")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"0.weight": 1}))
    with pytest.raises(ModelFileError, match="pickle"):
        load(tmp_path / "model.pkl")
    np.savez(tmp_path / "foreign.npz", w=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a cnn-numpy file"):
        load(tmp_path / "foreign.npz")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load(tmp_path / "nothing.npz")


def test_a_save_that_fails_mid_write_leaves_the_old_file_intact(trained, monkeypatch):
    model, x, path = trained
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        """A file that writes half of what it is given, then fails (a full disk, a crash)."""

        def __init__(self, fd, mode):
            self.file = real_fdopen(fd, mode)

        def write(self, data):
            self.file.write(data[: len(data) // 2])
            raise OSError("No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    other = small_model()
    other[0].weight.data += 1
    monkeypatch.setattr(os, "fdopen", HalfWriter)
    with pytest.raises(OSError, match="No space"):
        save(other, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]  # no temp file left
    np.testing.assert_array_equal(load(path)(x), model(x))


def test_state_dict_of_a_loaded_model_loads_into_torch_sequential(trained):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    _, x, path = trained
    model = load(path)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.LeakyReLU(0.1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(48, 4),
        nn.Tanh(),
    )
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    net.eval()
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h["layers"][-1]["config"].update(in_features=10**7, out_features=10**6),
        lambda h: h.update(arrays=[1, 2]),
        lambda h: h.update(card="not a dict"),
        lambda h: h.update(layers={"0": "Linear"}),
    ],
)
def test_crafted_headers_are_model_file_errors(tmp_path, mutate):
    """A hand-edited header (absurd layer sizes, fields of the wrong type) is a clear error,
    never a MemoryError or an AttributeError from deep inside."""
    from cnn_numpy.tools.saving.model_files import ModelFileError, load

    path = tmp_path / "model.npz"
    cnn.save(cnn.seed_net(2, rng=0), path)
    arrays = dict(np.load(path))
    header = json.loads(arrays["__header__"].tobytes())
    mutate(header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError):
        load(tmp_path / "bad.npz")
