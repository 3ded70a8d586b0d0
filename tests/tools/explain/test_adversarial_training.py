"""Adversarial training through fit: FGSM's ½·CE(x) + ½·CE(x_adv) and PGD's CE(x_adv) give
PyTorch's parameter gradients; fit reports clean and adversarial accuracy."""

import json

import numpy as np
import pytest
from cnn_numpy.explain import AdversarialEpoch, AdversarialTraining, pgd
from helpers import assert_close
from helpers.torch_twin import to_torch

import cnn_numpy as cnn
from cnn_numpy.layers.base import input_grad
from cnn_numpy.tools.cli import main

torch = pytest.importorskip("torch")
F = torch.nn.functional


def small_net():
    f64 = dict(dtype=np.float64)
    return cnn.Sequential(
        cnn.Conv2d(1, 3, 3, rng=0, **f64),
        cnn.ReLU(),
        cnn.MaxPool2d(2),
        cnn.Flatten(),
        cnn.Linear(3 * 5 * 5, 4, rng=1, **f64),
    )


def one_step(adv, x, y):
    """What fit does with one batch (without the optimizer): the loss and the parameters' grads."""
    adv.model.train()
    adv.model.zero_grad()
    loss = adv.loss.forward(adv.model.forward(x), y)
    with input_grad(adv.model, False):
        adv.model.backward(adv.loss.backward())
    return loss, {k: p.grad.copy() for k, p in adv.inner.named_parameters()}


def torch_grads(twin, loss):
    loss.backward()
    return {k: p.grad.numpy() for k, p in twin.named_parameters()}


@pytest.fixture
def batch():
    rng = np.random.default_rng(5)
    return rng.random((6, 1, 12, 12)), rng.integers(0, 4, 6)


def test_fgsm_training_step_is_goodfellows_loss(batch):
    x, y = batch
    model = small_net()
    twin = to_torch(model).train()
    loss, grads = one_step(AdversarialTraining(model, 0.1, "fgsm", clip=(0, 1)), x, y)
    xt = torch.tensor(x, requires_grad=True)
    (dx,) = torch.autograd.grad(F.cross_entropy(twin(xt), torch.tensor(y)), xt)
    x_adv = (xt + 0.1 * dx.sign()).clamp(0, 1).detach()
    expected = 0.5 * F.cross_entropy(
        twin(torch.tensor(x)), torch.tensor(y)
    ) + 0.5 * F.cross_entropy(twin(x_adv), torch.tensor(y))
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    for key, g in torch_grads(twin, expected).items():
        assert_close(grads[key], g, key)


def test_pgd_training_step_is_madrys_loss(batch):
    x, y = batch
    model = small_net()
    twin = to_torch(model).train()
    x_adv = pgd(model, x, y, 0.1, 0.04, 3, clip=(0, 1), rng=7)  # the same random start
    loss, grads = one_step(AdversarialTraining(model, 0.1, "pgd", (0, 1), 3, 0.04, rng=7), x, y)
    expected = F.cross_entropy(twin(torch.tensor(x_adv)), torch.tensor(y))
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    for key, g in torch_grads(twin, expected).items():
        assert_close(grads[key], g, key)


def test_bad_settings():
    with pytest.raises(ValueError, match="attack must be one of"):
        AdversarialTraining(small_net(), 0.1, "cw")
    with pytest.raises(ValueError, match="eps must be"):
        AdversarialTraining(small_net(), -0.1)


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_fit_trains_and_reports_both_accuracies(attack, capsys):
    X, y = cnn.synthetic_lines(40, noise=0.05, rng=0)
    model = cnn.seed_net(2, filters=2, rng=1)
    adv = AdversarialTraining(model, 0.1, attack, steps=2, rng=0)
    history = cnn.fit(
        adv.model, adv.loss, cnn.Adam(model.parameters(), lr=0.01), (X, y), 2, 16,
        test=(X[:20], y[:20]), rng=2, callbacks=[AdversarialEpoch(adv, (X[:20], y[:20]))],
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert len(history) == 2 and len(out) == 2
    assert "train_acc=" in out[1] and "test_acc=" in out[1]
    assert "adv_train_acc=" in out[1] and "adv_test_acc=" in out[1] and "first 20 test" in out[1]
    assert history.train_acc[-1] > 0.5  # it learns


def test_train_adversarial_cli(tmp_path, capsys):
    run = tmp_path / "run"
    flags = ["--epochs", "1", "--batch-size", "16", "--filters", "2", "--no-report"]
    assert main(["train", *flags, "--adversarial", "0.1", "--attack", "pgd",
                 "--attack-steps", "2", "--out", str(run)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "adv_train_acc=" in out and "PGD-2 eps=0.1" in out
    config = json.loads((run / "config.json").read_text())
    assert config["adversarial"] == 0.1 and config["attack"] == "pgd"
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-report"]) == 0
    resumed = capsys.readouterr().out
    assert "Epoch 02" in resumed and "PGD-2 eps=0.1" in resumed  # the run's own attack
    assert main(["train", *flags, "--attack", "pgd", "--out", str(tmp_path / "b")]) == 0
    assert "--attack pgd is ignored" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:  # argparse's usage error
        main(["train", *flags, "--adversarial", "2", "--out", str(tmp_path / "c")])
    assert bad.value.code == 2
    assert "--adversarial" in capsys.readouterr().err
    assert main(["train", *flags, "--adversarial", "0.1", "--workers", "2",
                 "--out", str(tmp_path / "d")]) == 2  # fmt: skip
    assert "leave out --workers" in capsys.readouterr().err


def test_the_monitor_watches_an_adversarial_run():
    """The Monitor runs one forward pass layer by layer (it replaces the model's forward):
    the wrapper still remembers the images, so the attack still has them."""
    X, y = cnn.synthetic_lines(20, noise=0.05, rng=0)
    model = cnn.seed_net(2, filters=2, rng=1)
    adv = AdversarialTraining(model, 0.1, "fgsm")
    monitor = cnn.Monitor(every=1)
    cnn.fit(adv.model, adv.loss, cnn.SGD(model.parameters(), lr=0.01), (X, y), 1, 8,
            rng=0, callbacks=[monitor])  # fmt: skip
    assert len(monitor.records) == 5 and monitor.records[0]["layers"][0]["label"] == "0: Conv2d"
    assert len(monitor.filters) == 1 and adv.loss.accuracy() is not None
