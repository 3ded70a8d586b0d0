"""The page's "why" view in a real browser: Grad-CAM (or saliency) of the answer over the
drawing, redrawn with every answer, equal to cnn_numpy.explain's maps for the same input."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from cnn_numpy.explain import grad_cam, saliency
from helpers.browser import answer, console_errors, draw, js, require_browser, start_chromium
from helpers.digit_strokes import DIGITS, jittered

import cnn_numpy as cnn
from cnn_numpy.tools.live import LiveServer, ModelView

STATS = {"mean": 0.1307, "std": 0.3081}
CARD = {"dataset": "mnist", "class_names": list(cnn.MNIST_CLASSES), "normalize": STATS,
        "input_shape": [1, 28, 28]}  # fmt: skip


@pytest.fixture(scope="module")
def model():
    return cnn.lenet(10, rng=0)


@pytest.fixture(scope="module")
def page(model, tmp_path_factory):
    require_browser()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    server = LiveServer("127.0.0.1", 0, view=ModelView(model, CARD, name="lenet.npz")).start()
    driver.get(server.url)
    yield driver
    driver.quit()
    server.stop()


def floats(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def test_the_answer_carries_gradcam_and_saliency_of_the_best_class(model):
    view = ModelView(model, CARD)
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = 1.0
    # a little noise: in a flat bar, max pooling's windows hold ties, and which one wins (so
    # where the gradient goes) turned on the last bit of a sum, which BLAS's thread count
    # (one on the page, all cores here) changes: the saliency differed by its own size
    image += np.random.default_rng(0).uniform(0, 0.05, image.shape).astype(np.float32)
    result = view.predict(image)
    x = cnn.normalize(image, **STATS)[None, None]
    best = int(np.argmax(result["probabilities"]))
    assert result["why"]["target"] == best
    cam = result["why"]["gradcam"]
    assert cam["shape"] == [7, 7]
    np.testing.assert_allclose(floats(cam["values"]), grad_cam(model, x, best).ravel(), rtol=1e-5,
                               atol=1e-6 * cam["max"])  # fmt: skip
    sal = result["why"]["saliency"]
    expected = np.abs(saliency(model, x, best)).max(axis=1).ravel()
    np.testing.assert_allclose(floats(sal["values"]), expected, rtol=1e-5, atol=1e-9)


def heat(driver) -> dict:
    """The why canvas's data and how many of its pixels are coloured (not gray)."""
    return js(
        driver,
        "const c = document.getElementById('why');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let coloured = 0;"
        "for (let i = 0; i < d.length; i += 4) if (d[i] - d[i + 2] > 40) coloured++;"
        "return {...c.dataset, coloured};",
    )


def test_the_why_view_follows_the_drawing(page):
    page.find_element("id", "clear").click()
    draw(page, jittered(DIGITS[1], np.random.default_rng(0)))
    first = answer(page)
    shown = heat(page)
    assert shown["version"] == first["version"] and shown["method"] == "gradcam"
    assert shown["shape"] == "7x7" and shown["coloured"] > 100
    draw(page, jittered(DIGITS[7], np.random.default_rng(1)))  # more strokes: a new answer
    second = answer(page)
    assert second["version"] != first["version"] and heat(page)["version"] == second["version"]
    button = page.find_element("css selector", ".why-method[data-method='saliency']")
    js(page, "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    shown = heat(page)
    assert shown["method"] == "saliency" and shown["shape"] == "28x28" and shown["coloured"] > 20
    page.find_element("id", "clear").click()
    assert heat(page)["method"] == "" and heat(page)["coloured"] == 0
    assert console_errors(page) == []
