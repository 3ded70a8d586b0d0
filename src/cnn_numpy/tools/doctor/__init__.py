"""When training goes wrong: ``diagnose`` runs the teachers' checklist before you train, and
``Monitor`` watches the inside of the network while ``fit`` trains it.

    checklist.py       diagnose(): the checklist, on copies of your model and optimizer
    findings.py        Finding, Diagnosis (the table you print)
    thresholds.py      every number it judges by, with its source
    data_checks.py     labels, input_scale
    forward_checks.py  init_loss, dead_relu, saturation (one forward pass)
    gradients.py       gradients (numerical check of every layer)
    short_runs.py      overfit, update_ratio (short training runs)
    lr_range.py        lr (the learning-rate range test)
    cures.py           overfit's search for the cause; findings made to agree
    signal_run.py      do the labels follow the images? (loss on held-out images)
    activations.py     per-layer activation statistics, shared with the monitor
    copies.py          deep copies, float64 copies
    monitor.py         Monitor: statistics every N steps of fit, filters every epoch
"""

from .checklist import diagnose
from .findings import CHECKS, Diagnosis, Finding
from .monitor import Monitor

__all__ = ["CHECKS", "Diagnosis", "Finding", "Monitor", "diagnose"]
