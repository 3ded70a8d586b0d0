"""The model of plain `cnn-numpy train` (the lines) on its page, drawn on with the mouse
(headless Chromium, driven by selenium): the lines a learner draws are answered with their
class, a cross and a circle are refused in words.  Before the seed's lines looked like drawn
ones (2b8095c), its novelty check refused every line drawn on the pad.

``CNN_NUMPY_SCREENSHOTS=DIR`` saves the page after a line and after a cross, wide and narrow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers.browser import (
    answer,
    console_errors,
    draw,
    js,
    open_page,
    require_browser,
    screenshot,
    start_chromium,
    wait_for,
)

from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.common import load_model
from cnn_numpy.tools.live import LiveServer, ModelView
from cnn_numpy.tools.novelty import load_novelty

LINES = {  # strokes in the unit square (y down) and the class each one is
    "vertical": ([[(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)]], "vertical"),
    "horizontal": ([[(0.15, 0.5), (0.5, 0.5), (0.85, 0.5)]], "horizontal"),
    "short": ([[(0.45, 0.35), (0.45, 0.65)]], "vertical"),
    "slanted": ([[(0.2, 0.46), (0.5, 0.5), (0.8, 0.54)]], "horizontal"),  # ~4 degrees off
}
t = np.radians(np.linspace(0, 360, 30))
NOT_LINES = {
    "cross": [[(0.2, 0.5), (0.8, 0.5)], [(0.5, 0.2), (0.5, 0.8)]],
    "circle": [list(zip(0.5 + 0.3 * np.cos(t), 0.5 + 0.3 * np.sin(t), strict=True))],
}


@pytest.fixture(scope="module")
def lines_model(tmp_path_factory):
    """The model file of plain `cnn-numpy train`, with its novelty check."""
    out = tmp_path_factory.mktemp("lines") / "run"
    assert main(["train", "--out", str(out), "--no-report", "--quiet"]) == 0
    return out / "model.npz"


@pytest.fixture(scope="module")
def server(lines_model):
    """What `cnn-numpy serve model.npz` serves (see tools/cli/serve.py's run)."""
    model, card = load_model(lines_model)
    view = ModelView(model, card, name="model.npz", novelty=load_novelty(lines_model))
    served = LiveServer("127.0.0.1", 0, view=view, title="model.npz (seed, lines)").start()
    yield served
    served.stop()


@pytest.fixture(scope="module", params=[(1400, 1000), (390, 844)], ids=["wide", "phone"])
def page(request, server, tmp_path_factory):
    require_browser()
    width, height = request.param
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    driver.set_window_size(width, height)  # a window narrower than 500 is set, not started
    wait_for(lambda: js(driver, "return window.innerWidth") <= width, what=f"{width} wide")
    open_page(driver, server.url)
    driver.size = f"{width}x{height}"
    yield driver
    driver.quit()


def draw_strokes(driver, strokes, name: str) -> dict:
    js(driver, "window.scrollTo(0, 0);")  # the pad in sight, not under the sticky header
    driver.find_element("id", "clear").click()
    draw(driver, strokes)
    shown = answer(driver)
    folder = os.environ.get("CNN_NUMPY_SCREENSHOTS")
    if folder:
        screenshot(driver, Path(folder) / f"lines-{name}-{driver.size}.png", full_page=True)
    return shown


def why_caption(driver) -> str:
    """The why view's caption, once its map shows the pad as it is now."""
    wait_for(
        lambda: js(
            driver,
            "return document.getElementById('why').dataset.version"
            " === document.getElementById('pad').dataset.version;",
        ),
        what="the why view",
    )
    return js(driver, "return document.getElementById('why-note').textContent;")


@pytest.mark.parametrize("name", list(LINES))
def test_drawn_lines_are_answered_with_their_class(page, name):
    strokes, expected = LINES[name]
    shown = draw_strokes(page, strokes, name)
    assert (shown["state"], shown["label"]) == ("sure", expected), shown
    assert shown["text"].startswith(expected)
    assert why_caption(page).startswith(f"Why “{expected}”: Grad-CAM")
    assert console_errors(page) == []


@pytest.mark.parametrize("name", list(NOT_LINES))
def test_a_cross_and_a_circle_are_refused_in_words(page, name):
    shown = draw_strokes(page, NOT_LINES[name], name)
    assert (shown["state"], shown["label"]) == ("refused", ""), shown
    assert "not one of its classes" in shown["text"], shown["text"]
    # the map explains the closest class, which was not the answer: its caption said
    # 'Why “horizontal”' under a refusal, as if the cross had been answered "horizontal"
    assert why_caption(page).startswith("Refused; why its closest class, “")
    assert console_errors(page) == []
