"""benchmarks/fashion_photos.py: its photos come back as the articles they show, and it runs."""

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.idx_fixtures import encode_idx, write_files

import cnn_numpy as cnn
from cnn_numpy.tools.photos.fashion import prepare_fashion


def block(rng) -> np.ndarray:
    """A made-up article: a smooth light block on black, its longer side filling the field."""
    image = np.zeros((28, 28), np.float32)
    width = int(rng.integers(10, 24))
    left = (28 - width) // 2
    image[:, left : left + width] = 0.5 + 0.4 * np.sin(np.arange(28) / 4)[:, None]
    return image


@pytest.mark.parametrize("condition", load_script("fashion_photos").CONDITIONS)
def test_each_condition_is_read_back_as_the_article(condition):
    script, rng = load_script("fashion_photos"), np.random.default_rng(0)
    for _ in range(3):
        image = block(rng)
        photo = np.asarray(script.photo(image, condition, rng), np.float32) / 255
        assert photo.shape[0] > 100  # enlarged, with margins
        back = prepare_fashion(photo).image
        assert np.corrcoef(back.ravel(), image.ravel())[0, 1] > 0.9, condition


def test_the_script_prints_a_row_per_condition(tmp_path, capsys):
    rng = np.random.default_rng(1)
    test_images = np.stack([block(rng) for _ in range(4)])
    labels = np.arange(4, dtype=np.uint8)
    folder = write_files(tmp_path / "fashion-mnist", {
        "train-images-idx3-ubyte": encode_idx((test_images * 255).astype(np.uint8)),
        "train-labels-idx1-ubyte": encode_idx(labels),
        "t10k-images-idx3-ubyte": encode_idx((test_images * 255).astype(np.uint8)),
        "t10k-labels-idx1-ubyte": encode_idx(labels),
    })  # fmt: skip
    model = tmp_path / "m.npz"
    cnn.save(cnn.lenet(rng=0), model, dataset="fashion-mnist", input_shape=[1, 28, 28],
             normalize={"mean": 0.3, "std": 0.35})  # fmt: skip
    script = load_script("fashion_photos")
    assert script.main([str(model), "--data-dir", str(folder), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 Fashion-MNIST test images, raw: " in out and "(-) right (refused)" in out
    assert all(f"| {c} | " in out for c in script.CONDITIONS)
    with pytest.raises(SystemExit):
        script.main([str(model), "--data-dir", str(folder), "--limit", "0"])
