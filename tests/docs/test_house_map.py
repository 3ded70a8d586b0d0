"""The map of the house in docs/README.md names every tool folder, and the README's table of
folders links every one: a learner looking for a tool (the workbook, say) finds it on the map.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "src" / "cnn_numpy" / "tools"
FOLDERS = sorted(p.name for p in TOOLS.iterdir() if (p / "__init__.py").exists())
CORE = sorted(
    p.name for p in (ROOT / "src" / "cnn_numpy").glob("*.py") if not p.name.startswith("_")
)


def house_map() -> str:
    text = (ROOT / "docs" / "README.md").read_text()
    return text.split("## The house: where everything lives", 1)[1].split("```", 2)[1]


def test_the_map_names_every_tool_folder():
    drawn = set(re.findall(r"[├└]── (\w+)/", house_map()))
    assert len(FOLDERS) >= 10
    assert not set(FOLDERS) - drawn, f"docs/README.md's map misses tools/{set(FOLDERS) - drawn}"


def test_the_readme_table_links_every_tool_folder():
    linked = set(re.findall(r"\]\(src/cnn_numpy/tools/(\w+)/\)", (ROOT / "README.md").read_text()))
    assert not set(FOLDERS) - linked, f"README's table of folders misses {set(FOLDERS) - linked}"


def test_the_map_names_the_core_modules_the_tour_teaches():
    taught = {"losses.py", "optim.py", "schedulers.py", "model.py", "summary.py", "train.py"}
    taught |= {"gradcheck.py", "reference.py", "presets.py", "checks.py", "transforms.py"}
    assert taught <= set(CORE)
    drawn = set(re.findall(r"(\w+\.py)", house_map()))
    assert not taught - drawn, f"docs/README.md's map misses {taught - drawn}"
