"""prepare_fashion: a photo of an article prepared as Fashion-MNIST's images were made, and
predict / explain using it for a Fashion-MNIST model."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.photos.fashion import prepare_fashion


def article(rng) -> np.ndarray:
    """A made-up article in Fashion-MNIST's form: a textured shirt-like shape, light on black,
    its longer side filling the 28x28 field.  Shape: (28, 28)"""
    canvas = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(canvas)
    draw.polygon(
        [(3, 4), (10, 0), (17, 0), (24, 4), (22, 10), (19, 9), (19, 27), (8, 27), (8, 9), (5, 10)],
        fill=170,
    )  # fmt: skip (22 x 28, centred as the steps centre)
    image = np.asarray(canvas, np.float32) / 255
    stripes = 0.15 * np.sin(np.arange(28) / rng.uniform(1.5, 3))[:, None]  # a knit's rows
    return np.where(image > 0, image + stripes + 0.1, 0).astype(np.float32)


def as_photo(image: np.ndarray, margin=(30, 50, 10, 70), scale=9, ground=(0.93, 0.9, 0.84)):
    """The article as a product photo: dark on a tinted light ground, with margins, enlarged.
    Shape: (28, 28) -> (H, W, 3)"""
    paper = np.pad(1 - image, ((margin[0], margin[1]), (margin[2], margin[3])), constant_values=1)
    big = Image.fromarray(np.round(paper * 255).astype(np.uint8))
    big = big.resize((paper.shape[1] * scale // 4, paper.shape[0] * scale // 4), Image.BILINEAR)
    return (np.asarray(big, np.float32) / 255)[..., None] * np.array(ground, np.float32)


def test_a_product_photo_comes_back_as_the_article_it_shows():
    original = article(np.random.default_rng(0))
    steps = prepare_fashion(as_photo(original))
    assert steps.image.shape == (28, 28) and steps.image.dtype == np.float32
    assert steps.light_ground and steps.image.min() >= 0 and steps.image.max() <= 1
    assert np.corrcoef(steps.image.ravel(), original.ravel())[0, 1] > 0.9
    rows = np.flatnonzero(steps.image.max(axis=1) > 0.1)
    assert rows[0] <= 1 and rows[-1] >= 26  # the longer side fills the field, as the dataset
    assert steps.image[:, :2].max() < 0.1  # the ground is black, the margins gone


def test_an_image_already_in_fashion_mnist_form_is_kept():
    original = article(np.random.default_rng(1))
    steps = prepare_fashion(original)  # light on black: the ground is subtracted, not negated
    assert not steps.light_ground
    assert np.corrcoef(steps.image.ravel(), original.ravel())[0, 1] > 0.95


def test_a_photo_file_and_its_array_give_the_same_input(tmp_path):
    photo = as_photo(article(np.random.default_rng(2)))
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(tmp_path / "shirt.png")
    from_file = prepare_fashion(tmp_path / "shirt.png").image
    np.testing.assert_allclose(from_file, prepare_fashion(photo).image, atol=2 / 255)


def test_nothing_on_the_ground_and_bad_sizes_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="nothing stands out from the ground"):
        prepare_fashion(np.full((50, 40, 3), 0.8, np.float32))
    with pytest.raises(ValueError, match="size must be a whole number"):
        prepare_fashion(np.zeros((5, 5)), size=True)
    with pytest.raises(FileNotFoundError):
        prepare_fashion(tmp_path / "missing.png")


def test_odd_grounds_give_an_image_in_range_or_a_clear_error():
    ramp = np.tile(np.linspace(0, 1, 80, dtype=np.float32), (60, 1))  # black to white
    ramp[20:40, 30:50] = 0.6  # a grey patch on a ground that is dark on the whole
    steep = np.tile(np.clip(1.5 * np.linspace(0, 1, 80) - 0.5, 0, 1), (60, 1))  # white at one edge
    steep[20:40, 10:30] = 0.5
    for image in (ramp, ramp[:, ::-1], steep, np.zeros((3, 3)), np.ones((1, 1))):
        try:
            out = prepare_fashion(image).image
        except ValueError as err:
            assert "nothing stands out" in str(err)
            continue
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.fixture
def fashion_model(tmp_path):
    path = tmp_path / "fashion.npz"
    cnn.save(cnn.lenet(rng=0), path, dataset="fashion-mnist", input_shape=[1, 28, 28],
             class_names=list(cnn.FASHION_MNIST_CLASSES), normalize={"mean": 0.286, "std": 0.353})  # fmt: skip
    return path


def test_predict_with_a_fashion_model_reads_a_filled_article_and_shows_its_steps(
    fashion_model, tmp_path, capsys
):
    canvas = Image.new("RGB", (160, 120), (235, 232, 225))
    ImageDraw.Draw(canvas).rectangle((50, 10, 110, 110), fill=(40, 40, 90))  # a filled block
    canvas.save(tmp_path / "bag.png")
    figure = tmp_path / "out" / "steps.png"
    code = main(["predict", str(fashion_model), str(tmp_path / "bag.png"), "--show", str(figure)])
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err  # a digit's preparation said "no digit found" here
    assert "prepared as Fashion-MNIST's were: trimmed to the article" in out
    assert "bag.png:" in out and figure.stat().st_size > 10_000
    # the input is what prepare_fashion makes, normalised with the run's numbers
    from cnn_numpy.tools.cli.predict import prepared_input

    steps, x = prepared_input(str(tmp_path / "bag.png"), (1, 28, 28), {"mean": 0.286, "std": 0.353},
                              "fashion-mnist")  # fmt: skip
    np.testing.assert_allclose(x[0, 0], (steps.image - 0.286) / 0.353, rtol=1e-6, atol=1e-6)
    assert steps.image[:, 9:19].min() > 0.5  # the block fills the middle columns
