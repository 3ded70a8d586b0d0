"""A layer of one's own that holds other layers (``self.conv = Conv2d(...)``), as a teacher
writes a block: its parameters, buffers, state_dict, mode and gradient check include theirs,
named as torch names a submodule's (``"conv.weight"``).  They used to be invisible: no
parameters (the optimizer never trained the conv), an empty state_dict, eval() not reaching
the BatchNorm, a gradient check of the input alone."""

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Layer,
    ReLU,
    Sequential,
    check_layer_gradients,
)


class Block(Layer):
    """relu(bn(conv(x))) + x, written by hand."""

    def __init__(self, channels, rng=0, dtype=np.float32):
        self.conv = Conv2d(channels, channels, 3, padding=1, rng=rng, dtype=dtype)
        self.bn = BatchNorm2d(channels, dtype=dtype)
        self.act = ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) + x

    def backward(self, grad_out):
        return self.conv.backward(self.bn.backward(self.act.backward(grad_out))) + grad_out


KEYS = ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
        "bn.running_var", "bn.num_batches_tracked"]  # fmt: skip


def test_the_layers_it_holds_are_its_parameters_buffers_and_state():
    block = Block(2)
    assert [name for name, _ in block.named_parameters()] == KEYS[:4]
    assert [name for name, _ in block.named_buffers()] == KEYS[4:]
    assert list(block.state_dict()) == KEYS
    model = Sequential(block, Flatten())
    assert list(model.state_dict()) == [f"0.{key}" for key in KEYS]
    assert "# total: 42 parameters" in repr(model)  # conv 2*2*3*3 + 2, bn 2 + 2


def test_eval_and_train_reach_the_layers_it_holds():
    block = Block(2)
    Sequential(block).eval()
    assert not block.bn.training and not block.conv.training
    block.train()
    assert block.bn.training


def test_its_gradient_check_covers_the_parameters_of_the_layers_it_holds():
    block = Block(2, dtype=np.float64)
    block.bn.eval()  # in training mode BatchNorm removes the mean: dL/d(conv.bias) is exactly 0
    block.bn.running_mean[...], block.bn.running_var[...] = 0.1, 2.0
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    errors = check_layer_gradients(block, x)
    assert set(errors) == {"input", *KEYS[:4]}
    assert max(errors.values()) < 1e-6


def test_an_optimizer_trains_the_layers_it_holds():
    block = Block(2)
    before = block.conv.weight.data.copy()
    optimizer = SGD(block.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype(np.float32)
    optimizer.zero_grad()
    block.backward(np.ones_like(block(x)))
    optimizer.step()
    assert not np.array_equal(block.conv.weight.data, before)


def test_its_state_dict_matches_the_same_block_in_torch():
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 2, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(2)
            self.act = torch.nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x))) + x

    twin = TorchBlock().double()
    assert list(twin.state_dict()) == KEYS
    block = Block(2, rng=1, dtype=np.float64)
    block.load_state_dict(twin.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 2, 5, 5))
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(block(x), expected, rtol=1e-10, atol=1e-12)
    assert block.state_dict()["bn.num_batches_tracked"] == twin.bn.num_batches_tracked == 1


def test_a_conv_bias_before_batchnorm_has_a_zero_gradient_that_the_check_passes():
    """BatchNorm in training mode removes each channel's mean, so dL/d(conv.bias) is 0: the
    check divided rounding noise by rounding noise and failed a right backward (error ~1)."""
    block = Block(2, dtype=np.float64)  # bn in training mode
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    errors = check_layer_gradients(block, x)
    assert errors["conv.bias"] == 0.0 and max(errors.values()) < 1e-6


class ForgotBias(Block):
    """A backward that never adds the conv bias's gradient (BatchNorm in eval mode: it counts)."""

    def backward(self, grad_out):
        grad = super().backward(grad_out)
        self.conv.bias.grad[...] = 0
        return grad


def test_a_forgotten_gradient_still_fails_beside_that_zero():
    block = ForgotBias(2, dtype=np.float64)
    block.bn.eval()
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    assert check_layer_gradients(block, x)["conv.bias"] > 0.5
