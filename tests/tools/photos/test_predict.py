"""MNIST-style preprocessing of your own images, and ``cnn-numpy predict``."""

import numpy as np
import pytest
from helpers.seed_model import trained_seed_net
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.photos.images import center_of_mass, preprocess_digit


def seven() -> np.ndarray:
    """A 20x12 digit-like '7' (1 = ink): a bar on top and a slanted stroke."""
    digit = np.zeros((20, 12), dtype=np.float32)
    digit[0:3, :] = 1
    for row in range(3, 20):
        col = 11 - (row - 3) * 9 // 16
        digit[row, max(0, col - 2) : col + 1] = 1
    return digit


def expected_28x28(digit: np.ndarray) -> np.ndarray:
    """``digit`` (already fitting 20x20) placed so its centre of mass is at (14, 14), as in
    MNIST (the mean centre of mass of its test digits is (13.99, 14.00))."""
    r, c = center_of_mass(digit)
    top, left = int(np.round(14 - r)), int(np.round(14 - c))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return out


def draw(digit, scale, canvas_hw, at, ink=0.0, paper=1.0):
    """``digit`` enlarged ``scale`` times (nearest), drawn at row/col ``at`` on a canvas."""
    big = np.kron(digit, np.ones((scale, scale), dtype=np.float32))
    canvas = np.full(canvas_hw, paper, dtype=np.float32)
    r, c = at
    region = canvas[r : r + big.shape[0], c : c + big.shape[1]]
    region[...] = paper + (ink - paper) * big
    return canvas


@pytest.mark.parametrize(
    "name, image",
    [
        ("dark pen on white paper, off-centre", draw(seven(), 3, (100, 80), (5, 40))),
        ("white ink on black", draw(seven(), 2, (60, 60), (10, 20), ink=1.0, paper=0.0)),
        ("in a corner of a wide image", draw(seven(), 4, (90, 300), (10, 250))),
        ("grey paper, grey pen", draw(seven(), 3, (70, 70), (2, 2), ink=0.2, paper=0.8)),
        ("same size as MNIST's box", draw(seven(), 1, (28, 28), (0, 0))),
    ],
)
def test_preprocessing_recovers_the_digit_by_construction(name, image):
    result = preprocess_digit(image)
    assert result.image.shape == (28, 28) and result.image.dtype == np.float32
    np.testing.assert_allclose(result.image, expected_28x28(seven()), atol=1e-5, err_msg=name)


def test_a_wide_digit_is_scaled_to_20_wide_keeping_its_aspect_ratio():
    wide = seven().T.copy()  # 12 x 20
    result = preprocess_digit(draw(wide, 5, (200, 150), (30, 20)))
    assert result.scaled.shape == (12, 20) and result.cropped.shape == (60, 100)
    np.testing.assert_allclose(result.image, expected_28x28(wide), atol=1e-5)


def test_a_photo_with_uneven_light_and_noise_is_cropped_to_the_digit():
    image = draw(seven(), 4, (120, 100), (20, 30), ink=0.15, paper=0.85)
    image += np.linspace(-0.1, 0.1, 100, dtype=np.float32)[None, :]  # light from the right
    image += np.random.default_rng(0).normal(0, 0.02, image.shape).astype(np.float32)
    result = preprocess_digit(np.clip(image, 0, 1))
    assert result.cropped.shape == (80, 48)
    assert np.abs(result.image - expected_28x28(seven())).mean() < 0.02


def test_centre_of_mass_is_centred_and_steps_are_recorded():
    result = preprocess_digit(draw(seven(), 3, (100, 80), (5, 40)))
    assert result.inverted and result.gray.shape == (100, 80)
    r, c = center_of_mass(result.image)
    assert abs(r - 14) <= 0.5 and abs(c - 14) <= 0.5


def save_png(path, image, mode="L"):
    Image.fromarray(np.round(image * 255).astype(np.uint8)).convert(mode).save(path)
    return path


def test_image_files_png_jpeg_and_transparent(tmp_path):
    image = draw(seven(), 3, (100, 80), (5, 40))
    expected = expected_28x28(seven())
    png = save_png(tmp_path / "seven.png", image, "RGB")
    np.testing.assert_allclose(preprocess_digit(png).image, expected, atol=1e-5)
    transparent = Image.new("RGBA", (80, 100), (0, 0, 0, 0))  # ink only where alpha = 255
    alpha = Image.fromarray(np.round((1 - image) * 255).astype(np.uint8))
    transparent.putalpha(alpha)
    transparent.save(tmp_path / "transparent.png")
    np.testing.assert_allclose(
        preprocess_digit(tmp_path / "transparent.png").image, expected, atol=1e-5
    )
    save_png(tmp_path / "seven.jpg", image)
    jpeg = preprocess_digit(tmp_path / "seven.jpg").image  # lossy: close, not equal
    assert np.abs(jpeg - expected).mean() < 0.05


