"""What the ONNX tests share: the optional packages (skipped locally, required in CI), a
session runner, and trained BatchNorm statistics."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from cnn_numpy.layers.normalization import _BatchNorm

BATCH_SIZES = (1, 3, 17)


def need(module: str):
    """Import ``module``; skip the test without it, but fail when CI=true (CI installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f'{module} is not installed (pip install -e ".[test]" installs it)'
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the ONNX tests", pytrace=False)
        pytest.skip(message)


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    """The first output of the ONNX file at ``path`` for input ``x``, by onnxruntime (CPU)."""
    ort = need("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the test machine is shared
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def train_statistics(model, input_shape, rng, steps: int = 3) -> None:
    """Give every BatchNorm running statistics far from their initial 0 and 1 (a few
    training-mode forward passes on shifted, scaled data) and random affine parameters,
    then put the model in eval mode."""
    for layer in model:
        if isinstance(layer, _BatchNorm) and layer.affine:
            layer.weight.data[...] = rng.uniform(0.5, 2.0, layer.num_features)
            layer.bias.data[...] = rng.normal(0, 0.5, layer.num_features)
    model.train()
    for _ in range(steps):
        model(rng.normal(0.7, 2.0, (8, *input_shape)).astype(np.float32))
    model.eval()


def dims(value_info) -> list:
    """A value's shape as a list: ints, and the names of symbolic axes ("batch")."""
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]
