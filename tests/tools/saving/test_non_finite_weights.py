"""A model file whose weights hold NaN or infinity answers NaN for every image: ``load``
refuses it (a ModelFileError naming the array), and the CLI says so instead of ``nan%``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving.model_files import ModelFileError

CARD = dict(dataset="lines", class_names=["vertical", "horizontal"], input_shape=[1, 28, 28])


def saved(path, key: str | None = None, value=np.nan, model=None):
    model = cnn.seed_net(2, filters=2, rng=0) if model is None else model
    if key is not None:
        arrays = dict(model.named_parameters())
        target = arrays[key].data if key in arrays else dict(model.named_buffers())[key]
        target.reshape(-1)[1] = value
    cnn.save(model, path, **CARD)
    return path


@pytest.mark.parametrize("key, value", [("0.weight", np.nan), ("4.bias", np.inf),
                                        ("4.weight", -np.inf)])  # fmt: skip
def test_load_refuses_a_non_finite_weight_naming_it(tmp_path, key, value):
    path = saved(tmp_path / "m.npz", key, value)
    with pytest.raises(
        ModelFileError, match=rf"m.npz: array '{key}' holds 1 of .* NaN or infinite"
    ):
        cnn.load(path)


def test_load_refuses_a_non_finite_buffer(tmp_path):
    model = cnn.Sequential(cnn.Flatten(), cnn.Linear(28 * 28, 4, rng=0), cnn.BatchNorm1d(4),
                           cnn.Linear(4, 2, rng=0))  # fmt: skip
    path = saved(tmp_path / "bn.npz", "2.running_var", np.inf, model)
    with pytest.raises(ModelFileError, match="'2.running_var' holds 1 of 4 values"):
        cnn.load(path)


def test_a_finite_model_still_loads(tmp_path):
    model = cnn.load(saved(tmp_path / "ok.npz"))
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_predict_says_why_instead_of_printing_nan(tmp_path, capsys):
    path = saved(tmp_path / "nan.npz", "0.weight")
    image = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(image)
    assert main(["predict", str(path), str(image)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and "'0.weight'" in err and "NaN or infinite" in err
    assert "nan%" not in out and "Traceback" not in err
