"""The page in a real browser (headless Chromium, driven by selenium): digits drawn with the
mouse are recognised within half a second of the stroke's end, every layer panel shows a
picture, the kernel view adds up to the feature map's value, an image file can be dropped
in.  (The training view: tests/tools/live/test_train_live.py.)

One browser for the whole module.  The model is trained here, in a few seconds, on digits
drawn from the pen strokes in ``digit_strokes.py``, the same strokes the mouse then draws.

``CNN_NUMPY_SCREENSHOTS=DIR`` saves screenshots of the page into DIR (the README's picture
is made so, with ``CNN_NUMPY_SCREENSHOT_MODEL=MODEL.npz`` for a real MNIST model).
"""

from __future__ import annotations

import os
import statistics
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
    upload_file,
    wait_for,
)
from helpers.digit_strokes import DIGITS, dataset, jittered, render
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools.live import LiveServer, ModelView

STATS = {"mean": 0.1307, "std": 0.3081}
CARD = {
    "dataset": "mnist",
    "class_names": list(cnn.MNIST_CLASSES),
    "normalize": STATS,
    "input_shape": [1, 28, 28],
    "preset": "test net",
    "epochs": 4,
}
LATENCY_LIMIT_MS = 500  # the issue: an answer within 0.5 s of the end of a stroke


@pytest.fixture(scope="module")
def model():
    """A LeNet-like net trained on 300 drawn digits (4 epochs: ~100% on new drawings)."""
    X, y = dataset(30, np.random.default_rng(0))
    net = cnn.Sequential(
        cnn.Conv2d(1, 8, 3, padding=1, rng=0),
        cnn.ReLU(),
        cnn.MaxPool2d(2),
        cnn.Conv2d(8, 16, 3, padding=1, rng=1),
        cnn.ReLU(),
        cnn.MaxPool2d(2),
        cnn.Flatten(),
        cnn.Linear(16 * 7 * 7, 10, rng=2),
    )
    cnn.fit(
        net,
        cnn.CrossEntropyLoss(),
        cnn.Adam(net.parameters(), lr=3e-3),
        (cnn.normalize(X, **STATS), y),
        epochs=4,
        batch_size=16,
        rng=0,
        callbacks=[],
    )
    return net


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_browser()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(model):
    served = LiveServer(
        "127.0.0.1",
        0,
        view=ModelView(model, CARD, name="digits.npz"),
        title="digits.npz (test net, drawn digits)",
    ).start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def page(browser, server):
    """The draw view of ``model``, open in the browser."""
    open_page(browser, server.url)
    return browser


def draw_digit(driver, digit: int, seed: int) -> dict:
    js(driver, "window.scrollTo(0, 0);")  # the pad in sight, not under the sticky header
    driver.find_element("id", "clear").click()
    draw(driver, jittered(DIGITS[digit], np.random.default_rng(seed)))
    return answer(driver)


def test_drawn_digits_are_recognised_within_half_a_second(page):
    answers, latencies = {}, []
    for digit in (1, 7, 0, 4, 2, 3, 5, 6, 8, 9):
        shown = draw_digit(page, digit, seed=100 + digit)
        answers[digit] = shown["label"]
        latencies.append(float(shown["latency"]))
        assert shown["text"].startswith(shown["label"])
    assert answers == {digit: str(digit) for digit in answers}
    median = statistics.median(latencies)
    print(f"\nend of stroke -> answer drawn: median {median:.0f} ms, max {max(latencies):.0f} ms")
    assert median < LATENCY_LIMIT_MS, latencies


