"""A colour model's page in a real browser (headless Chromium, driven by selenium): a photo
chosen as a file, or an example clicked, is shown in colour at the model's 32x32, answered
with CIFAR-10's class names, and every feature map is the Python model's own (checked at a
pixel through the kernel view); the first conv's filters are RGB patches, in the draw view
and in the training view.

``CNN_NUMPY_SCREENSHOTS=DIR`` saves ``serve-colour.png`` into DIR (the docs' picture; with
``CNN_NUMPY_SCREENSHOT_COLOUR_MODEL=MODEL.npz`` for a trained model).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from helpers.browser import (
    answer,
    console_errors,
    js,
    open_page,
    require_browser,
    screenshot,
    start_chromium,
    upload_file,
    wait_for,
)
from helpers.colour_model import CARD, colour_resnet, photo, png_bytes

import cnn_numpy as cnn
from cnn_numpy.tools.live import LiveServer, LiveTraining, ModelView
from cnn_numpy.tools.live.inputs import model_input
from cnn_numpy.tools.live.layers_view import layer_outputs, softmax
from cnn_numpy.tools.photos.colour import prepare_colour

#: the page's float64 sums of float32 products against the network's float32 value (see
#: test_live_browser.py's FLOAT32_SUM); the feature map's own value is exact float32
FLOAT32_SUM = {"rel": 128 * float(np.finfo(np.float32).eps), "abs": 1e-5}


@pytest.fixture(scope="module")
def model():
    return colour_resnet()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_browser()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    view = ModelView(model, CARD, name="cifar.npz", data_dir=tmp_path_factory.mktemp("no-data"))
    served = LiveServer("127.0.0.1", 0, view=view, title="cifar.npz (resnet, cifar10)").start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def page(browser, server):
    open_page(browser, server.url)
    return browser


def upload(driver, path: Path) -> dict:
    return upload_file(driver, path)


def canvas_rgb(driver, selector: str) -> np.ndarray:
    """The RGB pixels of the canvas ``selector`` as the page drew them: (H, W, 3) uint8."""
    width, height, data = js(
        driver,
        "const c = document.querySelector(arguments[0]);"
        "return [c.width, c.height, Array.from(c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data)];",
        selector,
    )
    return np.array(data, np.uint8).reshape(height, width, 4)[..., :3]


def python_answer(model, image: np.ndarray) -> np.ndarray:
    x = model_input(image, CARD)
    return softmax(model.forward(x)[0].astype(np.float64))


def shown_probabilities(driver) -> list[float]:
    return js(
        driver,
        "return [...document.querySelectorAll('#probabilities .prob-value')]"
        ".map((v) => parseFloat(v.textContent) / 100);",
    )


def test_a_photo_is_shown_in_colour_and_answered_with_class_names(page, model, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(photo(70, 100, seed=1)))
    shown = upload(page, path)
    image = prepare_colour(path, 32, 32)
    expected = python_answer(model, image)
    assert shown["label"] == cnn.CIFAR10_CLASSES[int(np.argmax(expected))]
    assert page.find_element("id", "pad-title").text == "Give it a colour image"
    labels = page.find_elements("css selector", "#probabilities .prob-label")
    assert [label.text for label in labels] == list(cnn.CIFAR10_CLASSES)
    np.testing.assert_allclose(shown_probabilities(page), expected, atol=0.0005 + 1e-6)
    # "what the net sees": the 32x32 colour input itself
    drawn = canvas_rgb(page, "#input")
    assert drawn.shape == (32, 32, 3)
    expected_rgb = np.round(image.transpose(1, 2, 0) * 255)
    assert np.abs(drawn.astype(float) - expected_rgb).max() <= 1
    assert int(drawn[16, 16, 0]) - int(drawn[1, 1, 0]) > 150  # the red disc, in colour


def click_pixel(driver, layer: int, channel: int, row: int, col: int, size: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    target = driver.find_elements("css selector", f".layer[data-index='{layer}'] .map canvas")
    target = [c for c in target if "filter-patch" not in (c.get_attribute("class") or "")]
    width = target[channel].size["width"]
    x = (col + 0.5) * width / size - width / 2  # from the canvas's centre
    y = (row + 0.5) * width / size - width / 2
    ActionChains(driver).move_to_element_with_offset(
        target[channel], int(x), int(y)
    ).click().perform()


@pytest.mark.parametrize(
    "path, channel, row, col, size, inputs",
    [("0", 1, 5, 30, 32, 3), ("0", 3, 0, 0, 32, 3), ("3.block.0", 6, 7, 9, 16, 4)],
)
def test_a_feature_map_value_is_the_python_models_own(
    page, model, server, tmp_path, path, channel, row, col, size, inputs
):
    picture = tmp_path / "photo.png"
    picture.write_bytes(png_bytes(photo(64, 64, seed=2)))
    upload(page, picture)
    layer = next(p["index"] for p in server.view.panels if p["path"] == path)
    click_pixel(page, layer, channel, row, col, size)
    wait_for(
        lambda: js(
            page,
            "const k = document.getElementById('kernel');"
            f"return !k.hidden && k.dataset.layer === '{layer}' && k.querySelector('h4') !== null;",
        ),
        what="the kernel view",
    )
    x = model_input(prepare_colour(picture, 32, 32), CARD)
    expected = float(layer_outputs(model, x)[layer][0, channel, row, col])
    shown = float(page.find_element("id", "kernel-map-value").get_attribute("data-value"))
    assert shown == pytest.approx(expected, rel=1e-5, abs=1e-6)
    value = float(page.find_element("id", "kernel-sum").get_attribute("data-value"))
    assert value == pytest.approx(shown, **FLOAT32_SUM)
    assert len(page.find_elements("css selector", "#kernel .channel")) == inputs
    page.find_element("id", "kernel-close").click()


def test_an_example_is_clicked_shown_and_answered(page, model, server):
    buttons = page.find_elements("css selector", "#examples button")
    assert len(buttons) == len(server.view.examples) == 6
    for k in (0, 3):
        buttons[k].click()
        shown = answer(page)
        image = server.view.examples[k]["image"]
        assert shown["label"] == cnn.CIFAR10_CLASSES[int(np.argmax(python_answer(model, image)))]
        drawn = canvas_rgb(page, "#input").astype(float)
        assert np.abs(drawn - np.round(image.transpose(1, 2, 0) * 255)).max() <= 1


def rect(driver, element_id: str) -> dict:
    return js(driver, f"return document.getElementById('{element_id}').getBoundingClientRect();")


@pytest.fixture(params=[1.5, 4.0], ids=["unsure", "sure"])
def leaning_to_automobile(request, tmp_path):
    """A server whose model leans, by ``param`` in the logits, to CIFAR-10's longest class
    name: "automobile" at about 30% (not sure) and 90%."""
    model = colour_resnet()
    model[-1].bias.data[1] += request.param
    view = ModelView(model, CARD, name="cifar.npz", data_dir=tmp_path)
    served = LiveServer("127.0.0.1", 0, view=view, title="cifar.npz").start()
    yield served
    served.stop()


def test_a_long_class_name_and_its_note_do_not_overlap(browser, leaning_to_automobile):
    """CIFAR-10's names ("automobile") are words, not digits: the answer in large type and
    the note beside it ("not sure: best guess automobile, 31.2%") must each keep their own
    place in the card, never one drawn over the other."""
    open_page(browser, leaning_to_automobile.url)
    card = js(
        browser,
        "return document.getElementById('answer').closest('.card').getBoundingClientRect();",
    )
    for k in range(len(leaning_to_automobile.view.examples)):
        browser.find_elements("css selector", "#examples button")[k].click()
        shown = answer(browser)
        assert shown["label"] == "automobile"
        main, note = rect(browser, "answer-main"), rect(browser, "answer-note")
        apart = (
            main["right"] <= note["left"] + 0.5
            or note["bottom"] <= main["top"] + 0.5
            or main["bottom"] <= note["top"] + 0.5
        )
        assert apart, (shown, main, note)
        for box in (main, note):  # and both inside the card
            assert card["left"] <= box["left"] and box["right"] <= card["right"], (shown, box)
        # the large label is drawn whole: its text is not wider than its box
        assert js(
            browser,
            "const m = document.getElementById('answer-main');"
            "return m.scrollWidth <= m.clientWidth + 1;",
        ), shown


def test_the_class_names_under_the_last_layer_are_whole_and_apart(page):
    """Under the logits strip each cell is named by its class; CIFAR-10's names are wider
    than a cell, and each must still be read whole, not clipped into its neighbour's."""
    labels = js(
        page,
        "return [...document.querySelectorAll('.cell-labels span')].map(s => {"
        " const r = s.getBoundingClientRect();"
        " return {text: s.textContent, left: r.left, right: r.right, top: r.top,"
        " bottom: r.bottom, whole: s.scrollWidth <= s.clientWidth + 1"
        " && s.scrollHeight <= s.clientHeight + 1}; });",
    )
    assert [label["text"] for label in labels] == list(cnn.CIFAR10_CLASSES)
    assert all(label["whole"] for label in labels), [x["text"] for x in labels if not x["whole"]]
    for left, right in zip(labels, labels[1:]):
        assert left["right"] <= right["left"] + 0.5 or left["bottom"] <= right["top"] + 0.5


