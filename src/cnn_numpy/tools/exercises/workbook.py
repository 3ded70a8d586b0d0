"""The workbook on disk: ``start`` writes it, ``hint`` hands out hints one at a time,
``check`` grades it.

A workbook is a folder with one file per exercise, a README.md with the order, and
``.workbook.json``: the workbook's format version (so a later cnn-numpy knows which
signatures it holds), a hash of each stub as written (so ``start --force`` can tell an
untouched stub from the learner's work, which it never replaces) and the hints seen.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from shlex import quote

from ... import __version__
from ...data.atomic import atomic_write_text
from .catalog import EXERCISES, exercise_named
from .grader import grade_exercise
from .report import Report

MANIFEST = ".workbook.json"
#: the workbook format this cnn-numpy writes, and the ones it can grade
VERSION = 1
GRADES = (1,)


def stub_text(name: str) -> str:
    """The text of a stub file (``relu.py``, ...) or of the workbook's README.md."""
    text = resources.files(__package__).joinpath("stubs", name).read_text(encoding="utf-8")
    if name == "README.md":
        rows = [
            f"| {k} | `{e.file}` | {', '.join(f'`{f}`' for f in e.functions)} | {e.teaches} |"
            for k, e in enumerate(EXERCISES, 1)
        ]
        text = text.replace("{table}", "\n".join(rows))
    return text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(folder: Path) -> dict | None:
    """The workbook's ``.workbook.json``, None if there is none; a damaged one is an error."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is damaged ({err}); `start --force` writes a new one") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("version"), int):
        raise ValueError(f"{path} is damaged (no version); `start --force` writes a new one")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def start(folder, force: bool = False) -> dict[str, list[str]]:
    """Write a fresh workbook into ``folder``: the stubs, README.md and .workbook.json.

    A folder that holds a workbook already is refused, unless ``force``: then only the files
    still as ``start`` wrote them (or missing) are written again; the learner's work is kept.
    Returns ``{"written": [...], "kept": [...]}`` (file names).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; pick a new folder for the workbook")
    names = [e.file for e in EXERCISES] + ["README.md"]
    present = [n for n in names + [MANIFEST] if (folder / n).exists()]
    if present and not force:
        own_readme = present == ["README.md"]  # a project's README.md is not a workbook
        what = "has a README.md of its own" if own_readme else "holds a workbook already"
        raise ValueError(
            f"{folder} {what} ({', '.join(present[:3])}...); nothing was "
            "written. Pass --force to write again only the stubs you have not changed (your "
            "own work is never replaced), or pick a new folder"
        )
    try:
        old = read_manifest(folder) or {}
    except ValueError:
        old = {}  # a damaged manifest: --force writes a new one
    old_stubs = old.get("stubs", {}) if isinstance(old.get("stubs"), dict) else {}
    hints = old.get("hints_seen", {}) if isinstance(old.get("hints_seen"), dict) else {}
    manifest = {
        "format": "cnn-numpy exercises",
        "version": VERSION,
        "written_by": f"cnn-numpy {__version__}",
        "stubs": {name: digest(stub_text(name)) for name in names},
        "hints_seen": hints,
    }
    written, kept = [], []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            text, path = stub_text(name), folder / name
            if path.exists():
                current = digest(path.read_text(encoding="utf-8", errors="replace"))
                if current not in (digest(text), old_stubs.get(name)):
                    kept.append(name)
                    continue
            atomic_write_text(path, text)
            written.append(name)
        write_manifest(folder, manifest)
    except OSError as err:  # a read-only folder, a full disk, a path under a file ...
        so_far = f" (written so far: {', '.join(written)})" if written else ""
        raise ValueError(
            f"cannot write the workbook into {folder} ({err.strerror or err}); pick a folder "
            f"you can write to{so_far}"
        ) from None
    return {"written": written, "kept": kept}


def workbook_folder(folder) -> tuple[Path, dict | None]:
    folder = Path(folder)
    if folder.is_file():  # `start` refuses it too: "start one" there would not help
        raise ValueError(
            f"{folder} is a file, not a workbook folder; give the folder that "
            "cnn-numpy exercises start made (it holds relu.py, linear.py, ...)"
        )
    if not folder.is_dir():
        raise ValueError(
            f"there is no workbook at {folder}; start one with: cnn-numpy exercises start {quote(str(folder))}"
        )
    manifest = read_manifest(folder)
    if manifest is None and not any((folder / e.file).exists() for e in EXERCISES):
        raise ValueError(  # a folder of something else: not 13 lines of "missing"
            f"there is no workbook at {folder} (no {MANIFEST}, none of its files: "
            f"{', '.join(e.file for e in EXERCISES[:3])}, ...); start one with: "
            f"cnn-numpy exercises start {quote(str(folder))}"
        )
    if manifest is not None and manifest["version"] not in GRADES:
        raise ValueError(
            f"{folder} is a workbook of version {manifest['version']}; this cnn-numpy "
            f"({__version__}) grades version {', '.join(map(str, GRADES))}: upgrade cnn-numpy"
        )
    return folder, manifest


def hint(folder, exercise: str) -> str:
    """The next hint for ``exercise`` (one more each call), as a line to print."""
    folder, manifest = workbook_folder(folder)
    chosen = exercise_named(exercise)
    if manifest is None:
        raise ValueError(f"{folder / MANIFEST} is missing; `start --force` writes it again")
    seen = manifest.get("hints_seen")
    if not isinstance(seen, dict):  # a hand-edited .workbook.json: its counts start again
        seen = manifest["hints_seen"] = {}
    shown = seen.get(chosen.name, 0)
    shown = shown if isinstance(shown, int) and not isinstance(shown, bool) else 0
    k = min(max(shown, 0) + 1, len(chosen.hints))
    seen[chosen.name] = k
    try:
        write_manifest(folder, manifest)
        unrecorded = ""
    except OSError as err:  # a read-only workbook (a teacher's shared copy): the hint still
        unrecorded = (
            f"\n  (not recorded: cannot write {folder / MANIFEST} ({err.strerror or err}), "
            "so the next call shows this hint again)"
        )
    more = (
        " (that was the last one: the docstring's docs page derives it all)"
        if k == len(chosen.hints)
        else ""
    )
    hint_text = chosen.hints[k - 1]
    return f"Hint {k} of {len(chosen.hints)} for {chosen.name}{more}:\n  {hint_text}{unrecorded}"


def check(folder, exercises=None, time_limit: float = 10.0, seed: int = 0) -> Report:
    """Grade the workbook in ``folder`` (all exercises, or the ones named) and return the
    ``Report``; ``print(report)`` shows a line per function.  Each function's calls get
    ``time_limit`` seconds in all, in a process of their own."""
    if isinstance(exercises, str):
        exercises = [exercises]
    if not isinstance(time_limit, (int, float)) or not 0 < time_limit <= 3600:
        raise ValueError(f"time_limit must be a number of seconds in (0, 3600], got {time_limit!r}")
    chosen = EXERCISES if not exercises else [exercise_named(n) for n in exercises]
    folder, manifest = workbook_folder(folder)
    report = Report(str(folder), version=manifest["version"] if manifest else None)
    for exercise in dict.fromkeys(chosen):
        report.results += grade_exercise(folder, exercise, float(time_limit), seed)
    return report