def test_unreadable_and_blank_images_give_clear_errors(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read .*notes.png as an image"):
        preprocess_digit(tmp_path / "notes.png")
    with pytest.raises(FileNotFoundError, match="no such image"):
        preprocess_digit(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="no digit found"):
        preprocess_digit(np.full((30, 30), 0.9, dtype=np.float32))


@pytest.mark.parametrize("height, width", [(1, 1), (2, 2), (1, 19), (19, 1), (3, 3), (4, 4)])
@pytest.mark.parametrize("kind", ["blank", "dot", "checker"])
def test_tiny_images_say_they_are_too_small(height, width, kind, tmp_path):
    image = np.ones((height, width), np.float32)
    if kind == "dot":
        image[height // 2, width // 2] = 0.0
    elif kind == "checker":
        image[::2, ::2] = 0.0
    message = rf"no digit found: the image is too small \({width}x{height} pixels; at least 20"
    with pytest.raises(ValueError, match=message):
        preprocess_digit(image)
    save_png(tmp_path / "tiny.png", image)  # a file reads the same
    with pytest.raises(ValueError, match=message):
        preprocess_digit(tmp_path / "tiny.png")


@pytest.mark.parametrize("height, width", [(5, 4), (4, 5), (1, 30), (6, 6), (9, 9)])
def test_small_images_past_the_limit_get_the_ordinary_answer(height, width):
    """From 20 pixels on, a digit can stand out (ink past the 9 brightest pixels, more paper
    than ink): a flat image is "one flat colour", a thick stroke is found."""
    with pytest.raises(ValueError, match="no digit found: the image is .almost. one flat"):
        preprocess_digit(np.full((height, width), 0.9, np.float32))
    if min(height, width) >= 5:
        image = np.ones((height, width), np.float32)
        image[:, width // 2 - 1 : width // 2 + 1] = 0.0  # a stroke two pixels wide
        assert preprocess_digit(image).image.max() > 0.5


@pytest.fixture(scope="module")
def lines_model(tmp_path_factory):
    """A seed net trained for two epochs on lines (vertical vs horizontal), saved with a card."""
    X, y = cnn.synthetic_lines(100, rng=0)
    model = trained_seed_net(X, y, epochs=2)
    path = tmp_path_factory.mktemp("model") / "lines.npz"
    cnn.save(
        model,
        path,
        dataset="lines",
        class_names=["vertical", "horizontal"],
        input_shape=[1, 28, 28],
        normalize={"mean": 0.0, "std": 1.0},
    )
    return path


def test_cli_predict_prints_top_classes_and_saves_a_figure(lines_model, tmp_path, capsys):
    line = np.ones((90, 60), dtype=np.float32)
    line[10:80, 28:33] = 0  # a vertical pen stroke
    image = save_png(tmp_path / "vertical.png", line)
    assert main(["predict", str(lines_model), str(image), "--show", str(tmp_path / "fig.png")]) == 0
    out = capsys.readouterr().out
    assert "vertical.png: vertical" in out and "top 2: vertical" in out
    assert (tmp_path / "fig.png").stat().st_size > 0
    assert main(["predict", str(lines_model), str(image), "--min-confidence", "1"]) == 0
    assert "not sure (best guess vertical)" in capsys.readouterr().out


def test_cli_predict_errors(lines_model, tmp_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    assert main(["predict", str(lines_model), str(tmp_path / "bad.png")]) == 1
    assert "cannot read" in capsys.readouterr().err
    other = tmp_path / "four32.npz"  # neither grey nor colour (3 channels: see test_live_colour)
    cnn.save(cnn.seed_net(10, in_channels=4, image_size=32, rng=0), other, input_shape=[4, 32, 32])
    assert main(["predict", str(other), str(tmp_path / "bad.png")]) == 1
    assert "trained on 4x32x32 images" in capsys.readouterr().err
    no_card = tmp_path / "no_card.npz"
    cnn.save(cnn.seed_net(10, image_size=32, rng=0), no_card)
    assert main(["predict", str(no_card), str(tmp_path / "bad.png")]) == 1
    assert "does not take 1x28x28 images" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nothing.npz"), str(tmp_path / "bad.png")]) == 1
    assert "no such model file" in capsys.readouterr().err