def filter_patches(model) -> np.ndarray:
    """Each first-conv filter scaled to [0, 1] on its own, as RGB pixels: (F, kh, kw, 3)."""
    weight = model[0].weight.data.astype(np.float64)  # (F, 3, kh, kw)
    low = weight.min(axis=(1, 2, 3), keepdims=True)
    high = weight.max(axis=(1, 2, 3), keepdims=True)
    return np.round((weight - low) / (high - low) * 255).transpose(0, 2, 3, 1)


def test_the_first_convs_filters_are_rgb_patches(page, model):
    patches = page.find_elements("css selector", ".layer[data-index='0'] .filter-patch")
    assert len(patches) == 4
    assert page.find_elements("css selector", ".layer[data-index='4'] .filter-patch") == []
    expected = filter_patches(model)
    for f in range(4):
        drawn = canvas_rgb(page, f".layer[data-index='0'] .map:nth-child({f + 1}) .filter-patch")
        assert np.abs(drawn.astype(float) - expected[f]).max() <= 1


def test_the_training_view_draws_a_colour_models_filters_in_colour(browser, server, model):
    live = LiveTraining("127.0.0.1", 0, model, cnn.SGD(model.parameters(), lr=0.0), 1, 1)
    live.start()
    try:
        browser.get(live.url)
        wait_for(
            lambda: js(browser, "return document.querySelectorAll('#filters canvas').length"),
            what="the first layer's filters",
        )
        assert js(browser, "return document.getElementById('filters').dataset.colour") == "true"
        expected = filter_patches(model)
        for f in (0, 3):
            drawn = canvas_rgb(browser, f"#filters canvas:nth-child({f + 1})")
            assert np.abs(drawn.astype(float) - expected[f]).max() <= 1
        live.finished(model, CARD)
        wait_for(
            lambda: js(browser, "return !document.getElementById('draw-view').hidden"),
            what="the draw view after training",
        )
        assert len(browser.find_elements("css selector", "#examples button")) == 6
        assert console_errors(browser) == []
    finally:
        live.close()
        open_page(browser, server.url)


