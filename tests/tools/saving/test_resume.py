"""Checkpoints: a run stopped by Ctrl-C and resumed ends exactly where an unbroken run ends."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli import training as train_cli
from cnn_numpy.tools.saving.checkpoint import interrupts_deferred, load_checkpoint, save_checkpoint
from cnn_numpy.tools.saving.model_files import load, load_card

# lines data, 480 images in 30 batches of 16 per epoch; momentum and a schedule to restore
FLAGS = [
    "train",
    "--epochs",
    "4",
    "--batch-size",
    "16",
    "--momentum",
    "0.9",
    "--schedule",
    "step",
    "--step-size",
    "1",
    "--gamma",
    "0.5",
    "--no-report",
]


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    """A run folder of 4 epochs trained without a break."""
    run_dir = tmp_path_factory.mktemp("unbroken")
    assert main([*FLAGS, "--out", str(run_dir)]) == 0
    return run_dir


def history_without_times(run_dir):
    history = json.loads((run_dir / "history.json").read_text())
    history.pop("seconds")
    return history


@pytest.mark.parametrize("interrupt_at_batch", [31, 75])  # start of epoch 2, middle of 3
def test_ctrl_c_then_resume_equals_an_unbroken_run(
    unbroken, tmp_path, monkeypatch, capsys, interrupt_at_batch
):
    broken = tmp_path / "broken"

    calls = []

    class CtrlC(cnn.CrossEntropyLoss):
        def forward(self, logits, y):
            calls.append(1)
            if len(calls) == interrupt_at_batch:
                raise KeyboardInterrupt
            return super().forward(logits, y)

    monkeypatch.setattr(train_cli, "CrossEntropyLoss", CtrlC)
    assert main([*FLAGS, "--out", str(broken)]) == 130
    done = (interrupt_at_batch - 1) // 30
    out = capsys.readouterr().out
    assert f"after epoch {done}" in out and f"cnn-numpy train --resume {broken}" in out
    assert len(load_checkpoint(broken / "checkpoint.npz").history) == done
    monkeypatch.undo()

    assert main(["train", "--resume", str(broken), "--no-report"]) == 0
    assert history_without_times(broken) == history_without_times(unbroken)
    for name in ("model.npz", "best.npz"):
        a, b = load(unbroken / name).state_dict(), load(broken / name).state_dict()
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    a, b = load_checkpoint(unbroken / "checkpoint.npz"), load_checkpoint(broken / "checkpoint.npz")
    assert a.optimizer_state.keys() == b.optimizer_state.keys()
    for key in a.optimizer_state:
        np.testing.assert_array_equal(a.optimizer_state[key], b.optimizer_state[key])
    assert a.scheduler_state == b.scheduler_state


@pytest.mark.skipif(os.name != "posix", reason="sends a real SIGINT")
def test_a_real_ctrl_c_exits_130_with_how_to_resume(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "cnn_numpy",
        "train",
        "--epochs",
        "50",
        "--no-report",
        "--out",
        str(run_dir),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:
            if line.startswith("Epoch 01"):
                process.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
                break
        out = process.stdout.read()
        assert process.wait(timeout=60) == 130
    assert "Traceback" not in out and f"cnn-numpy train --resume {run_dir}" in out
    saved = load_checkpoint(run_dir / "checkpoint.npz")  # at an epoch's end, or within one
    if saved.progress is None:
        assert f"holds the run after epoch {saved.epoch} " in out
    else:
        step, epoch = saved.progress.step, saved.epoch + 1
        assert f"holds the run after batch {step} of 480 in epoch {epoch} " in out


def test_run_folder_holds_last_and_best_models_with_cards(unbroken):
    run_dir = unbroken
    history = json.loads((run_dir / "history.json").read_text())
    last, best = load_card(run_dir / "model.npz"), load_card(run_dir / "best.npz")
    assert last["epochs"] == 4 and last["dataset"] == "lines"
    assert last["class_names"] == ["vertical", "horizontal"] and last["input_shape"] == [1, 28, 28]
    assert last["normalize"] == {"mean": 0.0, "std": 1.0} and last["seed"] == 0
    assert best["test_acc"] == max(history["test_acc"])
    assert best["epochs"] == 1 + history["test_acc"].index(best["test_acc"])
    last_weights, checkpoint_weights = (
        load(run_dir / "model.npz").state_dict(),
        load(run_dir / "checkpoint.npz").state_dict(),
    )
    for key, value in last_weights.items():  # load() reads a checkpoint too
        np.testing.assert_array_equal(checkpoint_weights[key], value)


def test_resume_extends_a_finished_run_and_refuses_a_folder_without_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main([*FLAGS[:2], "2", *FLAGS[3:], "--out", str(run_dir)]) == 0
    assert main(["train", "--resume", str(run_dir), "--epochs", "3", "--no-report"]) == 0
    assert json.loads((run_dir / "history.json").read_text())["epoch"] == [1, 2, 3]
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "--no-report"]) == 0
    assert (
        "No epoch left to train (all 3 epochs are done): the run's ending is done again"
        in capsys.readouterr().out
    )
    assert main(["train", "--resume", str(tmp_path / "nowhere")]) == 1
    assert "not a run folder" in capsys.readouterr().err


def test_checkpoint_restores_dropout_adam_and_schedule_exactly(tmp_path):
    """Library level: the Dropout masks continue from the same random state."""
    X, y = cnn.synthetic_lines(40, rng=0)

    def setup():
        model = cnn.Sequential(
            cnn.Conv2d(1, 4, 3, rng=0),
            cnn.ReLU(),
            cnn.MaxPool2d(2),
            cnn.Flatten(),
            cnn.Dropout(0.5, rng=1),
            cnn.Linear(676, 2, rng=0),
        )
        optimizer = cnn.Adam(model.parameters(), lr=0.01)
        return model, optimizer, cnn.CosineAnnealingLR(optimizer, T_max=3)

    def train(model, optimizer, scheduler, epochs, rng, history=None):
        return cnn.fit(
            model,
            cnn.CrossEntropyLoss(),
            optimizer,
            (X, y),
            epochs=epochs,
            batch_size=16,
            rng=rng,
            scheduler=scheduler,
            history=history,
            callbacks=[],
        )

    model, optimizer, scheduler = setup()
    train(model, optimizer, scheduler, 3, np.random.default_rng(4))

    first, optimizer1, scheduler1 = setup()
    rng = np.random.default_rng(4)
    history = train(first, optimizer1, scheduler1, 1, rng)
    save_checkpoint(tmp_path / "checkpoint.npz", first, optimizer1, history, rng, scheduler1)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz")
    resumed = checkpoint.model
    optimizer2 = cnn.Adam(resumed.parameters(), lr=0.01)
    scheduler2 = cnn.CosineAnnealingLR(optimizer2, T_max=3)
    checkpoint.restore_optimizer(optimizer2)
    checkpoint.restore_scheduler(scheduler2)
    train(resumed, optimizer2, scheduler2, 2, checkpoint.rng, checkpoint.history)

    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
    assert optimizer2.lr == optimizer.lr
    with pytest.raises(ValueError, match="Adam"):
        checkpoint.restore_optimizer(cnn.SGD(resumed.parameters(), lr=0.1))


def test_ctrl_c_waits_until_a_save_is_complete():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append(True)  # still running: the interrupt is held
    assert finished == [True]


def test_a_checkpoint_made_with_adamw_loads_and_restores_it(tmp_path):
    """save_checkpoint wrote AdamW's state, and load_checkpoint then called the file damaged
    ('its optimizer entry must be SGD | Adam')."""
    X, y = cnn.synthetic_lines(20, rng=0)
    model = cnn.Sequential(cnn.Flatten(), cnn.Linear(784, 2, rng=0))
    optimizer = cnn.AdamW(model.parameters(), lr=0.01)
    history = cnn.fit(model, cnn.CrossEntropyLoss(), optimizer, (X, y), epochs=1, callbacks=[])
    save_checkpoint(tmp_path / "c.npz", model, optimizer, history, np.random.default_rng(0))
    checkpoint = load_checkpoint(tmp_path / "c.npz")
    again = cnn.AdamW(checkpoint.model.parameters(), lr=0.5)
    checkpoint.restore_optimizer(again)
    assert again.lr == 0.01 and again.t == optimizer.t
