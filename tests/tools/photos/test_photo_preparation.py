"""Preparing photos: uneven light, a sheet on a desk, coloured ink, JPEG, transparent layers,
huge and hostile files.  Each photo of the same pen-drawn '4' must come out as the clean
drawing does (same strokes in the 28x28 field)."""

import numpy as np
import pytest
from helpers.photo_fixtures import (
    bomb_png,
    jpeg,
    lamp,
    on_desk,
    on_paper,
    overlap,
    pen_digit,
    shadow,
    transparent,
)
from PIL import Image

from cnn_numpy.tools.photos.components import label_components
from cnn_numpy.tools.photos.images import preprocess_digit, read_image
from cnn_numpy.tools.photos.lighting import enlarge, small_copy
from cnn_numpy.tools.photos.morphology import box_blur, closing, max_filter
from cnn_numpy.tools.photos.sheet import otsu_threshold


@pytest.fixture(scope="module")
def clean():
    """The clean drawing's 28x28 result: what every photo below should give."""
    return preprocess_digit(1 - pen_digit()).image


def assert_same_digit(image: np.ndarray, clean: np.ndarray, name: str) -> None:
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert overlap(image, clean) > 0.7, f"{name}: strokes differ from the clean drawing"
    assert np.abs(image - clean).mean() < 0.06, name


BLUE = (0.2, 0.25, 0.6)
PHOTOS = {
    "paper": lambda: on_paper(pen_digit()),
    "lamp gradient": lambda: lamp(on_paper(pen_digit()), darkest=0.3),
    "soft shadow across the digit": lambda: shadow(on_paper(pen_digit()), depth=0.6),
    "sheet on a dark desk": lambda: on_desk(on_paper(pen_digit())),
    "everything": lambda: on_desk(shadow(lamp(on_paper(pen_digit(), pen=BLUE)))),
    "blue pen": lambda: on_paper(pen_digit(), pen=BLUE),
    "red pen": lambda: on_paper(pen_digit(), pen=(0.8, 0.15, 0.15)),
    "pencil on grey paper": lambda: on_paper(
        pen_digit(), pen=(0.35, 0.35, 0.37), paper=(0.6, 0.6, 0.6)
    ),
    "chalk on a board": lambda: on_paper(
        pen_digit(), pen=(0.9, 0.9, 0.85), paper=(0.15, 0.22, 0.18)
    ),
}


@pytest.mark.parametrize("name", PHOTOS)
def test_photos_come_out_as_the_clean_drawing(name, clean):
    steps = preprocess_digit(PHOTOS[name]())
    assert_same_digit(steps.image, clean, name)
    assert steps.inverted == (name != "chalk on a board")
    assert steps.thickened == 1  # a felt pen is MNIST-bold


def test_lighting_is_divided_out():
    steps = preprocess_digit(lamp(on_paper(pen_digit()), darkest=0.3))
    paper = ~max_filter(steps.strokes.astype(np.float32), 9).astype(bool)
    assert steps.background[0, 0] > 2 * steps.background[-1, -1]  # the lamp's fall-off...
    assert np.percentile(steps.strength[paper], 99) < 0.1  # ...gone from the paper


def test_the_desk_is_not_the_sheet():
    photo = on_desk(on_paper(pen_digit()), margin=60, angle=8)
    steps = preprocess_digit(photo)
    assert not steps.sheet[:20, :20].any() and steps.sheet[200, 200]
    assert 0.4 < steps.sheet.mean() < 0.8
    assert not steps.strokes[:, :55].any()  # nothing kept on the desk's side


def test_specks_and_a_mark_at_the_frame_edge_are_dropped(clean):
    photo = on_paper(pen_digit())
    rng = np.random.default_rng(0)
    for r, c in rng.integers(10, 250, size=(25, 2)):  # dust: 2x2 dark dots
        photo[r : r + 2, c : c + 2] = 0.2
    photo[:, :6] = 0.15  # the edge of something else
    steps = preprocess_digit(photo)
    assert_same_digit(steps.image, clean, "specks")
    assert steps.pieces.sum() > steps.strokes.sum()  # found, then dropped


def test_a_broken_stroke_stays_one_digit(clean):
    ink = pen_digit()
    ink[60:64, :] = 0  # a gap across the digit
    steps = preprocess_digit(on_paper(ink))
    assert overlap(steps.image, clean) > 0.6
    rows = np.nonzero(steps.image.sum(axis=1) > 0)[0]
    assert rows.max() - rows.min() >= 18  # both halves kept


