"""Dropout: inverted scaling, explicit rng, identity in eval mode, PyTorch with the same mask."""

import numpy as np
import pytest
from helpers import assert_close, assert_gradients

from cnn_numpy import Dropout


class FixedUniforms:
    """Stands in for the layer's rng: ``random()`` always returns the same numbers, so the
    mask is the same at every forward (for gradient checks and for copying torch's mask)."""

    def __init__(self, u):
        self.u = u

    def random(self, shape, dtype=np.float64):
        assert shape == self.u.shape
        return self.u.astype(dtype)


def test_expected_value_is_preserved():
    x = np.random.default_rng(0).uniform(1, 2, (400, 500))
    y = Dropout(0.3, rng=1)(x)
    assert abs(np.mean(y == 0) - 0.3) < 0.005  # fraction dropped ~ p
    np.testing.assert_allclose(y[y != 0], x[y != 0] / 0.7)  # survivors scaled by 1/(1-p)
    assert abs(y.mean() / x.mean() - 1) < 0.005  # E[y] = x


def test_eval_mode_and_p0_are_the_identity():
    x = np.random.default_rng(0).standard_normal((3, 4))
    drop = Dropout(0.5, rng=0).eval()
    assert drop(x) is x and drop.backward(x) is x
    assert Dropout(0.0, rng=0)(x) is x


def test_p1_drops_everything():
    x = np.ones((3, 4), dtype=np.float32)
    drop = Dropout(1.0, rng=0)
    assert not drop(x).any() and not drop.backward(x).any()


def test_masks_come_from_the_explicit_rng():
    x = np.ones((5, 6))
    first, second = Dropout(0.5, rng=7)(x), Dropout(0.5, rng=7)(x)
    assert_close(first, second, "same seed, same mask")
    drop = Dropout(0.5, rng=7)
    assert not np.array_equal(drop(x), drop(x))  # a fresh mask every call


def test_backward_uses_the_forward_mask_and_keeps_float32():
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    drop = Dropout(0.4, rng=0)
    y = drop(x)
    assert y.dtype == np.float32
    g = drop.backward(np.ones_like(x))
    assert g.dtype == np.float32
    assert_close(g, y / x, "gradient = mask", rtol=1e-6)


def test_gradient_with_a_fixed_mask():
    rng = np.random.default_rng(1)
    drop = Dropout(0.5)
    drop.rng = FixedUniforms(rng.random((3, 4, 2)))
    assert_gradients(drop, rng.standard_normal((3, 4, 2)))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_p(p):
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):
        Dropout(p)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_matches_torch_with_the_same_mask(p):
    """torch draws its mask; we copy it into our layer's uniforms, then compare."""
    torch = pytest.importorskip("torch")
    from helpers.torch_twin import run_both, to_torch

    rng = np.random.default_rng(2)
    x, g = rng.uniform(0.5, 1.5, (4, 3, 5)), rng.standard_normal((4, 3, 5))  # x has no zeros
    torch.manual_seed(0)
    drop = Dropout(p)
    twin = to_torch(drop)
    x_t = torch.tensor(x)
    torch_kept = (twin(x_t) != 0).numpy()
    drop.rng = FixedUniforms(np.where(torch_kept, 1.0, 0.0))  # kept where u >= p
    torch.manual_seed(0)  # torch draws the same mask again
    (out, dx), (out_t, dx_t) = run_both(drop, twin, x, g)
    assert 0 < torch_kept.mean() < 1
    assert_close(out, out_t, "forward")
    assert_close(dx, dx_t, "input gradient")


def test_float16_stays_float16_as_in_torch():
    out = Dropout(0.5, rng=0)(np.ones((4, 4), np.float16))
    assert out.dtype == np.float16 and set(out.ravel().tolist()) <= {0.0, 2.0}


def test_a_gradient_check_of_dropout_in_training_mode_is_refused_not_reported_wrong():
    # each forward draws a new mask, so central differences measured noise: the check
    # reported a relative error near 1, as if Dropout's backward were wrong
    from cnn_numpy import check_layer_gradients

    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(ValueError, match="another output at each forward .* eval mode"):
        check_layer_gradients(Dropout(0.5, rng=0), x)
    assert check_layer_gradients(Dropout(0.5, rng=0).eval(), x)["input"] < 1e-6
