"""Bugs students plant, one at a time: the doctor names the right cause first, and its
advice, followed, cures the setup.  (Found by planting them on MNIST and the lines:
benchmarks/doctor_bugs.py.)"""

from __future__ import annotations

import numpy as np
from helpers.doctor_setups import healthy

from cnn_numpy import diagnose
from cnn_numpy.tools.doctor import thresholds


def test_one_nan_image_is_found_even_when_the_sample_misses_it(monkeypatch):
    """The checks look at a sample of the images; input_scale used to count NaN only in that
    sample, so one NaN image of 3,000 MNIST images passed as "all 9 checks ok"."""
    monkeypatch.setattr(thresholds, "SAMPLES", 10)
    model, loss, (X, y), optimizer = healthy(0)
    X = X.copy()
    X[137, 0, 2, 3] = np.nan
    finding = diagnose(model, loss, (X, y), optimizer, checks=["input_scale"])["input_scale"]
    assert finding.status == "fail", finding.message
    assert finding.data["nonfinite_images"] == [137]
    assert "137" in finding.message
    keep = np.isfinite(X).reshape(len(X), -1).all(axis=1)  # the advice, followed
    cured = diagnose(model, loss, (X[keep], y[keep]), optimizer, checks=["input_scale"])
    assert cured.ok, str(cured)
