"""A colour model (CIFAR-10's resnet, 3x32x32) on the page, without a browser: a photo is
prepared as `cnn-numpy predict` prepares it and normalised as in training (the answer agrees
with predict's to float32 precision), examples come from the dataset's test images when they
are on this computer and are generated otherwise, the first conv's filters are sent for RGB
patches, and a posted image is checked as untrusted input."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from helpers.cifar_fixtures import FOLDER, write_batches
from helpers.colour_model import CARD, STATS, colour_resnet, photo, png_bytes
from helpers.photo_fixtures import bomb_png
from helpers.pipes import next_line
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.predict import prepared_input
from cnn_numpy.tools.live import LiveTraining, ModelView, api
from cnn_numpy.tools.live.examples import generated_examples
from cnn_numpy.tools.live.inputs import model_input
from cnn_numpy.tools.live.layers_view import layer_outputs, softmax
from cnn_numpy.tools.live.safety import HttpError
from cnn_numpy.tools.photos.colour import centre_crop, prepare_colour

#: float32 results computed twice by the same layers, in another process or order
FLOAT32 = {"rel": 1e-5, "abs": 1e-6}


@pytest.fixture(scope="module")
def model():
    return colour_resnet()


@pytest.fixture(scope="module")
def view(model, tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-data")  # no CIFAR-10 files: generated examples
    return ModelView(model, CARD, name="cifar.npz", data_dir=empty)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def floats(text: str, shape) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4").reshape(shape)


def test_an_uploaded_photo_is_prepared_and_normalised_as_predict_does(view, model, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(photo()))
    answer = api.predict(view, {"image": b64(path.read_bytes())})
    assert answer["source"] == "upload" and answer["input_shape"] == [3, 32, 32]
    steps, x = prepared_input(str(path), (3, 32, 32), STATS)  # predict's own path
    assert steps is None and x.shape == (1, 3, 32, 32)
    image = floats(answer["input"], (3, 32, 32))
    np.testing.assert_array_equal(image, prepare_colour(path, 32, 32))
    np.testing.assert_allclose(x, (image[None] - STATS["mean"]) / STATS["std"], rtol=1e-6)
    expected = softmax(model.forward(x)[0].astype(np.float64))
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-5, atol=1e-7)
    best = int(np.argmax(expected))
    assert answer["answer"]["best"] == cnn.CIFAR10_CLASSES[best]
    # every layer's output is the model's own: the first conv, the stem's ReLU, the logits
    outputs = layer_outputs(model, x)
    assert len(answer["layers"]) == len(view.panels) == len(outputs)
    first = floats(answer["layers"][0]["values"], (4, 32, 32))
    np.testing.assert_allclose(first, model[0].forward(x)[0], rtol=1e-5, atol=1e-6)
    logits = floats(answer["layers"][-1]["values"], (10,))
    np.testing.assert_allclose(logits, model.forward(x)[0], rtol=1e-5, atol=1e-6)


def test_the_page_and_cnn_numpy_predict_give_the_same_answer(view, model, tmp_path, capsys):
    """The same file through `cnn-numpy predict` (a saved model, its card) and the page."""
    saved = tmp_path / "cifar.npz"
    cnn.save(model, saved, **CARD)
    picture = tmp_path / "photo.jpg"
    Image.fromarray(photo(80, 50, seed=3)).save(picture, quality=90)
    assert main(["predict", str(saved), str(picture), "--top", "10"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    printed = dict(
        (name, float(p) / 100)
        for name, p in re.findall(r"([a-z]+) +([\d.]+)%", line.split("top 10:")[1])
    )
    answer = api.predict(view, {"image": b64(picture.read_bytes())})
    assert set(printed) == set(cnn.CIFAR10_CLASSES)
    for name, p in zip(cnn.CIFAR10_CLASSES, answer["probabilities"], strict=True):
        assert printed[name] == pytest.approx(p, abs=0.0005 + 1e-6)  # printed to 0.1 %
    loaded = cnn.load(saved)
    _, x = prepared_input(str(picture), (3, 32, 32), STATS)
    np.testing.assert_allclose(
        answer["probabilities"], softmax(loaded.forward(x)[0].astype(np.float64)), rtol=1e-5
    )


def test_info_sends_colour_the_classes_the_filters_and_generated_examples(view, model):
    info = view.info()
    assert info["colour"] is True and info["input_shape"] == [3, 32, 32]
    assert info["classes"] == list(cnn.CIFAR10_CLASSES)
    filters = info["filters"]
    assert filters["shape"] == [4, 3, 3, 3]
    np.testing.assert_array_equal(floats(filters["values"], (4, 3, 3, 3)), model[0].weight.data)
    examples = info["examples"]
    assert len(examples) == 6 and all(e["label"] is None for e in examples)
    assert all(e["source"].startswith("generated: ") for e in examples)
    for k, example in enumerate(examples):
        image = floats(example["image"], (3, 32, 32))
        assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.05
        answer = api.predict(view, {"example": k})
        assert answer["source"] == "example"
        np.testing.assert_array_equal(floats(answer["input"], (3, 32, 32)), image)


def test_examples_are_the_datasets_test_images_when_they_are_here(model, tmp_path):
    held = write_batches(tmp_path, per_batch=4)  # test_batch.bin: labels 5, 6, 7, 8
    images, labels = held["test_batch.bin"]
    view = ModelView(model, CARD, data_dir=tmp_path)
    assert [e["label"] for e in view.examples] == [cnn.CIFAR10_CLASSES[k] for k in labels]
    for k, example in enumerate(view.examples):
        np.testing.assert_array_equal(example["image"], images[k].astype(np.float32) / 255)
        assert f"CIFAR-10 test image {k}" in example["source"]
    answer = api.predict(view, {"example": 2})
    x = model_input(images[2].astype(np.float32) / 255, CARD)
    np.testing.assert_allclose(
        answer["probabilities"], softmax(model.forward(x)[0].astype(np.float64)), rtol=1e-5
    )
    # the run's data folder, as train saves it in the card, is where they are looked for
    in_card = {**CARD, "settings": {"data_dir": str(tmp_path)}}
    assert len(ModelView(model, in_card).examples) == 4
    # a damaged batch (not whole records) is not read: generated examples instead
    (tmp_path / FOLDER / "test_batch.bin").write_bytes(b"\x03" * 5000)
    assert all(e["label"] is None for e in ModelView(model, CARD, data_dir=tmp_path).examples)


def test_a_posted_image_is_checked_as_untrusted_input(view):
    bomb = bomb_png(20000, 20000)  # a small file that claims 400 megapixels
    gray = base64.b64encode(bytes(28 * 28)).decode()
    cases = [
        ({"image": b64(b"not an image at all")}, 422, "not an image Pillow can read"),
        ({"image": b64(bomb)}, 422, "at most 40 megapixels"),
        ({"image": "@@not base64@@"}, 400, "base64"),
        ({"pixels": gray, "width": 28, "height": 28}, 400, "takes colour images"),
        ({"example": 6}, 400, "'example' must be from 0 to 5"),
        ({"example": "1"}, 400, "'example' must be a whole number"),
        ({"example": -1}, 400, "'example' must be from 0 to 5"),
    ]
    for payload, status, words in cases:
        with pytest.raises(HttpError, match=words) as caught:
            api.predict(view, payload)
        assert caught.value.status == status, payload


def test_the_kernel_view_of_a_colour_conv_reads_three_input_channels(view, model):
    answer = api.predict(view, {"example": 1})
    kernel = api.kernel(
        view, {"input": answer["input"], "layer": 0, "channel": 2, "row": 0, "col": 17}
    )
    assert len(kernel["window"]) == 3 and kernel["padding"][0] == [True, True, True]
    assert kernel["input_names"] == ["red", "green", "blue"]
    assert kernel["value"] == pytest.approx(kernel["feature_map_value"], **FLOAT32)
    x = model_input(floats(answer["input"], (3, 32, 32)), CARD)
    assert kernel["feature_map_value"] == pytest.approx(
        float(model[0].forward(x)[0, 2, 0, 17]), **FLOAT32
    )
    grey_size = base64.b64encode(np.zeros((32, 32), "<f4").tobytes()).decode()
    with pytest.raises(HttpError, match="3x32x32 float32 numbers"):
        api.kernel(view, {"input": grey_size, "layer": 0, "channel": 0, "row": 0, "col": 0})


def test_a_grey_model_has_no_examples_and_refuses_one(tmp_path):
    grey = ModelView(cnn.lenet(rng=0), {"input_shape": [1, 28, 28]})
    info = grey.info()
    assert (info["colour"], info["examples"], info["filters"]) == (False, [], None)
    with pytest.raises(HttpError, match="no examples"):
        api.predict(grey, {"example": 0})


def test_per_channel_normalisation_is_applied_channel_by_channel(model):
    card = {**CARD, "normalize": {"mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}}
    image = generated_examples(32, 32)[1]["image"]
    x = model_input(image, card)
    mean, std = np.array([0.49, 0.48, 0.45]), np.array([0.25, 0.24, 0.26])
    np.testing.assert_allclose(x[0], (image - mean[:, None, None]) / std[:, None, None], rtol=1e-6)
    with pytest.raises(ValueError, match="does not fit 3-channel inputs"):
        ModelView(model, {**CARD, "normalize": {"mean": [0.5, 0.5], "std": 0.25}})
    # a std of 0 (or a value that is not finite) is named when the page starts, not later
    for stats in ({"mean": [0.5] * 3, "std": [0.0] * 3}, {"mean": [0.5, np.nan, 0.5], "std": 0.2}):
        with pytest.raises(ValueError, match="each std must be > 0 and every value finite"):
            ModelView(model, {**CARD, "normalize": stats})


def test_prepare_colour_keeps_the_centre_and_the_colours():
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, :40] = (255, 0, 0)  # red band left, blue band right: cut off
    wide[:, 40:80] = (0, 200, 0)
    wide[:, 80:] = (0, 0, 255)
    image = prepare_colour(wide, 32, 32)
    assert image.shape == (3, 32, 32) and image.dtype == np.float32
    np.testing.assert_allclose(image[:, :, 2:-2].mean(axis=(1, 2)), [0, 200 / 255, 0], atol=0.02)
    assert centre_crop(np.zeros((50, 100, 1)), 32, 32).shape == (50, 50, 1)
    assert centre_crop(np.zeros((90, 30, 1)), 32, 64).shape == (15, 30, 1)
    with pytest.raises(ValueError, match="whole numbers"):
        prepare_colour(wide, 0, 32)


def test_train_live_shows_a_colour_model_and_its_rgb_filters(model):
    optimizer = cnn.SGD(model.parameters(), lr=0.0)
    live = LiveTraining("127.0.0.1", 0, model, optimizer, epochs=1, batches=1)
    try:
        start = json.loads(live.feed._messages[0].decode().split("data: ")[1])
        assert start["filters"]["shape"] == [4, 3, 3, 3]
        live.finished(model, CARD)
        info = live.server.info()["model"]
        assert info["colour"] is True and info["filters"]["shape"] == [4, 3, 3, 3]
    finally:
        live.close()


def test_cnn_numpy_serve_serves_a_colour_model(tmp_path):
    saved = tmp_path / "cifar.npz"
    cnn.save(colour_resnet(), saved, **CARD)
    process = subprocess.Popen(
        [sys.executable, "-m", "cnn_numpy", "serve", str(saved), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"http://\S+/", next_line(process, timeout=60)).group(0)
        import urllib.request

        with urllib.request.urlopen(url + "api/info", timeout=30) as answer:
            info = json.loads(answer.read())
        assert info["model"]["colour"] is True
        assert info["model"]["classes"][:2] == ["airplane", "automobile"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err


def test_train_live_on_cifar10_serves_the_trained_model_with_its_test_images(tmp_path):
    """`cnn-numpy train --dataset cifar10 --live` as a user runs it (on generated files in
    the official format): after training, the page's model is in colour and its examples are
    the first test image of each class, from the run's own data folder."""
    held = write_batches(tmp_path / "data", per_batch=20)
    command = [sys.executable, "-m", "cnn_numpy", "train", "--dataset", "cifar10"]
    command += ["--data-dir", str(tmp_path / "data"), "--epochs", "1", "--live", "--port", "0"]
    command += ["--no-browser", "--no-report", "--out", str(tmp_path / "run")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        while url is None:
            line = next_line(process, timeout=300)
            assert line, f"train ended: {process.stderr.read()}"
            if "Training done." in line:
                url = re.search(r"http://\S+/", line).group(0)
        import urllib.request

        with urllib.request.urlopen(url + "api/info", timeout=30) as answer:
            model = json.loads(answer.read())["model"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    assert model["colour"] is True and model["input_shape"] == [3, 32, 32]
    assert model["classes"] == list(cnn.CIFAR10_CLASSES)
    assert model["filters"]["shape"][1] == 3
    images, labels = held["test_batch.bin"]
    assert [e["label"] for e in model["examples"]] == list(cnn.CIFAR10_CLASSES)  # one each
    first = int(np.argmax(labels == 0))  # the first airplane of the test batch
    np.testing.assert_array_equal(
        floats(model["examples"][0]["image"], (3, 32, 32)), images[first] / np.float32(255)
    )
