"""StepLR and CosineAnnealingLR: PyTorch's rates step by step, resume, and use from fit/CLI."""

import math

import numpy as np
import pytest

from cnn_numpy import SGD, Adam, CosineAnnealingLR, CrossEntropyLoss, Linear, Parameter, StepLR, fit
from cnn_numpy.data import synthetic_lines
from cnn_numpy.presets import seed_net

SCHEDULES = [
    (StepLR, dict(step_size=3)),
    (StepLR, dict(step_size=2, gamma=0.5)),
    (CosineAnnealingLR, dict(T_max=10)),
    (CosineAnnealingLR, dict(T_max=4, eta_min=0.01)),  # 12 steps: past T_max it climbs again
]


def optimizer(lr=0.1):
    return SGD([Parameter(np.zeros(3))], lr=lr)


@pytest.mark.parametrize("cls, kwargs", SCHEDULES)
def test_rates_match_torch_step_by_step(cls, kwargs):
    torch = pytest.importorskip("torch")
    ours = optimizer(0.1)
    scheduler = cls(ours, **kwargs)
    theirs = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
    twin = getattr(torch.optim.lr_scheduler, cls.__name__)(theirs, **kwargs)
    for epoch in range(1, 13):
        theirs.step()
        twin.step()
        scheduler.step()
        assert math.isclose(ours.lr, twin.get_last_lr()[0], rel_tol=1e-12, abs_tol=1e-15), (
            f"{cls.__name__}({kwargs}) epoch {epoch}: {ours.lr} != {twin.get_last_lr()[0]}"
        )
        assert scheduler.get_last_lr() == [ours.lr]


def test_formulas():
    opt = optimizer(1.0)
    step = StepLR(opt, step_size=2, gamma=0.5)
    rates = []
    for _ in range(5):
        step.step()
        rates.append(opt.lr)
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25]
    cosine = CosineAnnealingLR(optimizer(1.0), T_max=4, eta_min=0.2)
    assert [cosine.lr_at(t) for t in (0, 2, 4)] == [1.0, pytest.approx(0.6), pytest.approx(0.2)]


@pytest.mark.parametrize("cls, kwargs", SCHEDULES)
def test_state_dict_resumes_on_the_same_rates(cls, kwargs):
    first_opt = optimizer()
    first = cls(first_opt, **kwargs)
    for _ in range(5):
        first.step()
    resumed_opt = optimizer(123.0)  # lr is overwritten by the schedule's
    resumed = cls(resumed_opt, **kwargs)
    resumed.load_state_dict(first.state_dict())
    assert resumed_opt.lr == first_opt.lr
    for _ in range(4):
        first.step(), resumed.step()
        assert resumed_opt.lr == first_opt.lr


def test_bad_arguments():
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        StepLR(optimizer(), step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        CosineAnnealingLR(optimizer(), T_max=0)
    with pytest.raises(ValueError, match="has no learning rate"):
        StepLR(object(), step_size=1)


def test_fit_steps_the_schedule_after_each_epoch():
    X, y = synthetic_lines(40, rng=0)
    model = seed_net(rng=0)
    opt = Adam(model.parameters(), lr=0.01)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    fit(
        model,
        CrossEntropyLoss(),
        opt,
        (X, y),
        epochs=3,
        batch_size=8,
        rng=0,
        scheduler=scheduler,
        callbacks=[],
    )
    assert scheduler.last_epoch == 3 and opt.lr == pytest.approx(0.01 / 8)


def test_cli_schedule_flags():
    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.train import build_scheduler, resolve_defaults

    def scheduler_for(*argv):
        args = resolve_defaults(build_parser().parse_args(["train", *argv]))
        return args, build_scheduler(args, optimizer(args.lr))

    args, scheduler = scheduler_for("--epochs", "9", "--schedule", "step")
    assert isinstance(scheduler, StepLR) and scheduler.step_size == 3
    args, scheduler = scheduler_for("--schedule", "cosine", "--eta-min", "0.001")
    assert isinstance(scheduler, CosineAnnealingLR) and scheduler.T_max == args.epochs
    assert scheduler_for()[1] is None  # the seed's run: no schedule
    args, scheduler = scheduler_for("--dataset", "mnist", "--model", "deep")
    assert args.schedule == "cosine" and args.optimizer == "adam"


def test_last_epoch_is_taken_at_torchs_default_only():
    opt = SGD(Linear(2, 2, rng=0).parameters(), lr=0.1)
    assert StepLR(opt, 2, last_epoch=-1).last_epoch == 0
    for make in (lambda: StepLR(opt, 2, 0.1, 3), lambda: CosineAnnealingLR(opt, 5, last_epoch=2)):
        with pytest.raises(ValueError, match="to resume, call scheduler.load_state_dict"):
            make()


def test_a_scheduler_given_the_model_says_to_pass_the_optimizer():
    """It printed the model's whole multi-line repr and no fix."""
    from cnn_numpy import Sequential

    with pytest.raises(ValueError) as err:
        StepLR(Sequential(Linear(3, 2, rng=0)), 1)
    message = str(err.value)
    assert "\n" not in message
    assert (
        "Sequential (a model, not an optimizer) has no learning rate `lr`; pass the optimizer"
        in message
    )