def test_thin_lines_are_widened_to_mnist_strokes():
    thick = preprocess_digit(on_paper(pen_digit(width=0.10)))
    for photo in (on_paper(pen_digit(width=0.02)), on_paper(pen_digit(width=0.025), pen=BLUE)):
        thin = preprocess_digit(photo)
        assert thin.thickened > 1 and thick.thickened == 1
        assert abs(thin.image.sum() - thick.image.sum()) < 0.35 * thick.image.sum()
        assert overlap(thin.image, thick.image) > 0.5


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_jpeg_and_colour_files(tmp_path, clean):
    path = write(
        tmp_path / "photo.jpg", jpeg(lamp(on_paper(pen_digit(), pen=(0.2, 0.25, 0.6))), quality=60)
    )
    assert_same_digit(preprocess_digit(path).image, clean, "JPEG")


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (30, 80, 200)])
def test_a_drawing_on_a_transparent_layer(tmp_path, clean, colour):
    rgba = transparent(pen_digit(), colour)
    assert_same_digit(preprocess_digit(rgba).image, clean, f"array {colour}")
    Image.fromarray(rgba, "RGBA").save(tmp_path / "layer.png")
    assert_same_digit(preprocess_digit(tmp_path / "layer.png").image, clean, f"file {colour}")
    assert read_image(tmp_path / "layer.png")[0, 0] == 1.0  # transparent = paper


def test_a_12_megapixel_photo_is_shrunk_first(tmp_path, clean):
    photo = lamp(on_paper(pen_digit(), frame=(300, 400), at=(90, 140)))
    big = np.kron(photo, np.ones((10, 10, 1), dtype=np.float32))  # 3000 x 4000
    path = write(tmp_path / "phone.jpg", jpeg(big, quality=85))
    steps = preprocess_digit(path)
    assert max(steps.photo.shape) <= 800 and steps.shrunk_by >= 4.9
    assert_same_digit(steps.image, clean, "12 MP")


