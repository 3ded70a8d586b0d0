"""The run folder of ``cnn-numpy train``: never overwrite a run by accident, and never leave
an empty one behind.

- ``--out DIR`` that already holds a run is refused (continue it with ``--resume DIR``, or
  pick another folder) unless ``--overwrite`` is given: then the old run's files go once
  the new run has saved an epoch (set aside until then, and put back if it fails before).
- A new run that fails before its first epoch is saved (disk full, a dead worker, ...)
  removes what it wrote, and the folder if it made it.  Ctrl-C keeps it: it says how to
  resume.
- ``--resume`` reuses the folder as it is.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..saving.run_folder import make_run_dir, put_back_run, remove_run, run_files, set_aside_run
from .common import CliError, writing


def check_out_folder(out: str | None, overwrite: bool) -> None:
    """A ``CliError`` if ``out`` already holds a run and ``overwrite`` is not set."""
    if out is None or overwrite:
        return
    files = run_files(out)
    if files:
        names = ", ".join(p.name for p in files[:4]) + (", ..." if len(files) > 4 else "")
        raise CliError(
            f"{out} already holds a run ({names}). Continue it with: cnn-numpy train "
            f"--resume {out}; or pick another folder with --out; or pass --overwrite "
            "to replace it"
        )


def first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (what mkdir will create)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


@contextlib.contextmanager
def run_folder(settings) -> Iterator[Path]:
    """The run's folder: ``settings.resume``'s, or a new one (``--out`` or
    runs/<dataset>-<model>-<time>), removed again if the block fails before an epoch is
    saved."""
    if settings.resume is not None:
        yield Path(settings.resume)
        return
    check_out_folder(settings.out, settings.overwrite)
    planned = Path(settings.out if settings.out is not None else "runs")
    created = first_missing(planned)  # None: the folder (or runs/) is there already
    with writing(f"create the run folder {settings.out or 'under runs/'}"):
        run_dir = make_run_dir(settings.dataset, settings.model, settings.out)
    if created is None and settings.out is None:
        created = run_dir  # a new runs/<name> in an existing runs/
    aside = None  # --overwrite: the old run, kept until the new one has saved an epoch
    if settings.overwrite and run_files(run_dir):
        with writing(f"replace the run in {run_dir}"):
            aside = set_aside_run(run_dir)
    try:
        yield run_dir
    except BaseException:
        if not (run_dir / "history.json").is_file():  # no epoch finished: nothing to keep
            remove_run(run_dir, up_to=created)
            if aside is not None:
                put_back_run(aside, run_dir)
                aside = None
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
