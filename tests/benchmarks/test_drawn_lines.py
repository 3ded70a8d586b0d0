"""benchmarks/drawn_lines.py runs and prints its table, so it cannot rot."""

import re

from helpers.benchmark_scripts import load_script


def test_drawn_lines_prints_a_row_per_seed_with_the_lines_answered(capsys):
    assert load_script("drawn_lines").main(["--seeds", "0", "--per-kind", "6"]) == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("seed |"))
    assert [c.strip() for c in head.split("|")[1:3]] == ["lines", "short lines"]
    row = next(line for line in out.splitlines() if line.startswith("   0 |"))
    shares = [float(x) for x in re.findall(r"([\d.]+)%", row)]
    assert len(shares) == 7  # lines, short lines and five shapes (no --data-dir: no digits)
    assert shares[0] >= 80  # the drawn lines are answered, and rightly
    assert min(shares[2:]) >= 80  # the shapes that are not lines are refused
