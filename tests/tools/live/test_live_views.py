"""What the page of `cnn-numpy serve` shows, computed without a browser: every layer's
output (the model's own forward pass), the kernel view's numbers, the input prepared as
`predict` prepares it, and the answer."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest
from helpers.digit_strokes import DIGITS, render
from helpers.photo_fixtures import bomb_png
from PIL import Image

from cnn_numpy import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    deep,
    lenet,
    normalize,
    predict_proba,
    preprocess_digit,
    seed_net,
)
from cnn_numpy.tools.live import api
from cnn_numpy.tools.live.inputs import check_image_size, model_input, pad_pixels
from cnn_numpy.tools.live.kernel_view import kernel_view
from cnn_numpy.tools.live.layers_view import describe_layers, layer_outputs, short_title
from cnn_numpy.tools.live.model_view import ModelView
from cnn_numpy.tools.live.safety import HttpError
from cnn_numpy.tools.live.verdict import verdict

CARD = {
    "dataset": "mnist",
    "class_names": [str(k) for k in range(10)],
    "normalize": {"mean": 0.1307, "std": 0.3081},
    "input_shape": [1, 28, 28],
}


def floats(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def pad_payload(gray: np.ndarray) -> dict:
    """What the page sends for its pad: gray bytes, base64."""
    data = np.round(gray * 255).astype(np.uint8)
    return {
        "pixels": base64.b64encode(data.tobytes()).decode(),
        "width": data.shape[1],
        "height": data.shape[0],
    }


@pytest.mark.parametrize("make", [lenet, deep, seed_net], ids=["lenet", "deep", "seed"])
def test_layer_outputs_are_the_models_own_forward_pass(make):
    model = make(rng=0).eval()
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    outputs = layer_outputs(model, x)
    assert len(outputs) == len(model.layers)
    np.testing.assert_array_equal(outputs[-1], model.forward(x))
    shapes = [panel["shape"] for panel in describe_layers(model, (1, 28, 28))]
    assert shapes == [list(out.shape[1:]) for out in outputs]


def test_short_titles_read_like_pytorch():
    layers = [
        Conv2d(1, 16, 3, padding=1),
        Conv2d(2, 4, (3, 5), stride=2, bias=False),
        MaxPool2d(2),
        MaxPool2d(3, stride=1),
        MaxPool2d(3, stride=2, padding=1),
        AvgPool2d((2, 3), padding=(1, 0)),
        Linear(1568, 128),
        ReLU(),
        Flatten(),
    ]
    assert [short_title(layer) for layer in layers] == [
        "Conv2d(1, 16, 3, padding=1)",
        "Conv2d(2, 4, (3, 5), stride=2, bias=False)",
        "MaxPool2d(2)",
        "MaxPool2d(3, stride=1)",
        "MaxPool2d(3, stride=2, padding=1)",
        "AvgPool2d((2, 3), padding=(1, 0))",
        "Linear(1568, 128)",
        "ReLU()",
        "Flatten()",
    ]
    panel = describe_layers(lenet(rng=0), (1, 28, 28))[0]
    assert (panel["title"], panel["shape_text"], panel["conv"]) == (
        "Conv2d(1, 16, 3, padding=1)",
        "16×28×28",
        True,
    )


CONVS = {
    "3x3 padding 1": lambda: Conv2d(1, 4, 3, padding=1, rng=0),
    "tuple kernel, stride, padding": lambda: Conv2d(
        3, 5, (3, 5), stride=(2, 1), padding=(1, 2), rng=0
    ),
    "stride 3, no bias": lambda: Conv2d(2, 3, 4, stride=3, bias=False, rng=0),
}


@pytest.mark.parametrize("name", CONVS)
def test_kernel_view_sum_is_the_feature_map_value(name):
    conv = CONVS[name]()
    C, (kh, kw) = conv.in_channels, conv.kernel_size
    x = np.random.default_rng(2).standard_normal((1, C, 11, 13)).astype(np.float32)
    out = conv.forward(x)[0]  # (F, Ho, Wo)
    F, Ho, Wo = out.shape
    pixels = [(0, 0, 0), (F - 1, Ho - 1, Wo - 1), (F // 2, Ho // 2, Wo // 2), (1, 0, Wo - 1)]
    for f, r, c in pixels:
        view = kernel_view(conv, x[0], f, r, c)
        assert view["value"] == pytest.approx(float(out[f, r, c]), rel=1e-5, abs=1e-5)
        window, kernel = np.array(view["window"]), np.array(view["kernel"])
        assert window.shape == kernel.shape == (C, kh, kw)
        np.testing.assert_allclose(np.array(view["products"]), window * kernel)
        assert view["sum"] == pytest.approx(np.sum(view["channel_sums"]))
        # the window, cut from the zero-padded input by hand
        (sh, sw), (ph, pw) = conv.stride, conv.padding
        padded = np.pad(x[0], ((0, 0), (ph, ph), (pw, pw)))
        np.testing.assert_array_equal(window, padded[:, r * sh : r * sh + kh, c * sw : c * sw + kw])
        padding = np.array(view["padding"])
        assert not window[:, padding].any(), "padding cells hold zeros"
        assert view["origin"] == [r * sh - ph, c * sw - pw]
    corner = np.array(kernel_view(conv, x[0], 0, 0, 0)["padding"])
    assert corner[0].all() == (conv.padding[0] > 0)


def test_kernel_view_refuses_a_pixel_outside_the_map():
    conv = Conv2d(1, 2, 3, rng=0)
    x = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(ValueError, match="row must be from 0 to 5"):
        kernel_view(conv, x, 0, 6, 0)
    with pytest.raises(ValueError, match="channel must be from 0 to 1"):
        kernel_view(conv, x, 2, 0, 0)


def test_model_view_kernel_follows_the_value_through_batchnorm_and_relu():
    view = ModelView(deep(rng=0), CARD)
    image = preprocess_digit(render(DIGITS[3])).image
    x, outputs = view.run(image)
    for layer in (0, 3, 7):  # the first conv, one inside, one after a pool
        result = view.kernel(image, layer, 2, 5, 6)
        assert result["value"] == pytest.approx(result["feature_map_value"], rel=1e-5, abs=1e-5)
        assert [step["type"] for step in result["then"]] == ["BatchNorm2d", "ReLU"]
        relu = result["then"][-1]
        assert relu["value"] == pytest.approx(max(0.0, result["then"][0]["value"]))
        assert relu["value"] == pytest.approx(float(outputs[relu["layer"]][0, 2, 5, 6]))
    with pytest.raises(ValueError, match="not a Conv2d"):
        view.kernel(image, 1, 0, 0, 0)


def test_predict_shows_every_layer_and_the_probabilities_of_predict():
    model = lenet(rng=0)
    view = ModelView(model, CARD)
    gray = render(DIGITS[7])
    result = api.predict(view, pad_payload(gray))
    steps = preprocess_digit(np.round(gray * 255) / 255)
    x = normalize(steps.image, 0.1307, 0.3081)[None, None]  # as cnn-numpy predict does
    np.testing.assert_allclose(result["probabilities"], predict_proba(model, x)[0], rtol=1e-5)
    np.testing.assert_array_equal(floats(result["input"]).reshape(28, 28), steps.image)
    outputs = layer_outputs(model, x)
    assert len(result["layers"]) == len(outputs) == 10
    for panel, output in zip(result["layers"], outputs):  # (BLAS threads: sum order)
        np.testing.assert_allclose(floats(panel["values"]), output.ravel(), rtol=1e-5, atol=1e-6)
        assert panel["signed"] == bool(output.min() < 0)
        assert panel["scale"] == pytest.approx(np.abs(output).max())
    answer = result["answer"]
    assert answer["best"] == str(int(np.argmax(result["probabilities"])))
    assert answer["novelty"] is None
    assert result["ms"]["total"] >= result["ms"]["model"] > 0


def test_an_uploaded_file_is_prepared_exactly_as_predict_prepares_it(tmp_path):
    view = ModelView(lenet(rng=0), CARD)
    photo = np.full((120, 90, 3), 235, np.uint8)  # dark ink on light paper
    photo[20:100, 40:52] = (30, 30, 80)
    path = tmp_path / "one.png"
    Image.fromarray(photo).save(path)
    result = api.predict(view, {"image": base64.b64encode(path.read_bytes()).decode()})
    steps = preprocess_digit(path)  # predict's own call
    np.testing.assert_array_equal(floats(result["input"]).reshape(28, 28), steps.image)
    assert result["source"] == "upload"


def test_a_fashion_models_upload_and_drawing_are_prepared_as_predict_prepares_them(tmp_path):
    from cnn_numpy.tools.photos.fashion import prepare_fashion

    view = ModelView(lenet(rng=0), {**CARD, "dataset": "fashion-mnist"})
    photo = np.full((120, 160, 3), 235, np.uint8)  # a filled dark bag on a light ground
    photo[20:100, 50:110] = (40, 40, 90)
    path = tmp_path / "bag.png"
    Image.fromarray(photo).save(path)
    result = api.predict(view, {"image": base64.b64encode(path.read_bytes()).decode()})
    expected = prepare_fashion(path).image  # predict's own call for a Fashion-MNIST model
    np.testing.assert_array_equal(floats(result["input"]).reshape(28, 28), expected)
    assert expected[2:26, 6:22].min() > 0.5  # filled, light on black, filling the field
    drawing = photo.mean(axis=2) / 255  # the same picture drawn on the pad
    result = api.predict(view, pad_payload(drawing))
    pixels = pad_payload(drawing)
    gray = pad_pixels(pixels["pixels"], pixels["width"], pixels["height"])
    np.testing.assert_array_equal(
        floats(result["input"]).reshape(28, 28), prepare_fashion(gray).image
    )


def test_pad_pixels_are_read_as_read_image_reads_a_gray_png(tmp_path):
    gray = np.round(render(DIGITS[4]) * 255).astype(np.uint8)
    path = tmp_path / "four.png"
    Image.fromarray(gray).save(path)
    from cnn_numpy.tools.photos.images import read_image

    payload = pad_payload(gray / 255)
    np.testing.assert_array_equal(
        pad_pixels(payload["pixels"], payload["width"], payload["height"]), read_image(path)
    )
    x = model_input(preprocess_digit(read_image(path)).image, CARD)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ({"pixels": "not base64!", "width": 2, "height": 2}, 400, "base64"),
        ({"pixels": base64.b64encode(b"abc").decode(), "width": 2, "height": 2}, 400, "4 bytes"),
        ({"pixels": "", "width": 0, "height": 2}, 400, "'width' must be from 1"),
        ({"pixels": "", "width": 99999, "height": 2}, 400, "'width' must be from 1"),
        ({"pixels": "", "width": "2", "height": 2}, 400, "'width' must be a whole number"),
        ({"pixels": "", "width": True, "height": 2}, 400, "'width' must be a whole number"),
        ({"pixels": 7, "width": 2, "height": 2}, 400, "'pixels' must be a string"),
        ({"width": 2, "height": 2}, 400, "'pixels' must be a string"),
        (
            {"pixels": base64.b64encode(bytes([255] * 16)).decode(), "width": 4, "height": 4},
            422,
            "no digit found",
        ),
        ({"image": base64.b64encode(b"GIF89a not really").decode()}, 422, "not an image"),
        (
            {"pixels": base64.b64encode(bytes([0])).decode(), "width": 1, "height": 1},
            422,
            r"no digit found: the image is too small \(1x1 pixels; at least 20",
        ),
        (
            {"pixels": base64.b64encode(bytes([0, 255, 255, 0])).decode(), "width": 2, "height": 2},
            422,
            r"no digit found: the image is too small \(2x2 pixels",
        ),
        ({"image": ["a list"]}, 400, "'image' must be a string"),
        (  # a canvas's toDataURL(): the base64 is after the comma
            {"image": "data:image/png;base64," + base64.b64encode(b"x").decode()},
            400,
            r"must be base64 text \(the base64 after the comma of a data: URL",
        ),
    ],
)
def test_bad_predict_requests_say_what_is_wrong(payload, status, words):
    view = ModelView(seed_net(10, filters=2, rng=0), CARD)
    with pytest.raises(HttpError, match=words) as caught:
        api.predict(view, payload)
    assert caught.value.status == status


def test_a_decompression_bomb_is_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buffer, "PNG")  # 81 megapixels in ~80 kB
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(ValueError, match="has 9000x9000 = 81,000,000 pixels; at most 40 mega"):
        check_image_size(buffer.getvalue())
    with pytest.raises(ValueError, match="has 900,000,000 pixels; at most 40 megapixels"):
        check_image_size(bomb_png(30000, 30000))  # past Pillow's own limit too


def test_an_image_between_the_limits_is_refused_without_a_pillow_warning():
    """144 megapixels: past Pillow's warning (89) and our limit (40), short of Pillow's error
    (179): the request's 422 says it; the server's terminal gets no DecompressionBombWarning
    (was: two lines of it for each such upload)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="has 12000x12000 = 144,000,000 pixels; at most 40"):
            check_image_size(bomb_png(12000, 12000))
    assert [str(w.message) for w in caught] == []


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data, words",
    [
        (b"not an image at all", "the uploaded image is not an image Pillow can read"),
        (png_bytes(np.zeros((50, 50), np.uint8))[:60], "cannot read the uploaded image"),
        (png_bytes(np.zeros((2, 2), np.uint8)), "the image is too small (2x2 pixels"),
        (png_bytes(np.zeros((1, 1), np.uint8)), "the image is too small (1x1 pixels"),
    ],
)
def test_an_upload_that_cannot_be_read_is_called_the_uploaded_image(data, words):
    view = ModelView(seed_net(10, filters=2, rng=0), CARD)
    with pytest.raises(HttpError) as caught:
        api.predict(view, {"image": base64.b64encode(data).decode()})
    message = str(caught.value)
    assert caught.value.status == 422 and words in message
    assert "BytesIO" not in message and "cnn-numpy-upload" not in message and "kth" not in message


