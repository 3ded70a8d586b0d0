"""benchmarks/tweak_me.py runs the experiments of docs/08-tweak-me.md (on the lines and on
tiny generated MNIST files here) and prints what each run measured; its experiments are the
page's commands, so the two cannot drift apart."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.idx_fixtures import fake_files, write_files

from cnn_numpy.presets import seed_net
from cnn_numpy.tools.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "tweak_me.py"
PAGE = ROOT / "docs" / "08-tweak-me.md"


def load_script():
    spec = importlib.util.spec_from_file_location("tweak_me_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def rows(out: str) -> dict[str, list[str]]:
    """The table rows by experiment name, cells stripped."""
    found = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 10 and not set(cells[0]) <= {"-", " "}:
            found[cells[0]] = cells
    found.pop("experiment", None)
    return found


def numbers(cell: str) -> list[float]:
    return [float(v) for v in cell.split(", ")]


def parsed(flags: list[str]) -> dict:
    return vars(build_parser().parse_args(["train", *flags]))


def test_every_experiment_is_a_command_on_the_page_and_back():
    script = load_script()
    page = [
        shlex.split(line, comments=True)[2:]
        for line in re.findall(r"^cnn-numpy train\b.*$", PAGE.read_text(), re.M)
    ]
    on_page = [parsed(flags) for flags in page]
    experiments = [parsed(script.command(e, 5000)) for e in script.EXPERIMENTS]
    missing = [e.name for e, args in zip(script.EXPERIMENTS, experiments) if args not in on_page]
    assert missing == [], f"experiments with no command on {PAGE.name}"
    untried = [shlex.join(flags) for flags, args in zip(page, on_page) if args not in experiments]
    assert untried == [], "commands on the page that benchmarks/tweak_me.py does not run"
    assert "python benchmarks/tweak_me.py" in PAGE.read_text()


def test_lines_experiments_print_their_numbers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    only = ["baseline", "baseline-again", "epochs-1", "blocks-2"]
    assert load_script().main(["--section", "lines", "--only", *only]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert sorted(table) == sorted(only)
    name, flags, params, shape, firing, loss, train, test, wall, cpu = table["baseline"]
    assert flags == "`(none)`" and params == "2,786" and shape == "8x13x13"
    assert re.fullmatch(r"[0-8] of 8", firing)
    assert len(numbers(loss)) == 5 and numbers(loss)[-1] < numbers(loss)[0]
    assert all(0 <= v <= 1 for v in numbers(train) + numbers(test))
    assert float(wall) > 0 and float(cpu) >= 0
    assert table["baseline-again"][5:8] == table["baseline"][5:8]
    assert numbers(table["epochs-1"][5]) == numbers(loss)[:1]
    blocks = table["blocks-2"]
    assert blocks[2] == "2,050" and blocks[3] == "16x5x5" and blocks[4].endswith(" of 8")
    assert "the same seed twice gives the same numbers: yes" in out
    assert "CPU: " in out and "load average at the start" in out


def test_mnist_experiments_run_on_the_given_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path / "data" / "mnist", fake_files(np.random.default_rng(0), 24, 8))
    only = ["seed-net", "seed-filters-16", "lenet-batch-32"]
    args = ["--section", "mnist", "--data-dir", str(tmp_path / "data"), "--limit", "16"]
    assert load_script().main([*args, "--only", *only]) == 0
    table = rows(capsys.readouterr().out)
    assert sorted(table) == sorted(only)
    count = sum(p.data.size for _, p in seed_net(10, filters=16).named_parameters())
    assert table["seed-filters-16"][2] == f"{count:,}"
    assert "--limit 16" in table["seed-net"][1]
    for cells in table.values():
        assert len(numbers(cells[5])) == 3  # the MNIST default: 3 epochs
        assert all(0 <= v <= 1 for v in numbers(cells[7]))
    assert not (tmp_path / "runs").exists()  # the run folders are temporary


def test_bad_arguments_are_refused(capsys):
    script = load_script()
    with pytest.raises(SystemExit, match="no experiment is called nonesuch"):
        script.main(["--only", "nonesuch"])
    with pytest.raises(SystemExit, match="no experiment of --section mnist is called batch-8"):
        script.main(["--section", "mnist", "--only", "batch-8"])  # a lines experiment
    with pytest.raises(SystemExit) as refused:
        script.main(["--limit", "0"])
    assert refused.value.code == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
