"""What ``diagnose`` returns: one ``Finding`` per check, gathered in a ``Diagnosis``."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field

#: the checks, in the order they run and print: the data first, then the network at
#: initialisation, then short training runs (Karpathy's recipe: "become one with the data")
CHECKS = (
    "labels",
    "input_scale",
    "init_loss",
    "gradients",
    "dead_relu",
    "saturation",
    "overfit",
    "update_ratio",
    "lr",
)

STATUSES = ("ok", "warn", "fail")


@dataclass
class Finding:
    """The result of one check.

    ``check`` is one of ``CHECKS``; ``status`` is ``"ok"``, ``"warn"`` or ``"fail"``;
    ``message`` says what was measured, what it means and, when it is not ok, what to try;
    ``data`` holds the measurements (plain numbers and lists) the pictures are drawn from.
    """

    check: str
    status: str
    message: str
    data: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"Finding: unknown check {self.check!r}; the checks are {CHECKS}")
        if self.status not in STATUSES:
            raise ValueError(f"Finding: status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def worst(*statuses: str) -> str:
    """The most serious of some statuses: fail > warn > ok."""
    return max(statuses, key=STATUSES.index, default="ok")


@dataclass
class Diagnosis:
    """The findings of ``diagnose``, in ``CHECKS`` order.

    ``diagnosis.problems`` are the findings that are not ok; ``diagnosis["lr"]`` is one
    finding by its check name; ``print(diagnosis)`` shows them all as a table.
    ``activations`` holds per-layer statistics of one forward pass (the histograms).
    """

    findings: list[Finding]
    activations: list[dict] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, check: str) -> Finding:
        for finding in self.findings:
            if finding.check == check:
                return finding
        ran = [f.check for f in self.findings]
        raise KeyError(f"no finding {check!r}: this diagnosis ran {ran}")

    def summary(self) -> str:
        """One line: how many checks ran and what they found."""
        fails = sum(f.status == "fail" for f in self.findings)
        warns = sum(f.status == "warn" for f in self.findings)
        checks = "1 check" if len(self) == 1 else f"{len(self)} checks"
        if not fails and not warns:
            ran = "1 check, ok" if len(self) == 1 else f"All {checks} ok"
            return f"{ran} ({self.seconds:.1f} s)."
        found = ", ".join(f"{n} {word}" for n, word in ((fails, "failed"), (warns, "warned")) if n)
        return f"{checks}: {found} ({self.seconds:.1f} s)."

    def table(self, width: int = 100) -> str:
        """The findings as a text table, each message wrapped under its row."""
        name_width = max(len("check"), *(len(f.check) for f in self.findings))
        indent = " " * (name_width + 10)
        lines = [
            f"{'check':<{name_width}}  status  finding",
            f"{'-' * name_width}  ------  {'-' * (width - len(indent))}",
        ]
        for f in self.findings:
            wrapped = textwrap.wrap(f.message, width - len(indent)) or [""]
            status = f.status.upper() if f.status != "ok" else "ok"
            lines.append(f"{f.check:<{name_width}}  {status:<6}  {wrapped[0]}")
            lines += [indent + line for line in wrapped[1:]]
        return "\n".join(lines + [self.summary()])

    def __str__(self) -> str:
        return self.table()

    def as_dict(self) -> dict:
        """JSON-friendly: every finding with its data, and the activation statistics."""
        return {
            "seconds": self.seconds,
            "findings": [
                {"check": f.check, "status": f.status, "message": f.message, "data": f.data}
                for f in self.findings
            ],
            "activations": self.activations,
        }
