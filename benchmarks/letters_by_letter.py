"""Which letters a model's novelty check lets through, and as which digit: every letter
photographed as benchmarks/photos.py photographs the two kinds of letters (printed in the
machine's fonts, and written with the benchmark's own pen model), prepared as ``predict``
prepares a photo, answered with the model file's stored check.

    python benchmarks/letters_by_letter.py runs/mnist-lenet-.../best.npz --per-letter 20

One row per letter: the share of its photos *accepted* (answered as a digit, not refused)
and the digits they were answered as.  The letters marked ``digit-shaped``
(photo_handwriting.DIGIT_SHAPED: O o, I i l, Z z, S s, g q) are a digit's shape once
prepared; the benchmark's letter sets leave them out, and this table shows why.
"""

from __future__ import annotations

import argparse
import string
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from photo_handwriting import DIGIT_SHAPED, LETTERS  # noqa: E402
from photo_novelty import prepare  # noqa: E402
from photo_subjects import handwriting_photo, letter_photo  # noqa: E402

from cnn_numpy.tools.cli.common import int_in  # noqa: E402

#: the two kinds of letters, as (name, photo maker, the letters it can draw)
KINDS = (
    ("printed", letter_photo, string.ascii_letters),
    ("handwritten", handwriting_photo, "".join(sorted(LETTERS))),
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model file with a novelty check (an MNIST model)")
    p.add_argument("--per-letter", type=int_in(1), default=20, help="photos of each letter")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--letters",
        default=string.ascii_uppercase + string.ascii_lowercase,
        help="only these letters (e.g. AOzb; default: all 52)",
    )
    return p.parse_args(argv)


def photos_of(kind: int, letter: str, count: int, seed: int, folder: Path):
    """``count`` photos of one letter, prepared: (count, 28, 28), and where ink was found
    (count,): a photo without is refused by ``predict``, so never accepted."""
    _, make, letters = KINDS[kind]
    rng = np.random.default_rng([seed, 3, kind, letters.index(letter)])
    items = []
    for k in range(count):
        data, suffix = make(rng, letter=letter)
        path = folder / f"{kind}-{ord(letter)}-{k}{suffix}"
        path.write_bytes(data)
        items.append((str(path), -1))
    images, _, ok = prepare(items)
    return images, ok


def answerer(model_path: str):
    """images (n, 28, 28) -> (the share the model's check accepts, the digits it answers
    them as), with the model file's own check and normalisation."""
    import cnn_numpy as cnn
    from cnn_numpy.data import normalize

    model, novelty = cnn.load(model_path), cnn.load_novelty(model_path)
    stats = cnn.load_card(model_path).get("normalize") or {"mean": 0.0, "std": 1.0}

    def accepted(images: np.ndarray, ok: np.ndarray) -> tuple[float, Counter]:
        inputs = normalize(images, stats["mean"], stats["std"])[:, None]
        answer = cnn.predict_with_novelty(model, inputs, novelty)
        kept = ~answer.refused & ok
        return float(kept.mean()), Counter(answer.predicted[kept].tolist())

    return accepted


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.letters or not set(args.letters) <= set(string.ascii_letters):
        raise SystemExit(f"--letters: letters A-Z and a-z only, got {args.letters!r}")
    print(f"{Path(args.model)}: {args.per_letter} photos a letter, seed {args.seed}\n")
    print("| letter | printed: accepted | as | handwritten: accepted | as |")
    print("| --- | ---: | --- | ---: | --- |")
    accepted = answerer(args.model)
    shares = {(k, s): [] for k in range(len(KINDS)) for s in (False, True)}
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-letters-") as folder:
        for letter in dict.fromkeys(args.letters):
            cells = []
            for kind, (_, _, letters) in enumerate(KINDS):
                if letter not in letters:
                    cells += ["", ""]
                    continue
                photos = photos_of(kind, letter, args.per_letter, args.seed, Path(folder))
                share, digits = accepted(*photos)
                shares[kind, letter in DIGIT_SHAPED].append(share)
                cells += [f"{share:.0%}", " ".join(f"{d}×{n}" for d, n in sorted(digits.items()))]
            mark = " (digit-shaped)" if letter in DIGIT_SHAPED else ""
            print(f"| {letter}{mark} | " + " | ".join(cells) + " |", flush=True)
    print()
    for kind, (name, _, _) in enumerate(KINDS):
        parts = [
            f"{1 - np.mean(group):.1%} of the {len(group)} {what}"
            for group, what in ((shares[kind, False], "other letters"),
                                (shares[kind, True], "digit-shaped ones"))
            if group
        ]  # fmt: skip
        if parts:  # (--letters O: no handwritten O)
            print(f"{name}: refused " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
