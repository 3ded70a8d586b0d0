"""The gradient checker's refusals, for a whole model as for one layer: each on one line,
naming the parameter and the fix.  (Each layer's own check is in tests/layers.)"""

import numpy as np
import pytest

from cnn_numpy import Conv2d, Dropout, Linear, ReLU, Sequential, check_layer_gradients


def test_a_float32_parameter_of_a_model_is_named_on_one_line():
    """It printed the model's whole multi-line repr glued to '.0.weight'."""
    model = Sequential(Conv2d(1, 2, 3, rng=0), ReLU())
    with pytest.raises(ValueError) as err:
        check_layer_gradients(model, np.zeros((1, 1, 5, 5)))
    message = str(err.value)
    assert "\n" not in message
    assert "Sequential of 2 layers has the parameter '0.weight' in float32" in message
    assert "dtype=np.float64 (each layer of the model)" in message


def test_a_model_with_dropout_in_training_mode_is_refused_on_one_line():
    """Its repr was cut at 80 characters, in the middle of the list of layers."""
    model = Sequential(Linear(3, 2, rng=0, dtype=np.float64), Dropout(0.5, rng=0))
    with pytest.raises(ValueError, match="Sequential of 2 layers gives another output") as err:
        check_layer_gradients(model, np.ones((2, 3)))
    assert "\n" not in str(err.value)
    assert check_layer_gradients(model.eval(), np.ones((2, 3)))["input"] < 1e-6