SYNTHETIC = """
// draw one stroke through `points` (unit square) with events made in JavaScript, of one kind
const [kind, points] = arguments;
const pad = document.getElementById('pad');
const box = pad.getBoundingClientRect();
const at = ([x, y]) => ({clientX: box.left + x * box.width, clientY: box.top + y * box.height,
                         bubbles: true, cancelable: true, button: 0, buttons: 1});
const fire = (type, point, Kind) => pad.dispatchEvent(new Kind(type, at(point)));
const touch = (type, point) => pad.dispatchEvent(new TouchEvent(type, {bubbles: true,
    cancelable: true, changedTouches: [new Touch({identifier: 1, target: pad, ...at(point)})]}));
const last = points[points.length - 1];
if (kind === 'mouse') {
  fire('mousedown', points[0], MouseEvent);
  points.slice(1).forEach((p) => fire('mousemove', p, MouseEvent));
  fire('mouseup', last, MouseEvent);
} else if (kind === 'pointer') {
  const opts = (p) => ({...at(p), pointerId: 7, pointerType: 'pen', isPrimary: true});
  pad.dispatchEvent(new PointerEvent('pointerdown', opts(points[0])));
  points.slice(1).forEach((p) => pad.dispatchEvent(new PointerEvent('pointermove', opts(p))));
  pad.dispatchEvent(new PointerEvent('pointerup', opts(last)));
} else {
  touch('touchstart', points[0]);
  points.slice(1).forEach((p) => touch('touchmove', p));
  touch('touchend', last);
}
"""


@pytest.mark.parametrize("kind", ["mouse", "pointer", "touch"])
def test_mouse_pen_and_touch_events_all_draw(page, kind):
    """Pages and tools that send only mouse, only pointer or only touch events all draw."""
    page.find_element("id", "clear").click()
    points = [[0.5, 0.12], [0.5, 0.3], [0.5, 0.5], [0.5, 0.7], [0.5, 0.88]]
    js(page, SYNTHETIC, kind, points)
    assert answer(page)["label"] == "1"


INK_ON_PAD = """
const pad = document.getElementById('pad');
const data = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
let ink = 0;
for (let i = 0; i < data.length; i += 4) if (data[i] < 128) ink += 1;
return ink;
"""


@pytest.mark.parametrize("kind", ["mouse", "pointer", "touch"])
def test_a_tap_leaves_a_dot(page, kind):
    """Pressing and lifting the pen in one place (or a first move to the same point) draws a
    round dot, as a pen does: a zero-length line alone draws nothing in a canvas, so the pad
    looked blank and the server was sent a white image ("one flat colour")."""
    page.find_element("id", "clear").click()
    js(page, SYNTHETIC, kind, [[0.5, 0.5], [0.5, 0.5]])
    dot = js(page, INK_ON_PAD)
    assert dot > 200, dot  # a 20-pixel pen: about 300 dark pixels
    shown = answer(page)
    assert "flat colour" not in shown["text"], shown
    page.find_element("id", "clear").click()


PICTURE = """
// for each .layer panel: how many of its canvases show more than one colour
return [...document.querySelectorAll('.layer')].map((panel) =>
  [...panel.querySelectorAll('canvas')].filter((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let low = 255, high = 0;
    for (let i = 0; i < data.length; i += 4) {
      low = Math.min(low, data[i], data[i + 1], data[i + 2]);
      high = Math.max(high, data[i], data[i + 1], data[i + 2]);
    }
    return high - low > 20;
  }).length);
"""


def test_every_layer_panel_shows_a_picture(page, model):
    draw_digit(page, 4, seed=1)
    panels = page.find_elements("css selector", ".layer")
    assert len(panels) == len(model.layers) == 8
    titles = [panel.find_element("css selector", ".layer-title").text for panel in panels]
    assert titles[0].split() == ["0", "Conv2d(1,", "8,", "3,", "padding=1)", "8×28×28"]
    assert titles[-1].split()[-2:] == ["Linear(784,", "10)"] or titles[-1].endswith("10")
    assert [panel.get_attribute("data-drawn") for panel in panels] == ["true"] * 8
    assert all(count > 0 for count in js(page, PICTURE)), js(page, PICTURE)
    legends = [panel.find_element("css selector", ".legend").text for panel in panels]
    assert "signed" in legends[0] and "zero-based" in legends[1]  # conv, then ReLU


