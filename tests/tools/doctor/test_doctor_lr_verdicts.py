"""The lr and update_ratio findings never give opposite verdicts on the same rate, and a
range test that never saw the loss rise says it found no upper limit (issue 31 item 2)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cnn_numpy.tools.doctor import thresholds as T
from cnn_numpy.tools.doctor.lr_range import check_lr
from cnn_numpy.tools.doctor.short_runs import check_update_ratio


def curve(shape: str) -> dict:
    """A range-test result: ``falling`` to the end, ``rising`` after 0.1, or ``blowup`` at 1."""
    lrs = list(np.geomspace(T.LR_START, T.LR_END, 50))
    if shape == "falling":
        losses = list(np.linspace(0.7, 0.01, 50))
    else:
        k = int(np.searchsorted(lrs, 0.1))
        losses = list(np.linspace(0.7, 0.05, k + 1)) + list(np.linspace(0.06, 0.5, 49 - k))
    blew = None
    if shape == "blowup":
        k = int(np.searchsorted(lrs, 1.0))
        lrs, losses, blew = lrs[:k], losses[:k], lrs[k]
    lowest = int(np.argmin(losses))
    falls = next(lr for lr, v in zip(lrs, losses) if v <= 0.7 - 0.1 * (0.7 - losses[lowest]))
    return dict(
        lrs=lrs,
        losses=losses,
        start_loss=0.7,
        lr_min=lrs[lowest],
        min_loss=losses[lowest],
        lr_falls=falls,
        suggested=lrs[lowest] / 10,
        diverged_lr=blew,
        steps=50,
        batch_size=8,
    )


def trial(lr: float, typical: float, peak: float | None = None) -> dict:
    """A short run at ``lr`` whose weight moves ``typical`` of its size per step."""
    ratios = [typical] * 49 + [peak if peak is not None else typical]
    return dict(lr=lr, batch_size=8, steps=50, losses=[0.5] * 50, ratios={"0.weight": ratios},
                diverged_at=None)  # fmt: skip


def direction(finding, user_lr: float) -> str | None:
    """Which way a finding's advice moves the user's rate: "high" (it says: go lower),
    "low" (go higher), or None (an ok finding, or advice that is not about the rate)."""
    if finding.status == "ok":
        return None
    advice = finding.message.rpartition("Try: ")[2]
    if advice.startswith("lr="):
        return "high" if float(advice[3:].rstrip(".")) < user_lr else "low"
    if "smaller" in advice:
        return "high"
    if "larger" in advice:
        return "low"
    return None


def test_still_falling_at_the_end_is_no_upper_limit_not_past_a_rise():
    found = check_lr(curve("falling"), 10.0, trial(10.0, 50.0, peak=399.0))
    assert found.status == "fail"
    assert "found no upper limit" in found.message
    assert "past the point where the loss rises" not in found.message
    assert "399x its own size" in found.message  # judged by what was measured at it


def test_still_falling_and_a_healthy_run_at_the_rate_is_within_range():
    found = check_lr(curve("falling"), 10.0, trial(10.0, 1e-3))
    assert found.status == "ok" and "no upper limit" in found.message
    assert "too high" not in found.message


def test_a_real_rise_still_fails_a_rate_far_past_it():
    found = check_lr(curve("rising"), 1.0, trial(1.0, 1e-3))
    assert found.status == "fail" and "past the point where the loss rises" in found.message
    found = check_lr(curve("blowup"), 5.0, None)
    assert found.status == "fail" and "past the rate where the loss blew up" in found.message


@pytest.mark.parametrize("shape", ["falling", "rising", "blowup"])
@pytest.mark.parametrize("user_lr", [1e-6, 1e-3, 0.05, 0.1, 0.25, 1.0, 5.0, 10.0])
@pytest.mark.parametrize("typical, peak", [(1e-3, None), (1e-5, None), (0.5, 3.0), (0.2, None)])
def test_lr_and_update_ratio_never_point_opposite_ways(shape, user_lr, typical, peak):
    run = trial(user_lr, typical, peak)
    lr_finding, update_finding = check_lr(curve(shape), user_lr, run), check_update_ratio(run)
    pair = {direction(lr_finding, user_lr), direction(update_finding, user_lr)}
    assert pair != {"high", "low"}, f"{lr_finding.message}\n{update_finding.message}"


def test_diagnose_lr_10_on_the_lines_does_not_contradict_itself(tmp_path):
    """The reported case: ``cnn-numpy diagnose --lr 10 --optimizer sgd`` on the lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "diagnose", "--lr", "10", "--optimizer", "sgd",
         "--checks", "lr,update_ratio", "--out", str(tmp_path / "d")],
        capture_output=True, text=True,
    )  # fmt: skip
    out = " ".join(proc.stdout.split())  # the table wraps lines
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "one step changed 0.weight by" in out  # what was measured at 10 judges it
    assert "far too high" in out and "a larger learning rate" not in out  # both: smaller
    assert "a larger rate, watching the loss" not in out
    assert out.count("Try: lr=") == 1 and "Try: a smaller learning rate" in out
