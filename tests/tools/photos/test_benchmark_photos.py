"""The photo benchmark's own pen model (benchmarks/photo_handwriting.py): handwritten letters
and doodles are strokes of varying width, unlike the digits' one-width pen, and every kind
of photo the benchmark takes is an image that ``preprocess_digit`` can read."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from photo_handwriting import LETTERS, doodle, handwritten_letter, pressure_pen  # noqa: E402
from photo_scenes import CONDITIONS, Look  # noqa: E402
from photo_subjects import NON_DIGITS, non_digit_photo  # noqa: E402

from cnn_numpy.tools.photos.images import preprocess_digit  # noqa: E402


def test_the_pressure_pen_is_thin_at_the_ends_and_wide_in_the_middle():
    line = [np.array([[0.0, 0.5], [0.5, 0.5], [1.0, 0.5]])]  # one horizontal stroke
    ink = pressure_pen(line, 100, 0.1, np.random.default_rng(0))
    widths = (ink > 0.5).sum(axis=0)  # the stroke's width in each column
    columns = np.flatnonzero(widths)
    ends = np.r_[widths[columns[:3]], widths[columns[-3:]]]
    middle = widths[columns[len(columns) // 2 - 5 : len(columns) // 2 + 5]]
    assert ends.max() < 0.6 * middle.mean()
    assert ink.max() <= 1.0 and ink.min() >= 0.0


@pytest.mark.parametrize("seed", range(3))
def test_letters_and_doodles_are_drawn(seed):
    rng = np.random.default_rng(seed)
    for make in (handwritten_letter, doodle):
        ink = make(rng, 120, 0.06)
        assert ink.ndim == 2 and (ink > 0.5).sum() > 100
    assert not {"I", "O", "S", "Z", "l", "o", "s"} & set(LETTERS)  # no digit-shaped letters


def test_every_kind_and_the_hardest_condition_make_a_readable_photo(tmp_path):
    rng = np.random.default_rng(0)
    items = np.zeros((1, 28, 28), np.float32)
    items[0, 6:22, 8:20] = 0.8  # a stand-in for a Fashion-MNIST item
    for kind in ("handwriting", "doodles"):
        data, suffix = non_digit_photo(kind, rng, items)
        path = tmp_path / f"{kind}{suffix}"
        path.write_bytes(data)
        try:  # ink found and prepared, or the clear error of a page with nothing on it
            assert preprocess_digit(path).image.shape == (28, 28)
        except ValueError as err:
            assert str(err).startswith("no digit found")
    assert set(NON_DIGITS) >= {"handwriting", "doodles", "letters", "scribbles"}
    look = Look(**CONDITIONS["combined + blur"])
    assert look.blur and look.desk and look.lamp and look.shadow and look.ink == "blue"
    assert Image.open(io.BytesIO(data)).size[0] > 100


def test_neither_kind_of_letters_draws_a_digit_shaped_letter(monkeypatch):
    """An O prepared as MNIST's digits are *is* a 0: the printed and the handwritten letters
    both leave out DIGIT_SHAPED (the printed ones once drew all 52, the handwritten a z)."""
    import photo_handwriting
    import photo_subjects

    assert set("OoIilZzSsgq") <= set(photo_handwriting.DIGIT_SHAPED)
    assert not set(photo_subjects.LETTERS) & set(photo_handwriting.DIGIT_SHAPED)
    assert len(photo_subjects.LETTERS) == 52 - len(photo_handwriting.DIGIT_SHAPED)
    drawn = []
    names = {id(strokes): name for name, strokes in photo_handwriting.LETTERS.items()}
    monkeypatch.setattr(photo_handwriting, "hand", lambda s, rng: drawn.append(names[id(s)]) or [])
    monkeypatch.setattr(photo_handwriting, "pressure_pen", lambda *a: None)
    rng = np.random.default_rng(0)
    for _ in range(400):
        handwritten_letter(rng, 100, 0.05)
    assert set(drawn) == set(LETTERS) - set(photo_handwriting.DIGIT_SHAPED)
    handwritten_letter(rng, 100, 0.05, letter="z")  # asked for by name, it is drawn
    assert drawn[-1] == "z"
