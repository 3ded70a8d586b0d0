"""The grader: a correct workbook passes whole; each classic mistake, planted as a small edit
of the correct one, fails with its name; no bad code crashes the grader."""

from __future__ import annotations

import pytest
from helpers.workbook import plant

from cnn_numpy.tools.exercises import EXERCISES, check, start


def test_the_correct_workbook_passes_every_function(workbook):
    report = check(workbook)
    assert report.ok, str(report)
    functions = [f for e in EXERCISES for f in e.functions]
    assert [r.function for r in report.results] == functions
    assert "numerical gradients agree" in report["conv2d_backward"].message
    assert str(report).splitlines()[-1] == f"{len(functions)} of {len(functions)} functions pass"


def test_a_fresh_workbook_is_not_done_yet(tmp_path):
    start(tmp_path / "wb")
    report = check(tmp_path / "wb", ["relu", "sgd"])
    assert not report.ok
    assert [r.status for r in report.results] == ["not done"] * 3
    assert "not done yet" in report["relu_forward"].message


CONV_OUTPUT_PADDING = [
    ("xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n    H_out", "xp = x\n    H_out"),
    ("H_out = (H + 2 * p - kh) // s + 1", "H_out = (H - kh) // s + 1"),
    ("W_out = (W + 2 * p - kw) // s + 1", "W_out = (W - kw) // s + 1"),
    (
        "out += bias[None, :, None, None]",
        "out = np.pad(out, ((0, 0), (0, 0), (p, p), (p, p))) + bias[None, :, None, None]",
    ),
]
MAXPOOL_ALL_TIES = (
    "            window = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(N, C, k * k)\n",
    "            window = x[:, :, i * s : i * s + k, j * s : j * s + k]\n"
    "            mask = window == window.max(axis=(2, 3), keepdims=True)\n"
    "            dx[:, :, i * s : i * s + k, j * s : j * s + k] += mask * dout[:, :, i, j][:, :, None, None]\n"
    "            continue\n",
)

#: (exercise file, [(old, new), ...], function that must fail, words its message must hold)
MISTAKES = [
    ("linear", [("dbias = dout.sum(axis=0)", "dbias = dout.mean(axis=0)")],
     "linear_backward", "bias gradient not summed over the batch"),
    ("linear", [("dbias = dout.sum(axis=0)", "dbias = dout")],
     "linear_backward", "bias gradient not summed over the batch"),
    ("conv2d", [("dbias = dout.sum(axis=(0, 2, 3))", "dbias = dout.sum(axis=(2, 3))")],
     "conv2d_backward", "bias gradient not summed over the batch"),
    ("conv2d", [("out[:, :, i, j] = np.tensordot(window, weight,",
                 "out[:, :, i, j] = np.tensordot(window, weight[:, :, ::-1, ::-1],")],
     "conv2d_forward", "kernel flipped"),
    ("conv2d", CONV_OUTPUT_PADDING, "conv2d_forward", "padding applied to the output"),
    ("softmax_cross_entropy",
     [("shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits")],
     "softmax_cross_entropy", "softmax without subtracting the max"),
    ("softmax_cross_entropy",  # the max subtracted, but the log taken of p (0 far below it)
     [("log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
       "log_p = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")],
     "softmax_cross_entropy", "log of a probability that underflowed to 0"),
    ("softmax_cross_entropy",
     [(".mean()\n", ".sum()\n"), ("return float(loss), dlogits / N", "return float(loss), dlogits")],
     "softmax_cross_entropy", "loss summed instead of averaged"),
    ("softmax_cross_entropy", [(".mean()\n", ".sum()\n")],
     "softmax_cross_entropy", "loss summed instead of averaged"),
    ("sgd", [("g = grad + weight_decay * param\n    new_velocity = momentum * velocity + g\n"
              "    new_param = param - lr * new_velocity",
              "new_velocity = momentum * velocity + grad\n"
              "    new_param = param - lr * (new_velocity + weight_decay * param)")],
     "sgd_step", "weight decay added after momentum"),
    ("sgd", [("new_velocity = momentum * velocity + g\n    new_param = param - lr * new_velocity",
              "new_velocity = momentum * velocity - lr * g\n    new_param = param + new_velocity")],
     "sgd_step", "the velocity holds the learning rate"),
    ("adam", [("v_hat = new_v / (1 - beta2**t)", "v_hat = new_v")],
     "adam_step", "Adam without bias correction of v"),
    ("adam", [("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)")], "adam_step", "eps is inside"),
    ("linear", [("dbias = dout.sum(axis=0)", "dbias = dout[0]")],
     "linear_backward", "bias gradient not summed over the batch"),
    ("adam", [("m_hat = new_m / (1 - beta1**t)", "m_hat = new_m"),
              ("v_hat = new_v / (1 - beta2**t)", "v_hat = new_v")],
     "adam_step", "without bias correction"),
    ("maxpool2d", [MAXPOOL_ALL_TIES], "maxpool2d_backward", "pooling gradient sent to every tied maximum"),
    ("batchnorm2d",
     [("dx = (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat) * inv_std", "dx = dx_hat * inv_std")],
     "batchnorm2d_backward", "BatchNorm backward missing the terms through the mean and variance"),
    ("batchnorm2d",
     [("var = x.var(axis=(0, 2, 3), keepdims=True)", "var = x.var(axis=(0, 2, 3), keepdims=True, ddof=1)")],
     "batchnorm2d_forward", "divided by M - 1"),
    ("relu", [("return dout * (x > 0)", "return dout * (x >= 0)")],
     "relu_backward", "gradient at x = 0 must be 0"),
    ("linear", [("    out = x @ weight.T + bias\n", "    out = x @ weight.T\n")],
     "linear_forward", "bias not added"),
    ("conv2d", [("out += bias[None, :, None, None]", "pass")], "conv2d_forward", "bias not added"),
]  # fmt: skip


