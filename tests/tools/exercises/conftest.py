from __future__ import annotations

from pathlib import Path

import pytest
from helpers.workbook import solved_workbook


@pytest.fixture
def workbook(tmp_path) -> Path:
    """A fresh workbook in a temporary folder, filled with the correct solution."""
    return solved_workbook(tmp_path / "my-cnn")
