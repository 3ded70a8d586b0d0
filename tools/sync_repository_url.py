"""Copy the repository's address from pyproject.toml ([project.urls] Repository) into every
place that names it: the Colab badge and links (README, docs, notebook) and the notebook's
install line.

    python tools/sync_repository_url.py        # after changing the address in pyproject.toml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: github.com/<owner>/<name> as written in a Colab link or a pip "git+https://" URL
ADDRESS = re.compile(
    r"(colab\.research\.google\.com/github/|github\.com/)"
    r"([\w.-]+/[\w.-]+?)(?=/blob/|\.git\b|[)\s\"])"
)


def repository() -> str:
    """owner/name from pyproject.toml."""
    match = re.search(
        r'^Repository = "https://github\.com/([^"]+?)/?"$',
        (ROOT / "pyproject.toml").read_text(),
        re.M,
    )
    return match.group(1)


def files() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "notebooks").glob("*.ipynb")),
    ]


def references(text: str) -> list[str]:
    return [m.group(2) for m in ADDRESS.finditer(text)]


def main() -> int:
    name, changed = repository(), 0
    for path in files():
        text = path.read_text()
        new = ADDRESS.sub(lambda m: m.group(1) + name, text)
        if new != text:
            path.write_text(new)
            changed += 1
            print(f"updated {path.relative_to(ROOT)}")
    print(f"{changed} file(s) changed; the repository is {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
