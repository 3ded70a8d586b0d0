"""The README's Python snippets run as written (so the front page cannot rot)."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
SHARED_DATA = Path(__file__).parents[3] / "shared" / "data"  # the team's real MNIST, if here


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(code, tmp_path, monkeypatch):
    if "import torch" in code:
        pytest.importorskip("torch")
    if "export_onnx" in code and os.environ.get("CI") != "true":  # CI must run it
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
    if "load_mnist()" in code:
        if not (SHARED_DATA / "mnist").is_dir():
            pytest.skip("real MNIST files not available (tests never download)")
        monkeypatch.setenv("CNN_NUMPY_DATA", str(SHARED_DATA))
    monkeypatch.chdir(tmp_path)  # anything a snippet writes stays out of the repo
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_readme_relative_links_resolve():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    missing = [link for link in local if not (README.parent / link).exists()]
    assert local and not missing, f"README links to missing files: {missing}"


def test_the_repository_address_is_written_in_one_place():
    """README, docs and notebook name the repository of pyproject.toml's [project.urls]."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "sync", README.parent / "tools" / "sync_repository_url.py"
    )
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    name = sync.repository()
    found = {str(path): sync.references(path.read_text()) for path in sync.files()}
    assert sum(len(refs) for refs in found.values()) >= 4  # badge, links, install line
    wrong = {path: refs for path, refs in found.items() if any(r != name for r in refs)}
    assert not wrong, f"run python tools/sync_repository_url.py: {wrong}"