@pytest.mark.parametrize(
    "exercise, edits, function, words", MISTAKES, ids=[f"{m[0]}-{m[3][:30]}" for m in MISTAKES]
)
def test_a_planted_mistake_is_named(workbook, exercise, edits, function, words):
    for old, new in edits:
        plant(workbook, f"{exercise}.py", old, new)
    report = check(workbook, exercise)
    result = report[function]
    assert result.status == "fail" and words in result.message, str(report)
    assert (
        "relative error" in result.message or "inf" in result.message or "shape" in result.message
    )
    if not function.endswith("_forward"):  # (a wrong forward may spoil the backward's cache)
        others = [r for r in report.results if r.function != function]
        assert all(r.passed for r in others), str(report)  # only the planted one fails


def line_of(path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_syntax_error_is_a_failed_line_with_the_file_and_line(workbook):
    path = plant(
        workbook, "relu.py", "def relu_backward", "def broken(:\n    pass\n\n\ndef relu_backward"
    )
    report = check(workbook, "relu")
    for result in report.results:
        assert result.status == "fail" and "SyntaxError" in result.message
        assert result.location == f"{path}:{line_of(path, 'def broken(:')}"


def test_an_exception_names_the_learners_line(workbook):
    path = plant(
        workbook,
        "conv2d.py",
        "out[:, :, i, j] = np.tensordot",
        "out[:, :, i + 99, j] = np.tensordot",
    )
    report = check(workbook, "conv2d")
    result = report["conv2d_forward"]
    assert result.status == "fail" and result.message.startswith("IndexError")
    assert result.location == f"{path}:{line_of(path, 'i + 99')}"
    assert "Traceback" not in str(report)


@pytest.mark.parametrize(
    "file, old, new, function, words",
    [
        ("relu", "return out, x", "return out", "relu_forward", "should return (out, cache)"),
        ("relu", "return out, x", "return (i for i in out), x", "relu_forward", "generator"),
        ("linear", "return out, (x, weight)", "return out.T, (x, weight)", "linear_forward",
         "out has shape (3, 4), expected (4, 3)"),
        ("linear", "return dx, dweight, dbias", "return dx, dweight", "linear_backward",
         "should return (dx, dweight, dbias), got a tuple of 2"),
        ("linear", "    out = x @ weight.T + bias\n", "    out = x @ weight.T + bias * np.nan\n",
         "linear_forward", "is NaN"),
        ("sgd", "return new_param, new_velocity", "return None", "sgd_step", "None"),
        ("relu", "return dout * (x > 0)", "return (dout * (x > 0)).tolist()", "relu_backward",
         "dx should be an array of shape (3, 4), got a list of 3: return a NumPy array"),
        ("relu", "return out, x", "return out.tolist(), x", "relu_forward",
         "out should be an array of shape (3, 4), got a list of 3: return a NumPy array"),
        ("linear", "return dx, dweight, dbias", "return dx, dweight, list(dbias)",
         "linear_backward", "got a list of 3: return a NumPy array"),
        ("linear", "return out, (x, weight)", "return out.astype(np.float32), (x, weight)",
         "linear_forward", "out is float32, but the arguments are float64"),
        ("linear", "return dx, dweight, dbias", "return dx, dweight.astype(np.float32), dbias",
         "linear_backward", "dweight is float32, but the arguments are float64"),
        ("sgd", "return new_param, new_velocity",
         "return new_param.astype(np.float32), new_velocity.astype(np.float32)", "sgd_step",
         "new_param and new_velocity are float32"),
        ("relu", "return out, x", "return out.astype(int), x", "relu_forward",
         "out is int64, but the arguments are float64 (on x of shape (3, 4)): keep their dtype"),
        ("softmax_cross_entropy", "return float(loss), dlogits / N",
         "return np.float32(loss), dlogits / N", "softmax_cross_entropy",
         "loss is float32, but the arguments are float64"),
        ("adam", "beta1, beta2 = betas", "import os\n    os._exit(0)", "adam_step",
         "ended the process"),
        ("relu", "def relu_backward", "def relu_backward_renamed", "relu_backward",
         "is not defined"),
    ],
)  # fmt: skip
def test_bad_results_are_failed_lines(workbook, file, old, new, function, words):
    plant(workbook, f"{file}.py", old, new)
    report = check(workbook, file)
    assert report[function].status == "fail" and words in report[function].message, str(report)


def test_a_missing_bias_gradient_is_not_called_a_bias_gradient_not_summed(workbook):
    """dbias = None (or forgotten) says a return is missing; only a dbias of the wrong shape
    gets the word on summing over the batch."""
    plant(workbook, "linear.py", "dbias = dout.sum(axis=0)", "dbias = None")
    message = check(workbook, "linear")["linear_backward"].message
    assert "dbias should be an array of shape (3,), got None (is a return missing?)" in message
    assert "summed" not in message


@pytest.mark.parametrize("bad", ["np.inf", "np.nan"])
def test_an_inf_or_nan_gradient_is_not_said_to_agree_with_numerical_gradients(workbook, bad):
    plant(workbook, "relu.py", "return dout * (x > 0)", f"return dout * {bad}")
    message = check(workbook, "relu")["relu_backward"].message
    assert "it also differs from numerical gradients" in message, message


def test_a_float32_forward_does_not_say_its_right_backward_follows_another_function(workbook):
    """Central differences of a float32 forward are rounding noise: the backward's line says
    so, not that the forward computes something else."""
    plant(
        workbook,
        "linear.py",
        "return out, (x, weight)",
        "return out.astype(np.float32), (x, weight)",
    )
    report = check(workbook, "linear")
    assert report["linear_forward"].message.startswith("out is float32")
    message = report["linear_backward"].message
    assert report["linear_backward"].passed
    assert "numerical gradients not checked: your forward returns float32" in message
    assert "does not compute" not in message


def test_a_function_misnamed_by_a_typo_is_named_with_its_line(workbook):
    """def linear_backwards(...): the line names the function the file does define and
    points at it, not only 'is not defined in the file'."""
    path = plant(workbook, "linear.py", "def linear_backward(", "def linear_backwards(")
    result = check(workbook, "linear")["linear_backward"]
    assert result.status == "fail"
    assert result.message.endswith("; it defines linear_backwards: name it linear_backward")
    assert result.location == f"{path}:{line_of(path, 'def linear_backwards')}"


def test_an_endless_loop_is_stopped_after_the_time_limit(workbook):
    path = plant(
        workbook,
        "sgd.py",
        "    g = grad",
        "    while True:\n        param = param + 0\n    g = grad",
    )
    report = check(workbook, "sgd", time_limit=1)
    result = report["sgd_step"]
    assert result.status == "fail" and result.message.startswith("stopped after 1 s")
    assert (
        line_of(path, "while True")
        <= int(result.location.rsplit(":", 1)[1])
        <= line_of(path, "while True") + 1
    )


def test_an_endless_loop_at_import_is_stopped_too(workbook):
    plant(
        workbook, "adam.py", "import numpy as np\n", "import numpy as np\n\nwhile True:\n    pass\n"
    )
    report = check(workbook, "adam", time_limit=1)
    assert report["adam_step"].message.startswith("stopped after 1 s")
    assert report["adam_step"].message.endswith('try-outs under if __name__ == "__main__":')


def test_prints_in_the_learners_code_do_not_disturb_the_grader(workbook):
    plant(
        workbook,
        "relu.py",
        "    out = np.maximum(x, 0)",
        "    print('debug' * 1000)\n    out = np.maximum(x, 0)",
    )
    assert check(workbook, "relu").ok


def test_a_right_backward_after_a_wrong_forward_says_they_disagree(workbook):
    plant(
        workbook,
        "conv2d.py",
        "    out += bias[None, :, None, None]",
        "    out += 2 * bias[None, :, None, None]",
    )
    report = check(workbook, "conv2d")
    assert report["conv2d_forward"].status == "fail"
    assert report["conv2d_backward"].passed  # it is the library's gradient ...
    assert "numerical gradients of your own forward differ" in report["conv2d_backward"].message


def test_a_forward_stopped_by_the_time_limit_leaves_its_backward_ungraded(workbook):
    plant(
        workbook,
        "relu.py",
        "    out = np.maximum(x, 0)",
        "    while x.ndim == 4:  # the second case\n        pass\n    out = 0",
    )
    report = check(workbook, "relu", time_limit=1)
    assert report["relu_forward"].message.startswith("stopped after 1 s")
    assert report["relu_backward"].message == "needs relu_forward's cache: relu_forward first"


@pytest.mark.parametrize(
    "file, old, new, function, words",
    [
        ("relu", "return dout * (x > 0)", "dout[x <= 0] = 0\n    return dout",
         "relu_backward", "changed its argument dout in place"),
        ("relu", "out = np.maximum(x, 0)", "out = np.maximum(x, 0, out=x)",
         "relu_forward", "changed its argument x in place"),
        ("sgd", "new_velocity = momentum * velocity + g\n",
         "velocity *= momentum\n    velocity += g\n    new_velocity = velocity\n",
         "sgd_step", "changed its argument velocity in place"),
        ("linear", "dbias = dout.sum(axis=0)", "dbias = dout.sum(axis=0)\n    dout *= 0",
         "linear_backward", "changed its argument dout in place"),
    ],
)  # fmt: skip
def test_a_function_that_writes_into_its_inputs_fails_naming_the_argument(
    workbook, file, old, new, function, words
):
    """The stubs ask for new arrays ("Do not change dout in place"): a right answer made by
    writing into an argument still fails, and says which argument changed."""
    path = plant(workbook, f"{file}.py", old, new)
    report = check(workbook, file)
    result = report[function]
    assert result.status == "fail" and words in result.message, str(report)
    assert result.location == f"{path}:{line_of(path, f'def {function}')}"
    others = [r for r in report.results if r.function != function]
    assert all(r.passed for r in others), str(report)  # only the planted one fails
