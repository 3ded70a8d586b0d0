"""Adversarial training through ``fit``, with no change to the loop: a model wrapper that
remembers the batch's images and a loss that attacks them.

    adv = AdversarialTraining(model, eps=0.1, attack="pgd")
    fit(adv.model, adv.loss, optimizer, train, epochs=5, callbacks=[AdversarialEpoch(adv)])

``fit`` runs ``logits = model(x)``, ``loss(logits, y)``, ``model.backward(loss.backward())``.
FGSM (Goodfellow et al. 2015), loss ½·CE(x) + ½·CE(x_adv): ``loss.forward`` backpropagates
½·CE(x) through the clean forward at once (the parameters get their half, and dL/dx gives
the attack's direction), then runs the model on x_adv = clip(x + eps·sign(dL/dx)); fit's
backward then adds the adversarial half.  PGD (Madry et al. 2018), loss CE(x_adv): x_adv is
PGD from a random start (made in eval mode), and only it is trained on.  ``fit``'s train_acc
stays the clean batches' accuracy; the adversarial one is counted here.
"""

from __future__ import annotations

import numpy as np

from ...layers.base import Layer
from ...losses import CrossEntropyLoss
from ...train import Callback, History
from ..input_gradients.backprop import (
    backward_through,
    check_clip,
    check_inside,
    check_number,
    check_steps,
    explaining,
)
from .attacks import pgd_steps

ATTACKS = ("fgsm", "pgd")


class RememberInput(Layer):
    """``model`` itself, except that it keeps the images of the last training forward."""

    def __init__(self, model: Layer):
        self.inner, self.x = model, None

    @property
    def layers(self) -> list:
        """The wrapped Sequential's layers (what the Monitor and the live page look at)."""
        return getattr(self.inner, "layers", [])

    def __setattr__(self, name: str, value) -> None:
        """A ``forward`` set on the instance (the Monitor does, to watch one pass layer by
        layer) still remembers the images first."""
        if name == "forward" and callable(value):
            watched = value

            def value(x):
                self.x = x
                return watched(x)

        object.__setattr__(self, name, value)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return self.inner.forward(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        return backward_through(self.inner, grad_out, self.needs_input_grad)

    def output_shape(self, input_shape):
        return self.inner.output_shape(input_shape)

    def named_parameters(self):
        return self.inner.named_parameters()

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    def train(self, mode: bool = True) -> RememberInput:
        self.training = mode
        self.inner.train(mode)
        return self

    def __repr__(self) -> str:
        return f"RememberInput({self.inner!r})"


class AdversarialLoss:
    """Cross-entropy on adversarial examples of the batch ``model`` (a ``RememberInput``)
    has just seen; see the module's docstring.  Counts the adversarial batches' accuracy."""

    def __init__(self, model: RememberInput, eps, attack, clip, steps, step_size, rng):
        self.model, self.eps, self.attack, self.clip = model, eps, attack, clip
        self.steps, self.step_size, self.rng = steps, step_size, np.random.default_rng(rng)
        self.ce = CrossEntropyLoss()
        self.correct = self.seen = 0

    def __call__(self, logits, labels) -> float:
        return self.forward(logits, labels)

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        x, inner = self.model.x, self.model.inner
        check_inside(x, self.clip, "AdversarialTraining")
        if self.attack == "fgsm":
            clean_loss = self.ce.forward(logits, labels)
            dx = backward_through(inner, 0.5 * self.ce.backward(), True)  # ½ of the step
            x_adv = x + self.eps * np.sign(dx).astype(x.dtype)
            x_adv = x_adv if self.clip is None else np.clip(x_adv, *self.clip)
        else:
            with explaining(inner):  # the attack leaves grads and modes as they were
                x_adv = pgd_steps(
                    inner,
                    x,
                    labels,
                    self.eps,
                    self.step_size,
                    self.steps,
                    self.clip,
                    None,
                    self.rng,
                )
        adv_logits = inner.forward(x_adv.astype(x.dtype))  # fit's backward goes through this
        adv_loss = self.ce.forward(adv_logits, labels)
        self.correct += int((adv_logits.argmax(axis=1) == labels).sum())
        self.seen += len(labels)
        return 0.5 * (clean_loss + adv_loss) if self.attack == "fgsm" else adv_loss

    def backward(self) -> np.ndarray:
        g = self.ce.backward()
        return 0.5 * g if self.attack == "fgsm" else g

    def accuracy(self) -> float | None:
        """The adversarial batches' accuracy since the last call (None if none were seen)."""
        acc = self.correct / self.seen if self.seen else None
        self.correct = self.seen = 0
        return acc


class AdversarialTraining:
    """``.model`` and ``.loss`` to hand to ``fit`` for adversarial training of ``model``.

    ``eps`` and ``clip`` are in the units of the model's input (see ``attacks.pixel_units``);
    PGD takes ``steps`` steps of ``step_size`` (default 2.5·eps/steps, Madry's rule) from a
    random start drawn from ``rng``.
    """

    def __init__(
        self, model, eps, attack="fgsm", clip=(0.0, 1.0), steps=7, step_size=None, rng=None
    ):
        if attack not in ATTACKS:
            raise ValueError(
                f"AdversarialTraining: attack must be one of {ATTACKS}, got {attack!r}"
            )
        eps = check_number(eps, "eps", "AdversarialTraining")
        steps = check_steps(steps, "AdversarialTraining")
        step_size = 2.5 * eps / steps if step_size is None else step_size
        step_size = check_number(step_size, "step_size", "AdversarialTraining")
        clip = check_clip(clip, "AdversarialTraining")
        self.inner = model
        self.model = RememberInput(model)
        self.loss = AdversarialLoss(self.model, eps, attack, clip, steps, step_size, rng)

    def describe(self) -> str:
        loss = self.loss
        how = f"{loss.steps} steps of {loss.step_size:.4g}" if loss.attack == "pgd" else "1 step"
        return f"{loss.attack.upper()} eps={loss.eps:.4g} ({how})"

    def test_accuracy(self, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
        """Accuracy on (X, y) under the attack trained against (in eval mode)."""
        loss, correct = self.loss, 0
        with explaining(self.inner):
            for start in range(0, len(X), batch_size):
                xb, yb = X[start : start + batch_size], y[start : start + batch_size]
                steps, size = (
                    (1, loss.eps) if loss.attack == "fgsm" else (loss.steps, loss.step_size)
                )
                rng = None if loss.attack == "fgsm" else loss.rng
                x_adv = pgd_steps(self.inner, xb, yb, loss.eps, size, steps, loss.clip, None, rng)
                correct += int((self.inner.forward(x_adv).argmax(axis=1) == yb).sum())
        return correct / len(X)


class AdversarialEpoch(Callback):
    """The epoch's line with the adversarial accuracies: on the training batches (as they
    were attacked) and on ``test`` (its first ``limit`` images, attacked after the epoch)."""

    def __init__(self, adversarial: AdversarialTraining, test=None, limit=1000, name=None):
        self.adversarial, self.limit = adversarial, limit
        self.name = adversarial.describe() if name is None else name  # the attack, as shown
        self.test = None if test is None else (test[0][:limit], test[1][:limit])

    def on_epoch_end(self, epoch: int, history: History) -> None:
        adv = self.adversarial
        line = f"{history.format_epoch()} | adv_train_acc={adv.loss.accuracy():.3f}"
        if self.test is not None:
            line += f" | adv_test_acc={adv.test_accuracy(*self.test):.3f}"
            line += f" ({self.name}, first {len(self.test[0])} test images)"
        print(line, flush=True)
