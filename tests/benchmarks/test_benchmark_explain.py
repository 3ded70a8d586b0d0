"""benchmarks/adversarial.py and benchmarks/explain_lessons.py run (on tiny generated files)
so they cannot rot."""

import re
from pathlib import Path

import numpy as np
from helpers.benchmark_scripts import load_script
from helpers.idx_fixtures import fake_files, write_files

import cnn_numpy as cnn

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_adversarial_benchmark_prints_the_table(tmp_path, capsys):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 6))
    out = tmp_path / "runs"
    args = ["--data-dir", str(data), "--out", str(out), "--pgd-limit", "3"]
    assert load_script("adversarial").main([*args, "--models", "default,fgsm"]) == 0
    text = capsys.readouterr().out
    assert "$ cnn-numpy train --dataset mnist" in text and "--adversarial 0.1" in text
    rows = [line for line in text.splitlines() if line.startswith(("default ", "fgsm "))]
    assert len(rows) == 4 and all(line.count("%") == 5 for line in rows)
    assert re.search(r"^fgsm +PGD-20 +3 ", text, re.M) and re.search(
        r"^default +FGSM +6 ", text, re.M
    )
    assert load_script("adversarial").main([*args, "--models", "default"]) == 0  # done: reused
    assert "$ cnn-numpy" not in capsys.readouterr().out


def test_explain_lessons_prints_its_tables_and_draws(tmp_path, capsys):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 6))
    model = cnn.save(cnn.lenet(10, rng=0), tmp_path / "model.npz", dataset="mnist",
                     normalize={"mean": 0.13, "std": 0.31}, input_shape=[1, 28, 28],
                     class_names=list(cnn.MNIST_CLASSES))  # fmt: skip
    args = [str(model), "--data-dir", str(data), "--images", "4", "--out", str(tmp_path)]
    assert load_script("explain_lessons").main(args) == 0
    text = capsys.readouterr().out
    assert "completeness on 4 test images" in text and "Sanity check on 4" in text
    assert text.count("Conv2d") == 2 and "Class images: 10" in text
    assert (tmp_path / "why-sanity.png").is_file() and (tmp_path / "why-class-images.png").is_file()


def test_explain_lessons_names_a_class_a_weak_model_never_reaches(tmp_path, capsys):
    """A weak model whose ascent for a class ends on another: a row saying so, not a traceback."""
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 16, 6))
    model = cnn.save(cnn.lenet(10, rng=0), tmp_path / "model.npz", dataset="mnist",
                     normalize={"mean": 0.13, "std": 0.31}, input_shape=[1, 28, 28],
                     class_names=list(cnn.MNIST_CLASSES))  # fmt: skip
    script = load_script("explain_lessons")
    reach = script.class_image

    def weak(model, k, shape, rng):
        if k == 2:
            raise ValueError("class_image: the ascent ended on class 7, not 2")
        return reach(model, k, shape, rng=rng)

    script.class_image = weak
    args = [str(model), "--data-dir", str(data), "--images", "4", "--out", str(tmp_path)]
    assert script.main(args) == 0
    text = capsys.readouterr().out
    assert "9 predicted as their class" in text and "not reached, 2: class_image" in text
    assert (tmp_path / "why-class-images.png").is_file()
