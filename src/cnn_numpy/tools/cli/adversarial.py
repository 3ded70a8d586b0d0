"""``cnn-numpy train --adversarial EPS [--attack fgsm|pgd]``: adversarial training.

The flags, and ``fit_parts``: the model, loss and epoch line ``fit`` gets, which are the
plain ones without ``--adversarial`` and ``cnn_numpy.explain.AdversarialTraining``'s with it
(eps is in pixel units, converted here with the run's normalisation).
"""

from __future__ import annotations

from ...train import PrintEpoch
from .common import UsageError
from .settings import CHECKS, CHOICES

#: PGD's steps per training batch unless --attack-steps says otherwise
DEFAULT_PGD_STEPS = 7


def add_arguments(p) -> None:
    p.add_argument(
        "--adversarial",
        type=CHECKS["adversarial"],
        default=None,
        metavar="EPS",
        help="adversarial training against attacks of size EPS in pixel units (0-1, before "
        "the normalisation), e.g. 0.1: FGSM trains on ½·CE(x) + ½·CE(x_adv) (Goodfellow), "
        "PGD on PGD examples from a random start (Madry); each epoch's line adds the adversarial accuracy on the training batches and 1000 test images",
    )
    p.add_argument(
        "--attack",
        choices=CHOICES["attack"],
        default=None,
        help="the attack --adversarial trains against (default fgsm)",
    )
    p.add_argument(
        "--attack-steps",
        type=CHECKS["attack_steps"],
        default=None,
        metavar="N",
        help="PGD's steps per batch while training, each of 2.5·EPS/N (Madry's rule); "
        f"training costs about N+1 times a plain epoch (default {DEFAULT_PGD_STEPS})",
    )


def fit_parts(trained, model, loss, settings, data) -> tuple:
    """``(model, loss, epoch_line)`` for ``fit``: ``trained``, ``loss`` and PrintEpoch; or,
    with --adversarial, the adversarial wrapper of ``model``, its loss and its line."""
    if settings.adversarial is None:
        return trained, loss, PrintEpoch()
    if trained is not model:
        raise UsageError("--adversarial trains in one process; leave out --workers")
    from ..explain import AdversarialEpoch, AdversarialTraining, pixel_units

    eps, clip = pixel_units(settings.adversarial, data.normalize)
    method, steps = settings.attack or "fgsm", settings.attack_steps or DEFAULT_PGD_STEPS
    adversarial = AdversarialTraining(model, eps, method, clip, steps=steps, rng=[settings.seed, 5])
    attack = f"FGSM eps={settings.adversarial:g}"
    if method == "pgd":
        attack = f"PGD-{steps} eps={settings.adversarial:g} step={2.5 * settings.adversarial / steps:.3g}"
    return (
        adversarial.model,
        adversarial.loss,
        AdversarialEpoch(adversarial, data.test, name=attack),
    )
