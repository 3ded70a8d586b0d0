"""``Report``: the grader's results, one per function; ``print(report)`` is the table and
``report.to_dict()`` what ``check --json`` writes (for a teacher collecting a class's)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from .grader import FAIL, PASS, TODO, Result

MARKS = {PASS: "✓", FAIL: "✗", TODO: "✗"}  # not done yet: a ✗ that says so


def shown(location: str) -> str:
    """A file:line as the learner would type it: relative to the current folder if inside."""
    relative = os.path.relpath(location)
    return location if relative.startswith("..") else relative


@dataclass
class Report:
    folder: str
    results: list[Result] = field(default_factory=list)
    version: int | None = None  # the workbook's format version

    @property
    def ok(self) -> bool:
        """Every function graded passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, function: str) -> Result:
        for result in self.results:
            if result.function == function:
                return result
        raise KeyError(f"the report has no function {function!r}")

    def exercises_passed(self) -> list[str]:
        """The exercises all of whose functions pass."""
        names = dict.fromkeys(r.exercise for r in self.results)
        return [n for n in names if all(r.passed for r in self.results if r.exercise == n)]

    def summary(self) -> str:
        passed = sum(r.passed for r in self.results)
        todo = sum(r.status == TODO for r in self.results)
        left = f", {todo} not done yet" if todo else ""
        return f"{passed} of {len(self.results)} functions pass{left}"

    def __str__(self) -> str:
        width = max((len(r.function) for r in self.results), default=0)
        lines = [f"Workbook {self.folder}"]
        for r in self.results:
            line = f"{MARKS[r.status]} {r.function:<{width}}  {r.message}"
            if r.location and not r.passed:
                line += f"\n  {'':<{width}}  at {shown(r.location)}"
            lines.append(line)
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "workbook_version": self.version,
            "ok": self.ok,
            "summary": self.summary(),
            "results": [asdict(r) for r in self.results],
        }
