"""A model with BatchNorm1d cannot train on a batch of one image: ``diagnose`` says so up
front (naming the batch, not the image shape), and its short training runs never make one."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.doctor_setups import SIZE, tiny_data

from cnn_numpy import SGD, BatchNorm1d, CrossEntropyLoss, Flatten, Linear, ReLU, Sequential
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.doctor import diagnose, thresholds


def batch_norm_net(rng=0) -> Sequential:
    rng = np.random.default_rng(rng)
    return Sequential(Flatten(), Linear(SIZE * SIZE, 8, rng=rng), BatchNorm1d(8), ReLU(),
                      Linear(8, 3, rng=rng))  # fmt: skip


def run(n: int, batch_size: int, checks):
    model = batch_norm_net()
    data = tiny_data(n)
    opt = SGD(model.parameters(), lr=0.05)
    return diagnose(model, CrossEntropyLoss(), data, opt, batch_size=batch_size, checks=checks)


@pytest.mark.parametrize(
    "n, batch_size, cause",
    [
        (1, 16, "there is 1 training image.*give it 2 images or more"),
        (40, 1, "batch_size is 1.*use a batch size of 2 or more"),
    ],  # fmt: skip
)
def test_a_batch_of_one_is_refused_naming_the_batch(n, batch_size, cause):
    with pytest.raises(ValueError, match="cannot train on a batch of one image, and " + cause):
        run(n, batch_size, ["labels"])


@pytest.mark.parametrize("checks", [["overfit"], ["update_ratio"], ["lr"]])
def test_the_short_runs_never_make_a_batch_of_one(checks):
    batch_size = thresholds.OVERFIT_SAMPLES - 1  # the overfit run's 20 images: 19 + 1
    n = 2 * batch_size + 1  # the other runs' passes: 19 + 19 + 1
    found = run(n, batch_size, checks)
    assert [f.check for f in found.findings] == checks


def test_the_cli_names_the_batch_of_one_not_the_image_shape(tmp_path, capsys):
    code = main(["diagnose", "--model", "deep", "--limit", "1", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: diagnose: the model cannot train on a batch of one")
    assert "images of shape" not in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()