def test_bad_kernel_requests_say_what_is_wrong():
    view = ModelView(lenet(rng=0), CARD)
    good = base64.b64encode(np.zeros(784, "<f4").tobytes()).decode()
    nan = base64.b64encode(np.full(784, np.nan, "<f4").tobytes()).decode()
    cases = [
        ({"input": good[:-8], "layer": 0, "channel": 0, "row": 0, "col": 0}, "3136 bytes"),
        ({"input": nan, "layer": 0, "channel": 0, "row": 0, "col": 0}, "not finite"),
        ({"input": good, "layer": 99, "channel": 0, "row": 0, "col": 0}, "'layer' must"),
        ({"input": good, "layer": 1, "channel": 0, "row": 0, "col": 0}, "not a Conv2d"),
        ({"input": good, "layer": 0, "channel": 16, "row": 0, "col": 0}, "channel must"),
        ({"input": good, "layer": 3, "channel": 0, "row": 14, "col": 0}, "row must"),
        ({"input": good, "layer": 0, "channel": -1, "row": 0, "col": 0}, "'channel' must"),
        ({"input": good, "layer": 0, "channel": 0, "row": 0}, "'col' must"),
    ]
    for payload, words in cases:
        with pytest.raises(HttpError, match=words) as caught:
            api.kernel(view, payload)
        assert caught.value.status == 400
    result = api.kernel(view, {"input": good, "layer": 3, "channel": 31, "row": 13, "col": 13})
    assert result["value"] == pytest.approx(result["feature_map_value"], rel=1e-5, abs=1e-5)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_kernel_input_that_overflows_prints_no_warnings():
    """A hand-made input near float32's top (3e38): the server answered 422, but NumPy's
    "overflow encountered" and "invalid value" warnings landed in the terminal running
    cnn-numpy serve, with source lines."""
    view = ModelView(lenet(rng=0), CARD)
    huge = base64.b64encode(np.full(784, 3e38, "<f4").tobytes()).decode()
    result = api.kernel(view, {"input": huge, "layer": 3, "channel": 0, "row": 0, "col": 0})
    assert not np.isfinite(result["value"])  # the server's 422: "not finite (they overflowed)"


