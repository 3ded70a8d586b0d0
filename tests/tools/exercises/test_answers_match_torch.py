"""The grader's answers are PyTorch's: every case of every exercise, recomputed with torch
(float64, autograd for the gradients, torch.optim for the steps)."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy.tools.exercises.cases import cases_for

torch = pytest.importorskip("torch")
F = torch.nn.functional


def t(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-9, atol=1e-12)


def layer_case(case, forward):
    """out = forward(*tensors); dout's gradients of every argument, by the case's names."""
    tensors = [t(a, grad=True) for a in case.args]
    out = forward(*tensors, **case.kwargs)
    close(out.detach(), case.expected["out"])
    out.backward(t(case.dout))
    for tensor, name in zip(tensors, case.grads):
        close(tensor.grad, case.grads[name])


@pytest.mark.parametrize("exercise", ["relu", "linear", "conv2d", "maxpool2d", "batchnorm2d"])
def test_a_layers_answers_are_torchs(exercise):
    forwards = {
        "relu": lambda x: F.relu(x),
        "linear": lambda x, w, b: F.linear(x, w, b),
        "conv2d": lambda x, w, b, stride, padding: F.conv2d(x, w, b, stride, padding),
        "maxpool2d": lambda x, kernel_size, stride: F.max_pool2d(x, kernel_size, stride),
        "batchnorm2d": lambda x, g, b, eps: F.batch_norm(x, None, None, g, b, True, 0.1, eps),
    }
    for case in cases_for(exercise):
        layer_case(case, forwards[exercise])


def test_the_losss_answers_are_torchs():
    for case in cases_for("softmax_cross_entropy"):
        logits = t(case.args[0], grad=True)
        loss = F.cross_entropy(logits, torch.tensor(case.args[1]))
        loss.backward()
        close(loss.detach(), case.expected["loss"])
        close(logits.grad, case.expected["dlogits"])


def test_the_optimizers_answers_are_torchs():
    for case in cases_for("sgd"):
        param, grad, velocity, lr = case.args
        p = torch.nn.Parameter(t(param))
        sgd = torch.optim.SGD([p], lr=lr, **case.kwargs)
        p.grad = t(grad)
        if case.kwargs["momentum"]:
            sgd.state[p]["momentum_buffer"] = t(velocity)
        sgd.step()
        close(p.detach(), case.expected["new_param"])
    for case in cases_for("adam"):
        param, grad, m, v, step, lr = case.args
        p = torch.nn.Parameter(t(param))
        adam = torch.optim.Adam([p], lr=lr, **case.kwargs)
        p.grad = t(grad)
        if step > 1:
            adam.state[p] = {"step": torch.tensor(float(step - 1)), "exp_avg": t(m),
                             "exp_avg_sq": t(v)}  # fmt: skip
        adam.step()
        close(p.detach(), case.expected["new_param"])
        close(adam.state[p]["exp_avg"], case.expected["new_m"])
        close(adam.state[p]["exp_avg_sq"], case.expected["new_v"])
