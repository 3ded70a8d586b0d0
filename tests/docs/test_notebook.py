"""notebooks/walkthrough.ipynb runs top to bottom (nbclient), with MNIST when the files are
around (``<repo>/../shared/data``, as in CI) and without them, and finds the files the CLI
downloaded; it is committed executed, with small pictures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
SHARED_DATA = ROOT.parent / "shared" / "data"


def execute(tmp_path: Path) -> str:
    """Run the notebook in ``tmp_path``; return all its text output."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def has_mnist(folder: Path) -> bool:
    return (folder / "mnist" / "train-images-idx3-ubyte.gz").is_file()


@pytest.mark.skipif(not has_mnist(SHARED_DATA), reason="no MNIST files in ../shared/data")
def test_notebook_runs_with_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_NUMPY_DATA", str(SHARED_DATA))
    out = execute(tmp_path)
    assert "Conv2d relative errors" in out
    assert "test accuracy" in out and "MNIST not available" not in out


def test_notebook_runs_without_mnist(tmp_path, monkeypatch):
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("CNN_NUMPY_DATA", str(empty))
    out = execute(tmp_path)
    assert "Epoch 05" in out  # the lines part ran
    assert "MNIST not available, skipping this section" in out


def test_notebook_is_committed_executed_with_small_pictures():
    """A reader on the web sees every output, pictures included, and they stay small."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    pictures = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"not executed: {cell.source[:60]}"
            pictures += [
                o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})
            ]
    assert len(pictures) >= 8  # curves, filters, feature maps, matrix...
    sizes = [len(p) * 3 // 4 for p in pictures]  # base64 -> bytes
    assert max(sizes) < 120_000 and sum(sizes) < 600_000, sizes
    assert "MNIST not available" not in str(nb.cells[16].outputs)  # run with the real data


def test_notebook_finds_the_data_the_cli_downloaded(tmp_path, monkeypatch):
    """Run from notebooks/, as Jupyter does, it finds ../data/mnist, where `cnn-numpy train`
    run from the repository keeps the files."""
    from helpers.idx_fixtures import fake_files, write_files

    write_files(tmp_path / "data" / "mnist", fake_files(np.random.default_rng(0), 64, 32))
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("CNN_NUMPY_DATA", raising=False)
    out = execute(tmp_path / "notebooks")
    assert "MNIST not available" not in out and "test accuracy" in out


def test_notebook_opens_in_colab_and_installs_itself():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert "colab.research.google.com/github/" in nb.cells[0].source
    install = nb.cells[1].source
    assert "google.colab" in install and "pip" in install
    assert os.path.basename(NOTEBOOK) in nb.cells[0].source
