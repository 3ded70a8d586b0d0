"""A folder given where a model file belongs: the error names the model files it holds, or
says it holds none (it named best.npz and model.npz in an empty folder)."""

from __future__ import annotations

import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving.model_files import ModelFileError


def test_an_empty_folder_says_it_holds_no_model_file(tmp_path, capsys):
    with pytest.raises(
        ModelFileError, match=r"is a folder, not a model file \(it holds no best.npz or model.npz\)"
    ):
        cnn.load(tmp_path)
    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "holds no best.npz or model.npz" in err


def test_a_run_folder_names_the_model_files_it_holds(tmp_path):
    cnn.save(cnn.seed_net(rng=0), tmp_path / "best.npz")
    with pytest.raises(ModelFileError) as caught:
        cnn.load(tmp_path)
    assert f"(it holds {tmp_path / 'best.npz'})" in str(caught.value)
    assert "model.npz" not in str(caught.value)