#: the network's float32 value of a sum of products against the page's float64 sum of the
#: same float32 numbers: a float32 rounding is relative (2**-24 of the value, 3.7e-7 near 6),
#: and a sum of up to 200 products (in another order, with cancellation) gathers up to about
#: a hundred of them, relative to the value and, near zero, to terms of order 1
FLOAT32_SUM = {
    "rel": 128 * float(np.finfo(np.float32).eps),
    "abs": 128 * float(np.finfo(np.float32).eps),
}


def click_pixel(driver, layer: int, channel: int, row: int, col: int, size: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_elements("css selector", f".layer[data-index='{layer}'] .map canvas")
    target = canvas[channel]
    js(driver, "arguments[0].scrollIntoView({block: 'center'});", target)  # clear of the header
    width = target.size["width"]
    x = (col + 0.5) * width / size - width / 2  # from the canvas's centre
    y = (row + 0.5) * width / size - width / 2
    ActionChains(driver).move_to_element_with_offset(target, int(x), int(y)).click().perform()


@pytest.mark.parametrize(
    "layer, channel, row, col, size, inputs",
    [(0, 3, 14, 14, 28, 1), (0, 0, 0, 0, 28, 1), (3, 5, 7, 6, 14, 8), (3, 15, 13, 0, 14, 8)],
)
def test_the_kernel_view_adds_up_to_the_feature_map_value(
    page, layer, channel, row, col, size, inputs
):
    draw_digit(page, 8, seed=2)
    click_pixel(page, layer, channel, row, col, size)
    wait_for(
        lambda: js(
            page,
            "const k = document.getElementById('kernel');"
            f"return !k.hidden && k.dataset.layer === '{layer}' && "
            "k.querySelector('h4') !== null;",
        ),
        what="the kernel view",
    )
    heading = page.find_element("css selector", "#kernel h4").text
    assert f"channel {channel}, row {row}, column {col}" in heading
    value = float(page.find_element("id", "kernel-sum").get_attribute("data-value"))
    shown = float(page.find_element("id", "kernel-map-value").get_attribute("data-value"))
    assert value == pytest.approx(shown, **FLOAT32_SUM)
    assert "✓" in page.find_element("css selector", "#kernel-sum + .sum-note").text
    relu = float(page.find_element("id", f"kernel-then-{layer + 1}").get_attribute("data-value"))
    assert relu == pytest.approx(max(0.0, value), **FLOAT32_SUM)  # relu: float32, value: float64
    assert len(page.find_elements("css selector", "#kernel .channel")) == inputs
    # the window is outlined where the layer's input is shown
    where = "#input" if layer == 0 else f".layer[data-index='{layer - 1}']"
    marks = js(
        page,
        f'return document.querySelector("{where}").parentElement'
        ".querySelectorAll('.mark.window').length;"
        if layer == 0
        else f'return document.querySelectorAll("{where} .mark.window").length;',
    )
    assert marks == (1 if layer == 0 else inputs)
    page.find_element("id", "kernel-close").click()
    assert js(page, "return document.getElementById('kernel').hidden;")


OUTSIDE_THE_WINDOW = """
// the kernel view's parts that stick out to the right of the window (a sideways scroll)
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('#kernel *')]
  .filter((e) => e.getBoundingClientRect().right > width + 1)
  .map((e) => e.tagName + '.' + e.className);
"""


RENDER_KERNEL = """
const [view, done] = arguments;
import('/kernel.js').then((kernel) => {
  const node = document.createElement('div');
  document.body.append(node);
  kernel.renderKernel(node, view, view.value, () => {});
  const lines = [...node.querySelectorAll('.nums td')].map((cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return [cell.textContent, range.getClientRects().length];
  });
  node.remove();
  done(lines);
});
"""


def test_a_small_number_in_the_kernel_view_stays_on_one_line(page):
    """A product of -0.0006 showed as "-6.0e-" over "4" in its cell (broken at the dash)."""
    tiny, row = -6e-4, [-6e-4, 0.5, 1.0]
    view = {
        "title": "Conv2d(1, 1, (1, 3))",
        **{"channel": 0, "row": 0, "col": 0, "origin": [0, 0], "stride": [1, 1]},
        **{"padding_size": [0, 0], "padding": None, "has_bias": False, "then": []},
        **{"window": [[row]], "kernel": [[[tiny, 1.0, 1.0]]], "products": [[[3.6e-7, 0.5, 1.0]]]},
        **{"channel_sums": [1.5], "sum": 1.5, "value": 1.5},
    }
    cells = page.execute_async_script(RENDER_KERNEL, view)
    assert ["-6.0e-4", 1] in cells and all(lines == 1 for _, lines in cells), cells


def test_the_kernel_view_opens_from_the_keyboard(page):
    """A conv map could only be clicked: with the keyboard alone no kernel view could be
    opened.  Tab reaches the maps; Enter shows the centre pixel, an arrow key moves it."""
    from selenium.webdriver.common.keys import Keys

    draw_digit(page, 4, seed=9)
    heading = "return document.querySelector('#kernel h4')?.textContent || ''"
    canvas = page.find_elements("css selector", ".layer[data-index='0'] .map canvas")[2]
    page.find_element("id", "why").click()  # the focus just before the layers...
    page.switch_to.active_element.send_keys(Keys.TAB)  # ...and Tab lands on map 0
    assert js(page, "return document.activeElement.title") == "channel 0"
    canvas.send_keys(Keys.ENTER)
    wait_for(lambda: "channel 2, row 14, column 14" in js(page, heading), what="Enter")
    canvas.send_keys(Keys.ARROW_RIGHT)
    wait_for(lambda: "channel 2, row 14, column 15" in js(page, heading), what="the arrow")
    page.find_element("id", "kernel-close").click()


def test_the_kernel_view_fits_a_phone(server, page):
    """At 375x667 the sum's row (window x kernel = products -> sum) and the sums below ran
    past the window's right edge: cut off, and the whole page scrolled sideways."""
    size = page.get_window_size()
    page.set_window_size(375, 667)
    try:
        wait_for(lambda: js(page, "return window.innerWidth") <= 400, what="a phone's width")
        draw_digit(page, 8, seed=2)
        click_pixel(page, 0, 2, 14, 14, 28)
        wait_for(
            lambda: js(page, "return !document.getElementById('kernel').hidden"),
            what="the kernel view",
        )
        assert js(page, OUTSIDE_THE_WINDOW) == []
        widths = js(page, "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
    finally:
        page.set_window_size(size["width"], size["height"])
        open_page(page, server.url)  # scrolled to the top again, the kernel view closed


def test_the_probabilities_are_bars_for_every_class(page):
    draw_digit(page, 0, seed=3)
    rows = page.find_elements("css selector", "#probabilities .prob")
    assert [row.get_attribute("data-label") for row in rows] == list(cnn.MNIST_CLASSES)
    widths = js(
        page,
        "return [...document.querySelectorAll('#probabilities .prob-fill')]"
        ".map((bar) => parseFloat(bar.style.width));",
    )
    assert sum(widths) == pytest.approx(100, abs=1)
    assert rows[int(np.argmax(widths))].get_attribute("class") == "prob best"


def test_an_image_file_is_a_second_way_in(page, tmp_path):
    path = tmp_path / "seven.png"
    gray = render(jittered(DIGITS[7], np.random.default_rng(4)), size=400, pen=30)
    Image.fromarray((gray * 255).astype(np.uint8)).save(path)
    shown = upload_file(page, path)
    assert shown["label"] == "7"


def test_the_image_file_can_be_chosen_with_the_keyboard(page):
    """Tab from Clear went straight to the "Why?" buttons: the file field was hidden with
    display: none, out of the tab order, so "Choose an image…" needed a mouse."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.find_element("id", "clear").send_keys("")  # focus on Clear
    ActionChains(page).send_keys(Keys.TAB).perform()
    focused = js(
        page,
        "const a = document.activeElement;"
        "return [a.id, getComputedStyle(a.closest('label') || a).outlineStyle];",
    )
    assert focused == ["upload", "solid"], focused  # and its label shows where the focus is


def test_clear_empties_the_page(page):
    draw_digit(page, 1, seed=5)
    page.find_element("id", "clear").click()
    state = js(
        page,
        "return [document.getElementById('answer').dataset.state,"
        " [...document.querySelectorAll('.layer')].map((p) => p.dataset.drawn)];",
    )
    assert state[0] == "empty" and set(state[1]) == {"false"}


def test_a_file_it_cannot_read_leaves_no_earlier_answer_on_the_page(page, tmp_path):
    """A drawn 1, then a file that is no image: the pad went blank and the answer said so,
    but the bars, the novelty score, "What the net sees", "Why?" and every layer still showed
    the 1, as if they were the net's view of the file."""
    draw_digit(page, 1, seed=5)
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    shown = upload_file(page, path)
    assert shown["state"] == "error" and shown["label"] == ""
    errors = console_errors(page)  # the one refused request, and no script error
    assert len(errors) == 1 and "/api/predict" in errors[0] and "422" in errors[0], errors
    state = js(
        page,
        "return {bars: [...document.querySelectorAll('.prob-value')].map((n) => n.textContent),"
        " drawn: [...document.querySelectorAll('.layer')].map((p) => p.dataset.drawn),"
        " why: document.getElementById('why').dataset.method,"
        " novelty: document.getElementById('novelty-note').textContent};",
    )
    assert set(state["bars"]) == {""} and set(state["drawn"]) == {"false"}, state
    assert state["why"] == "" and state["novelty"] == "", state


def test_a_why_method_chosen_before_any_drawing_shows_as_chosen(page):
    """On an empty pad a click on "Saliency" left "Grad-CAM" marked: the click seemed lost,
    yet the next drawing's map was a saliency map."""
    page.find_element("id", "clear").click()
    buttons = page.find_elements("css selector", ".why-method")
    try:
        buttons[1].click()
        marked = [b.get_attribute("class") for b in buttons]
        assert marked == ["why-method", "why-method on"], marked
    finally:
        buttons[0].click()


class RefuseAll:
    """A stand-in novelty detector that finds everything unfamiliar."""

    threshold = 1.0

    def score(self, model, X):
        return np.full(len(X), 2.5)


def test_a_refusal_is_shown_in_the_answer(model, server, page):
    """A model whose file holds a novelty check: "not a digit" instead of a class."""
    refusing = LiveServer("127.0.0.1", 0, view=ModelView(model, CARD, novelty=RefuseAll()))
    refusing.start()
    try:
        open_page(page, refusing.url)
        shown = draw_digit(page, 3, seed=7)
        assert (shown["state"], shown["label"]) == ("refused", "")
        assert "not a digit" in shown["text"] and "2.5" in shown["text"]
    finally:
        refusing.stop()
        open_page(page, server.url)


def test_a_fashion_model_asks_for_its_classes_not_a_digit(model, server, page):
    """A Fashion-MNIST model: the page said "Draw a digit"; it asks for one of its classes and
    says, as ``cnn-numpy predict`` does, that images are prepared as Fashion-MNIST's were."""
    card = {**CARD, "dataset": "fashion-mnist", "class_names": list(cnn.FASHION_MNIST_CLASSES)}
    fashion = LiveServer("127.0.0.1", 0, view=ModelView(model, card)).start()
    try:
        open_page(page, fashion.url)
        text = js(
            page,
            "return ['pad-title', 'pad-hint', 'answer-note', 'input-hint']"
            ".map((id) => document.getElementById(id).textContent);",
        )
        assert text[0] == "Draw one of its classes" and "digit" not in text[1] + text[2]
        assert "prepared as Fashion-MNIST's photos were" in text[3]
        assert "trimmed to the article" in text[3] and "fitted in 20×20" not in text[3]
    finally:
        fashion.stop()
        open_page(page, server.url)
    assert js(page, "return document.getElementById('pad-title').textContent") == "Draw a digit"


def test_the_model_facts_count_one_epoch_in_the_singular(model, server, page):
    """A model trained for one epoch (``train --epochs 1``): "1 epoch", not "1 epochs"."""
    one = LiveServer("127.0.0.1", 0, view=ModelView(model, {**CARD, "epochs": 1})).start()
    try:
        open_page(page, one.url)
        facts = js(page, "return document.getElementById('model-facts').textContent")
        assert "1 epoch" in facts and "1 epochs" not in facts, facts
    finally:
        one.stop()
        open_page(page, server.url)
    facts = js(page, "return document.getElementById('model-facts').textContent")
    assert "4 epochs" in facts, facts


def test_the_page_logged_no_errors(page):
    """Everything above ran without one JavaScript error or failed request."""
    assert console_errors(page) == []


def test_screenshot_for_the_readme(page, browser, tmp_path):
    """The README's picture: kept with CNN_NUMPY_SCREENSHOTS=DIR (and a real model with
    CNN_NUMPY_SCREENSHOT_MODEL=MODEL.npz), else drawn into a temporary folder and checked."""
    folder = os.environ.get("CNN_NUMPY_SCREENSHOTS") or tmp_path
    server = None
    if os.environ.get("CNN_NUMPY_SCREENSHOT_MODEL"):
        path = os.environ["CNN_NUMPY_SCREENSHOT_MODEL"]
        net, card = cnn.load(path), cnn.load_card(path)
        view = ModelView(net, card, name=Path(path).name, novelty=cnn.load_novelty(path))
        server = LiveServer(
            "127.0.0.1",
            0,
            view=view,
            title=f"{Path(path).name} ({card.get('preset')}, {card.get('dataset')})",
        ).start()
        open_page(browser, server.url)
    try:
        browser.set_window_size(1400, 1000)
        draw_digit(browser, 7, seed=6)
        click_pixel(browser, 0, 3, 9, 15, 28)
        wait_for(lambda: js(browser, "return !document.getElementById('kernel').hidden"))
        js(browser, "window.scrollTo(0, 0);")
        screenshot(browser, Path(folder) / "serve.png", width=1000)
        assert (Path(folder) / "serve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        if server is not None:
            server.stop()


def test_the_page_fits_a_320_pixel_phone(server, page):
    """At 320 px (the narrowest phones) the pad's card was wider than the window: the whole
    page scrolled sideways, the cards' right edges cut off.  The pad shrinks to fit, and a
    stroke on it still lands where it is drawn."""
    size = page.get_window_size()
    page.set_window_size(320, 640)
    try:
        wait_for(lambda: js(page, "return window.innerWidth") <= 320, what="a 320 px window")
        assert draw_digit(page, 7, seed=3)["label"] == "7"
        click_pixel(page, 0, 1, 14, 14, 28)
        wait_for(lambda: js(page, "return !document.getElementById('kernel').hidden"))
        widths = js(page, "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
    finally:
        page.set_window_size(size["width"], size["height"])
        open_page(page, server.url)


def test_a_long_layer_title_fits_a_320_pixel_phone(page, server):
    """A resnet's "AdaptiveAvgPool2d(output_size=(1, 1)) 64×1×1" (and the BatchNorm titles
    indented inside its blocks) ran 35 px past a 320 px window's edge, cut off; the name and
    the shape now wrap."""
    net = cnn.Sequential(
        cnn.Conv2d(1, 4, 3, padding=1, rng=0),
        cnn.AdaptiveAvgPool2d((1, 1)),
        cnn.Flatten(),
        cnn.Linear(4, 10, rng=1),
    )
    pooled = LiveServer("127.0.0.1", 0, view=ModelView(net, CARD)).start()
    size = page.get_window_size()
    page.set_window_size(320, 640)
    try:
        wait_for(lambda: js(page, "return window.innerWidth") <= 320, what="a 320 px window")
        open_page(page, pooled.url)
        widths = js(page, "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
    finally:
        pooled.stop()
        page.set_window_size(size["width"], size["height"])
        open_page(page, server.url)


def test_a_clicked_pixel_opens_the_kernel_view_in_sight_on_a_phone(server, page):
    """At 390x844 the second conv's panel (16 maps, four a row) is taller than the window: a
    click on a pixel near its top opened the kernel view below the window's edge, and the page
    seemed to do nothing.  It is scrolled into sight, below the sticky header."""
    size = page.get_window_size()
    page.set_window_size(390, 844)
    try:
        wait_for(lambda: js(page, "return window.innerWidth") <= 400, what="a phone's width")
        draw_digit(page, 8, seed=2)
        first = page.find_element("css selector", ".layer[data-index='3'] .map canvas")
        js(page, "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -80);", first)
        click_pixel(page, 3, 0, 7, 6, 14)
        wait_for(
            lambda: js(
                page,
                "const k = document.getElementById('kernel'), box = k.getBoundingClientRect();"
                "const header = document.querySelector('.top').getBoundingClientRect().bottom;"
                "return !k.hidden && k.dataset.layer === '3' && box.top >= header - 1 &&"
                " box.top < window.innerHeight - 100;",
            ),
            what="the kernel view in sight "
            + str(
                js(
                    page,
                    "const k = document.getElementById('kernel');"
                    "return [k.hidden, k.dataset.layer, k.getBoundingClientRect().top,"
                    " window.innerHeight, window.scrollY];",
                )
            ),
        )
    finally:
        page.set_window_size(size["width"], size["height"])
        open_page(page, server.url)


SIDE_IN_SIGHT = """
// the side column's end (the "Why?" card), scrolled as far as a reader can: is it in sight?
const side = document.querySelector('.side');
window.scrollTo(0, document.documentElement.scrollHeight / 3);
side.scrollTop = side.scrollHeight;
return [document.getElementById('why').getBoundingClientRect().bottom, window.innerHeight];
"""


def test_the_why_card_can_be_reached_on_a_laptop_screen(server, page):
    """At 1400x1000 the side column (pad, answer, what the net sees, Why?) is taller than the
    window and stuck below the header: its "Why?" card stayed out of reach until the page's
    very end.  The column now scrolls on its own."""
    size = page.get_window_size()
    page.set_window_size(1400, 1000)
    try:
        draw_digit(page, 3, seed=9)
        bottom, height = js(page, SIDE_IN_SIGHT)
        assert bottom <= height, (bottom, height)
    finally:
        page.set_window_size(size["width"], size["height"])
        open_page(page, server.url)


DROP_BESIDE_THE_PAD = """
// a photo dropped on the page beside the pad: false if the page took it (no navigation)
const file = new File([new Uint8Array([137, 80, 78, 71])], 'seven.png', {type: 'image/png'});
const data = new DataTransfer();
data.items.add(file);
const where = document.querySelector(arguments[0]);
where.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
return where.dispatchEvent(
  new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));
"""


@pytest.mark.parametrize("where", [".layers-intro", "#answer", ".top"])
def test_a_photo_dropped_beside_the_pad_does_not_replace_the_page(page, where):
    """A photo that missed the pad by a little was opened by the browser in place of the
    page (the drawing and its answer gone, or a training run's view)."""
    assert js(page, DROP_BESIDE_THE_PAD, where) is False  # the default, opening it: prevented
    assert page.current_url.startswith("http://127.0.0.1")


DROP_ON_THE_PAD = """
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
const data = new DataTransfer();
data.items.add(new File([bytes], 'seven.png', {type: 'image/png'}));
document.getElementById('pad').dispatchEvent(
  new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));
"""


def test_a_photo_dropped_on_the_pad_is_answered(page):
    import base64
    import io

    gray = render(jittered(DIGITS[7], np.random.default_rng(4)), size=400, pen=30)
    png = io.BytesIO()
    Image.fromarray((gray * 255).astype(np.uint8)).save(png, format="PNG")
    page.find_element("id", "clear").click()
    js(page, DROP_ON_THE_PAD, base64.b64encode(png.getvalue()).decode())
    assert answer(page)["label"] == "7"
