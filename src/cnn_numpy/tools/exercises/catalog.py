"""The exercises: their files, functions and order, what each teaches, and its hints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    name: str  # also the file's name: <name>.py
    functions: tuple[str, ...]
    teaches: str
    hints: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.py"


#: the path through the workbook, in order
EXERCISES = (
    Exercise(
        "relu",
        ("relu_forward", "relu_backward"),
        "the forward/backward contract: what to cache, and a gradient that is a mask",
        (
            "The forward is one NumPy call that compares every entry with 0. Ask yourself what "
            "backward will need to know, and put just that in the cache.",
            "The local derivative of max(0, x) is 1 where x > 0 and 0 elsewhere; backward "
            "multiplies dout by it, elementwise.",
            "At x == 0 exactly the gradient is 0, as PyTorch: use the mask x > 0, not x >= 0. "
            "Return a new array: do not write into dout.",
        ),
    ),
    Exercise(
        "linear",
        ("linear_forward", "linear_backward"),
        "the chain rule as three matrix products, and why the bias gradient is a sum",
        (
            "Write the shapes down: x is (N, in), weight is (out, in), the output (N, out). "
            "Which product of x and weight (or its transpose) has that shape?",
            "Check every gradient by its shape: dweight must be (out, in), so it can only be "
            "dout.T (out, N) times x (N, in).",
            "The same bias is added to every example of the batch, so its gradient adds up "
            "the batch's: sum dout over axis 0, do not take one row or the mean.",
        ),
    ),
    Exercise(
        "softmax_cross_entropy",
        ("softmax_cross_entropy",),
        "the loss, its famous gradient (p - onehot) / N, and numerical stability",
        (
            "Shift each row by its own maximum before exp (keepdims keeps the shapes "
            "broadcasting). Softmax does not change, and exp never overflows.",
            "Work with log softmax (the shifted row minus the log of its sum of exps); each "
            "row's label can be picked with one fancy index of a range and the labels.",
            "The loss is the mean over the batch, so the gradient is divided by N too: "
            "p, minus 1 at each row's label, all over N.",
        ),
    ),
    Exercise(
        "sgd",
        ("sgd_step",),
        "what an optimizer is (a rule that uses the gradient), momentum and weight decay",
        (
            "Without momentum and weight decay the rule is param - lr * grad; build up from that.",
            "Weight decay goes into the gradient first (g = grad + weight_decay * param), "
            "then momentum uses that g.",
            "Return new arrays and the new velocity; the caller keeps the velocity for the next "
            "step (it starts at zeros).",
        ),
    ),
    Exercise(
        "conv2d",
        ("conv2d_forward", "conv2d_backward"),
        "the convolution as loops over windows, padding and stride, and its three gradients",
        (
            "Pad the input first (np.pad, zeros on H and W only), then get H_out and W_out from "
            "the docstring's formula.",
            "One output number is one window of the padded input (rows from i*stride, columns "
            "from j*stride, the kernel's size) times kernel f, elementwise, summed over c, a "
            "and b. Use the kernel as it is: no flipping.",
            "Backward walks the same loops: where the forward read a window, the gradient "
            "flows back into that window of a zero array the padded input's shape (add, windows "
            "overlap), and the window itself, times dout, into dweight[f].",
            "At the end cut the padding off the gradient of the padded input; dbias adds dout "
            "up over the batch and both spatial axes.",
        ),
    ),
    Exercise(
        "maxpool2d",
        ("maxpool2d_forward", "maxpool2d_backward"),
        "a layer without weights whose gradient is routing: who won each window",
        (
            "The same window loops as conv2d, with the window's maximum instead of a weighted "
            "sum, and no padding.",
            "In backward, find each window's winner again: np.argmax gives the first maximum "
            "in row-major order as a flat index, np.unravel_index turns it into (a, b).",
            "Only that one position gets dout[n, c, i, j], and it must add to what is there: "
            "overlapping windows can pick the same pixel.",
        ),
    ),
    Exercise(
        "batchnorm2d",
        ("batchnorm2d_forward", "batchnorm2d_backward"),
        "statistics per channel, and a gradient that flows through the mean and variance",
        (
            "Per channel means over the batch and both spatial axes; keepdims keeps shapes "
            "that broadcast against x.",
            "The variance divides by M = N*H*W, as np.var does by default (not M - 1).",
            "dgamma and dbeta are sums over (0, 2, 3), like a bias; keep x_hat and "
            "1 / sqrt(var + eps) in the cache.",
            "dx is not just dout * gamma / sqrt(var + eps): every x moves the mean and the "
            "variance, which moves every x_hat of its channel; the docstring's formula has "
            "both terms.",
        ),
    ),
    Exercise(
        "adam",
        ("adam_step",),
        "per-parameter step sizes from running moments, and why they need bias correction",
        (
            "Update m and v first, from the gradient; both are running means.",
            "m and v start at 0, so early on they are too small: divide by 1 - beta1**t and "
            "1 - beta2**t (t counts from 1).",
            "eps goes outside the square root: sqrt(v_hat) + eps.",
        ),
    ),
)

#: a layer's backward: what it returns, and which forward argument each gradient is for
BACKWARD_GRADS = {
    "relu": {"dx": 0},
    "linear": {"dx": 0, "dweight": 1, "dbias": 2},
    "conv2d": {"dx": 0, "dweight": 1, "dbias": 2},
    "maxpool2d": {"dx": 0},
    "batchnorm2d": {"dx": 0, "dgamma": 1, "dbeta": 2},
}

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


def exercise_named(name: str) -> Exercise:
    """The exercise called ``name`` (a ValueError listing them otherwise)."""
    name = name.removesuffix(".py")
    if name not in BY_NAME:
        raise ValueError(f"there is no exercise {name!r}; the exercises are {', '.join(BY_NAME)}")
    return BY_NAME[name]
