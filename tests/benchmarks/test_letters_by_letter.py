"""benchmarks/letters_by_letter.py prints a row per letter with the share its model's check
accepts and the digits it answers, and the summary of both kinds of letters."""

import re

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.novelty_lines import STATS, lenet_on_lines

import cnn_numpy as cnn


def test_a_row_per_letter_and_the_digit_shaped_ones_marked(tmp_path, capsys):
    model, _, Xn, y = lenet_on_lines(np.random.default_rng(0), n=200)
    path = tmp_path / "m.npz"
    cnn.save(model, path, dataset="mnist", normalize=STATS, input_shape=[1, 28, 28])
    cnn.save_novelty(path, cnn.fit_novelty(model, Xn, y, rng=3))
    script = load_script("letters_by_letter")
    assert script.main([str(path), "--per-letter", "2", "--letters", "AOzbqIA"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| [A-Za-z][ |]", line)]
    assert [r[2] for r in rows] == list("AOzbqI")  # in the order asked, each once
    assert {r[2] for r in rows if "(digit-shaped)" in r} == set("OzqI")
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"\d+%", cells[1])  # every letter is printed
        assert (cells[3] == "") == (row[2] not in script.LETTERS)  # handwritten where drawn
        for share, answers in ((cells[1], cells[2]), (cells[3], cells[4])):
            if share:  # the digits answered add up to the photos accepted
                took = sum(int(n) for n in re.findall(r"\d×(\d+)", answers))
                assert took == round(int(share[:-1]) / 100 * 2)
    assert re.search(r"printed: refused [\d.]+% of the 2 other letters, [\d.]+% of the 4 ", out)
    assert re.search(r"handwritten: refused [\d.]+% of the 2 other letters, [\d.]+% of the 1 ", out)
    assert script.DIGIT_SHAPED == "OoIilZzSsgq" and len(script.LETTERS) == 39


def test_one_digit_shaped_letter_alone(tmp_path, capsys):
    model, _, Xn, y = lenet_on_lines(np.random.default_rng(0), n=200)
    path = tmp_path / "m.npz"
    cnn.save(model, path, dataset="mnist", normalize=STATS, input_shape=[1, 28, 28])
    cnn.save_novelty(path, cnn.fit_novelty(model, Xn, y, rng=3))
    assert (
        load_script("letters_by_letter").main([str(path), "--per-letter", "1", "--letters", "O"])
        == 0
    )
    out = capsys.readouterr().out
    assert re.search(r"\nprinted: refused [\d.]+% of the 1 digit-shaped ones\n", out), out
    assert "\nhandwritten: refused" not in out and "nan" not in out


def test_letters_that_are_not_letters_are_refused():
    script = load_script("letters_by_letter")
    for bad in ("", "A1", "é"):
        with pytest.raises(SystemExit, match="letters A-Z and a-z only"):
            script.main(["model.npz", "--letters", bad])
