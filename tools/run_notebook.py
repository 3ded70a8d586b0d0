"""Execute notebooks/walkthrough.ipynb in place, so that it is committed with its outputs
(a reader on GitHub then sees every picture).

    python tools/run_notebook.py            # MNIST from ./data, $CNN_NUMPY_DATA or ../shared/data

Run it after a change that alters what the notebook prints or draws; tests/test_notebook.py
checks that the committed copy is executed and its pictures are small.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


def main() -> None:
    shared = ROOT.parent / "shared" / "data"
    if (
        "CNN_NUMPY_DATA" not in os.environ
        and not (ROOT / "data" / "mnist").is_dir()
        and (shared / "mnist").is_dir()
    ):
        os.environ["CNN_NUMPY_DATA"] = str(shared)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    nbformat.write(nb, NOTEBOOK)
    print(f"executed {NOTEBOOK.relative_to(ROOT)} ({NOTEBOOK.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