def test_verdict_names_a_class_is_unsure_or_refuses():
    classes = [str(k) for k in range(3)]
    sure = verdict(np.array([0.1, 0.8, 0.1]), classes, None)
    assert (sure["state"], sure["label"], sure["text"]) == ("sure", "1", "1")
    unsure = verdict(np.array([0.3, 0.4, 0.3]), classes, None)
    assert (unsure["state"], unsure["label"]) == ("unsure", "1")
    assert "not sure" in unsure["text"]
    refused = verdict(
        np.array([0.0, 1.0, 0.0]),
        classes,
        {"score": 9.0, "threshold": 3.0, "refused": True},
        "mnist",
    )
    assert (refused["state"], refused["label"], refused["text"]) == ("refused", None, "not a digit")
    other = verdict(
        np.array([0.0, 1.0, 0.0]),
        classes,
        {"score": 9.0, "threshold": 3.0, "refused": True},
        "fashion-mnist",
    )
    assert other["text"] == "not one of its classes"


class InkDetector:
    """A stand-in for a model file's novelty detector: the share of inked pixels as the
    score (a real one measures distances in the net's features)."""

    threshold = 0.3

    def score(self, model, X):
        return (X > 0).mean(axis=(1, 2, 3))


def test_a_novelty_check_refuses_on_the_page():
    view = ModelView(lenet(rng=0), CARD, novelty=InkDetector())
    thin = view.predict(preprocess_digit(render(DIGITS[1])).image)["answer"]
    assert thin["state"] in ("sure", "unsure") and thin["label"] is not None
    assert thin["novelty"]["refused"] is False and thin["novelty"]["threshold"] == 0.3
    blob = np.ones((60, 60), np.float32)
    blob[10:50, 10:50] = 0.0  # a filled square of ink
    refused = view.predict(preprocess_digit(blob).image)["answer"]
    assert (refused["state"], refused["label"], refused["text"]) == ("refused", None, "not a digit")
    assert refused["novelty"]["score"] > 0.3 and refused["best"] in CARD["class_names"]