def test_a_jpeg_over_the_pixel_limit_but_decoded_small_is_read(tmp_path, clean, monkeypatch):
    """A 108 MP phone photo is no bomb: JPEG is decoded at 1/8 (draft).  Here the limit is
    made 1 MP so that a 1.2 MP file stands for it; a PNG of that size is still refused."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # Pillow's own open: 2 MP
    photo = on_paper(pen_digit(), frame=(300, 400), at=(90, 140))
    big = np.kron(photo, np.ones((3, 3, 1), dtype=np.float32))  # 900 x 1200: 1.08 MP
    steps = preprocess_digit(write(tmp_path / "phone.jpg", jpeg(big, quality=90)))
    assert_same_digit(steps.image, clean, "1.08 MP JPEG over a 1 MP limit")
    png = tmp_path / "phone.png"
    Image.fromarray(np.round(big * 255).astype(np.uint8)).save(png)
    with pytest.raises(ValueError, match="900 pixels .1 megapixels.*decompression bomb"):
        preprocess_digit(png)


def test_exif_orientation_is_applied(tmp_path, clean):
    photo = on_paper(pen_digit())
    sideways = np.ascontiguousarray(np.rot90(photo, 1))  # how the sensor stored it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    Image.fromarray(np.round(sideways * 255).astype(np.uint8)).save(
        tmp_path / "turned.jpg", quality=95, exif=exif
    )
    assert_same_digit(preprocess_digit(tmp_path / "turned.jpg").image, clean, "EXIF")


def test_hostile_and_damaged_files_give_clear_errors(tmp_path):
    bomb = write(tmp_path / "bomb.png", bomb_png())
    assert bomb.stat().st_size < 1000
    with pytest.raises(ValueError, match="400 megapixels.*decompression bomb"):
        preprocess_digit(bomb)
    smaller = write(tmp_path / "smaller.png", bomb_png(10000, 10000))  # past Pillow's warning
    with pytest.raises(ValueError, match="10000x10000 pixels.*decompression bomb"):
        preprocess_digit(smaller)
    good = tmp_path / "good.png"
    Image.fromarray(np.round(on_paper(pen_digit()) * 255).astype(np.uint8)).save(good)
    truncated = write(tmp_path / "truncated.png", good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="cannot read .*truncated.png"):
        preprocess_digit(truncated)
    half_jpeg = write(tmp_path / "half.jpg", jpeg(on_paper(pen_digit()))[:600])
    with pytest.raises(ValueError, match="cannot read .*half.jpg"):
        preprocess_digit(half_jpeg)
    with pytest.raises(ValueError, match="no digit found"):
        preprocess_digit(np.full((50, 60, 3), 0.7, dtype=np.float32))
    with pytest.raises(ValueError, match="pixels must be in"):
        preprocess_digit(np.full((50, 60), 3.0))
    with pytest.raises(ValueError, match="NaN"):
        preprocess_digit(np.full((50, 60), np.nan))
    with pytest.raises(ValueError, match=r"\(H, W, 4\) RGBA"):
        preprocess_digit(np.zeros((5, 5, 2)))


def test_morphology_and_components_match_plain_loops():
    rng = np.random.default_rng(0)
    image = rng.random((23, 31)).astype(np.float32)
    padded = np.pad(image, 3, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (7, 7))
    np.testing.assert_array_equal(max_filter(image, 7), windows.max(axis=(2, 3)))
    np.testing.assert_allclose(box_blur(image, 7), windows.mean(axis=(2, 3)), atol=1e-6)
    assert (closing(image, 7) >= image).all()
    mask = rng.random((40, 40)) < 0.45
    labels, count = label_components(mask)
    for k in range(1, count + 1):  # every component is 8-connected and maximal
        piece = labels == k
        grown = max_filter(piece.astype(np.float32), 3) > 0
        assert not (grown & mask & ~piece).any()
    spiral, (r, c) = np.zeros((61, 61), dtype=bool), (30, 30)
    for turn in range(30):  # one long path winding outwards
        dr, dc = [(0, 1), (1, 0), (0, -1), (-1, 0)][turn % 4]
        for _ in range(2 * (turn // 2 + 1)):
            if 0 <= r < 61 and 0 <= c < 61:
                spiral[r, c] = True
            r, c = r + dr, c + dc
    assert label_components(spiral)[1] == 1
    values = np.concatenate([rng.normal(0.2, 0.05, 500), rng.normal(0.8, 0.05, 500)])
    assert 0.35 < otsu_threshold(values) < 0.65


def test_an_image_already_in_mnist_format_is_used_as_it_is(tmp_path, clean):
    digit = clean.copy()  # 28x28, ink in 20x20, centred
    path = tmp_path / "mnist.png"
    Image.fromarray(np.round(digit * 255).astype(np.uint8)).save(path)
    for image, inverted in ((path, False), (1 - digit, True)):  # a PNG; dark ink on white
        steps = preprocess_digit(image)
        assert steps.as_is and steps.inverted == inverted
        np.testing.assert_allclose(steps.image, digit, atol=1 / 255)
    moved = np.roll(digit, (3, -3), axis=(0, 1))  # off centre: the steps run
    steps = preprocess_digit(moved)
    assert not steps.as_is
    assert_same_digit(steps.image, clean, "off centre")
    small = np.zeros((28, 28), np.float32)  # a small digit: scaled up to 20
    small[10:18, 12:16] = 1.0
    steps = preprocess_digit(small)
    assert not steps.as_is and steps.scaled.shape[0] == 20


@pytest.mark.parametrize("shape", [(418, 313), (313, 418), (799, 123), (57, 800), (800, 611)])
def test_the_background_comes_back_at_the_photo_s_size(shape):
    """small_copy shrinks by a whole factor; enlarge must find that factor from both sides
    (418 rows make 19 blocks of 22 or of 23: from the rows alone a 418 x 313 photo came
    back 308 wide, and its preparation failed on the shapes)."""
    image = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    for window in (33, 101, 135, 369, 401):
        small, _ = small_copy(image, window)
        assert enlarge(small, shape).shape == shape


@pytest.mark.parametrize(
    "size, box", [(0, 20), (-5, 20), (28, 0), (28, 40), (2.5, 2), (28, True), (28, 20.0)]
)
def test_size_and_box_are_checked(size, box):
    """size 0 was "zero-size array to reduction operation", box 40 in a 28 field and box 0
    went through, size 2.5 was a TypeError."""
    image = np.zeros((40, 40), np.float32)
    image[10:30, 18:22] = 1
    with pytest.raises(ValueError, match="size and box must be whole numbers with 1 <= box"):
        preprocess_digit(image, size=size, box=box)


def test_the_preparation_figure_names_a_small_shrink_as_it_is(tmp_path):
    """A 833-px photo shrunk to 800 px is 'shrunk 1.04x', not the '1.0x' one decimal gave."""
    from cnn_numpy.tools.visualize.preparation import preparation_panels

    photo = lamp(on_paper(pen_digit(), frame=(300, 400), at=(90, 140)))
    big = np.repeat(np.repeat(photo, 3, axis=0), 3, axis=1)[:625, :833]  # 833 x 625
    Image.fromarray((np.clip(big, 0, 1) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    steps = preprocess_digit(tmp_path / "p.png")
    assert 1.01 < steps.shrunk_by < 1.1
    titles = " ".join(title for _, title, _ in preparation_panels(steps))
    assert f"shrunk {steps.shrunk_by:.3g}x" in titles and "shrunk 1.0x" not in titles