def test_the_page_logged_no_errors(page):
    assert console_errors(page) == []


def test_screenshot_of_a_colour_model(page, browser, tmp_path):
    """The docs' picture: kept with CNN_NUMPY_SCREENSHOTS=DIR (and a trained model with
    CNN_NUMPY_SCREENSHOT_COLOUR_MODEL=MODEL.npz), else drawn into a temporary folder."""
    folder = Path(os.environ.get("CNN_NUMPY_SCREENSHOTS") or tmp_path)
    server = None
    if os.environ.get("CNN_NUMPY_SCREENSHOT_COLOUR_MODEL"):
        path = os.environ["CNN_NUMPY_SCREENSHOT_COLOUR_MODEL"]
        net, card = cnn.load(path), cnn.load_card(path)
        view = ModelView(net, card, name=Path(path).name, novelty=cnn.load_novelty(path))
        title = f"{Path(path).name} ({card.get('preset')}, {card.get('dataset')})"
        server = LiveServer("127.0.0.1", 0, view=view, title=title).start()
        open_page(browser, server.url)
    try:
        browser.set_window_size(1400, 1000)
        browser.find_elements("css selector", "#examples button")[1].click()
        answer(browser)
        js(browser, "window.scrollTo(0, 0);")
        screenshot(browser, folder / "serve-colour.png", width=1000)
        assert (folder / "serve-colour.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        if server is not None:
            server.stop()


@pytest.mark.parametrize("log", [True, False], ids=["log", "linear"])
def test_a_charts_lowest_and_highest_points_are_drawn_inside_its_frame(page, log):
    """The training view's charts: a loss falling from 2.3 to 0.05 (log axis) or an accuracy
    from 0.1 to 0.6 (linear); the axis ends beyond the lowest and highest point, so no dot
    is drawn half under the frame (the last test loss's was, on the axis's very edge)."""
    drawn = page.execute_async_script(
        "const [log, done] = arguments;"
        "import('/charts.js').then(({ lineChart }) => {"
        " const canvas = document.createElement('canvas');"
        " canvas.style.width = '300px'; canvas.style.height = '200px';"
        " document.body.append(canvas);"
        " const values = log ? [2.3, 0.9, 0.3, 0.05] : [0.1, 0.3, 0.45, 0.6];"
        " lineChart(canvas, { xMax: 3, log, series: [{ label: 'test', colour: '#e8590c',"
        "  points: values.map((v, i) => [i, v]), dots: true }] });"
        " done(JSON.parse(canvas.dataset.range)); canvas.remove(); });",
        log,
    )
    (low, high), values = drawn["axis"], drawn["values"]
    where = (
        (lambda v: math.log(v / low) / math.log(high / low))
        if log
        else (lambda v: (v - low) / (high - low))
    )
    assert values == ([0.05, 2.3] if log else [0.1, 0.6])
    assert all(0.03 < where(v) < 0.97 for v in values), (values, low, high)