@pytest.mark.parametrize("channels, shape", [(2, [2, 32, 32]), (4, [4, 32, 32]), (1, [1, 28, 32])])
def test_model_view_refuses_inputs_it_cannot_draw(channels, shape):
    model = Sequential(Conv2d(channels, 2, 3), Flatten(), Linear(2 * (shape[1] - 2) * 30, 2))
    with pytest.raises(ValueError, match="square grayscale digits .* or colour images"):
        ModelView(model, {"input_shape": shape})


def test_the_pages_check_refuses_a_nan_score():
    """An input the check cannot score (NaN) is refused, never answered."""
    from cnn_numpy.tools.live.verdict import novelty

    class Check:
        threshold = 1.0

        def __init__(self, score):
            self.value = score

        def score(self, model, x):
            return np.array([self.value])

    assert novelty(Check(float("nan")), None, np.zeros((1, 1, 28, 28)))["refused"] is True
    assert novelty(Check(0.5), None, np.zeros((1, 1, 28, 28)))["refused"] is False
    assert novelty(Check(1.5), None, np.zeros((1, 1, 28, 28)))["refused"] is True


def test_a_grey_model_of_another_size_gets_its_own_size(tmp_path):
    """The page takes square grey models of any side (1x16x16 here); the pad and an uploaded
    file were prepared at 28x28 all the same: "the model takes 1x16x16 images, got a 28x28
    image", a 500 for the page."""
    net = Sequential(Conv2d(1, 2, 3, rng=0), Flatten(), Linear(2 * 14 * 14, 3, rng=0))
    view = ModelView(net, {"input_shape": [1, 16, 16]})
    gray = np.full((280, 280), 255, np.uint8)
    gray[60:220, 130:150] = 0
    pad = {"pixels": base64.b64encode(gray.tobytes()).decode(), "width": 280, "height": 280}
    path = tmp_path / "bar.png"
    Image.fromarray(gray).save(path)
    upload = {"image": base64.b64encode(path.read_bytes()).decode()}
    for payload in (pad, upload):
        answer = api.predict(view, payload)
        image = np.frombuffer(base64.b64decode(answer["input"]), "<f4")
        assert image.size == 16 * 16 and len(answer["probabilities"]) == 3
        rows = np.nonzero(image.reshape(16, 16).max(axis=1) > 0.5)[0]
        assert 9 <= np.ptp(rows) + 1 <= 12  # the bar fitted in round(16 * 20 / 28) = 11 rows
