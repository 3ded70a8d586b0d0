"""The page draws a residual block as its inner layers and the sum: the panels in the order
the layers run, each feature map the model's own, the sum equal to its two terms, and the
kernel view of a conv inside a block reading the block's real input (also in a browser)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.browser import console_errors, js, require_browser, start_chromium, wait_for

import cnn_numpy as cnn
from cnn_numpy.tools.live import LiveServer, ModelView
from cnn_numpy.tools.live.layers_view import describe_layers, layer_outputs

CARD = {"normalize": {"mean": 0.1307, "std": 0.3081}, "input_shape": [1, 28, 28]}


def small_resnet():
    model = cnn.resnet(10, width=4, rng=0)
    model.train()
    model(np.random.default_rng(0).normal(0.5, 2, (16, 1, 28, 28)).astype(np.float32))
    return model.eval()  # running statistics that are not 0 and 1


def digit():
    image = np.zeros((28, 28), np.float32)
    image[5:23, 12:16] = 1.0
    return image


def test_panels_open_a_residual_in_the_order_its_layers_run():
    panels = describe_layers(small_resnet(), (1, 28, 28))
    paths = [p["path"] for p in panels]
    assert paths[:12] == [
        "0", "1", "2", "3.block.0", "3.block.1", "3.block.2", "3.block.3", "3.block.4",
        "3.shortcut.0", "3.shortcut.1", "3", "4",
    ]  # fmt: skip
    by_path = {p["path"]: p for p in panels}
    assert by_path["3.block.0"]["input"] == by_path["3.shortcut.0"]["input"] == 2
    assert by_path["3"]["terms"] == [7, 9] or tuple(by_path["3"]["terms"]) == (7, 9)
    assert by_path["3"]["title"] == "Residual: block + shortcut"
    assert by_path["3.block.0"]["branch"] == "block" and by_path["3.block.0"]["depth"] == 1
    assert by_path["3.shortcut.0"]["shape"] == [8, 14, 14]


def test_every_panel_is_the_models_own_output_and_the_sum_adds_its_terms():
    model = small_resnet()
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    outputs = layer_outputs(model, x)
    panels = describe_layers(model, (1, 28, 28))
    assert [list(o.shape[1:]) for o in outputs] == [p["shape"] for p in panels]
    np.testing.assert_array_equal(outputs[-1], model.forward(x))
    for p in panels:
        if p["terms"]:
            a, b = p["terms"]
            np.testing.assert_allclose(outputs[p["index"]], outputs[a] + outputs[b], rtol=1e-6)
    inner = model[3].block[0]
    np.testing.assert_allclose(outputs[3], inner.forward(outputs[2]), rtol=1e-6)
    assert "forward" not in vars(inner)  # nothing left shadowed


def test_an_identity_shortcut_sums_the_blocks_input():
    model = cnn.Sequential(
        cnn.Conv2d(1, 2, 3, padding=1, rng=0),
        cnn.Residual(cnn.Sequential(cnn.Conv2d(2, 2, 3, padding=1, rng=1), cnn.ReLU())),
        cnn.Flatten(),
        cnn.Linear(2 * 28 * 28, 10, rng=2),
    )
    panels = describe_layers(model, (1, 28, 28))
    assert [p["path"] for p in panels] == ["0", "1.block.0", "1.block.1", "1", "2", "3"]
    assert tuple(panels[3]["terms"]) == (2, 0)


def test_the_kernel_view_inside_a_block_reads_the_blocks_input():
    model = small_resnet()
    view = ModelView(model, CARD)
    panels = view.panels
    conv = next(p["index"] for p in panels if p["path"] == "3.block.3")  # reads 3.block.2
    shortcut = next(p["index"] for p in panels if p["path"] == "3.shortcut.0")  # reads 2
    x, outputs = view.run(digit())
    for index, source in ((conv, conv - 1), (shortcut, 2)):
        kernel = view.kernel(digit(), index, 1, 4, 5)
        assert kernel["value"] == pytest.approx(
            float(outputs[index][0, 1, 4, 5]), rel=1e-4, abs=1e-5
        )
        assert panels[index]["input"] == source
    then = view.kernel(digit(), conv, 1, 4, 5)["then"]
    assert [step["title"] for step in then] == ["BatchNorm2d(8)"]  # the sum is no per-pixel step


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    require_browser()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    server = LiveServer("127.0.0.1", 0, view=ModelView(small_resnet(), CARD, name="resnet")).start()
    try:
        driver.get(server.url)
        wait_for(lambda: js(driver, "return !document.getElementById('draw-view').hidden"))
        yield driver
    finally:
        server.stop()
        driver.quit()


def test_the_page_draws_the_blocks_layers_and_the_sum(page):
    from helpers.browser import answer, draw
    from helpers.digit_strokes import DIGITS

    draw(page, DIGITS[7])
    answer(page)
    panels = page.find_elements("css selector", ".layer")
    assert len(panels) == 24
    wait_for(lambda: all(p.get_attribute("data-drawn") == "true" for p in panels), what="drawn")
    branches = [p.get_attribute("data-branch") for p in panels]
    assert branches[3:11] == ["block"] * 5 + ["shortcut"] * 2 + [""]
    sums = page.find_elements("css selector", ".layer.sum")
    assert [s.get_attribute("data-path") for s in sums] == ["3", "5"]
    readout = sums[0].find_element("css selector", ".readout").text
    assert readout == "the sum of 3.block.4 and 3.shortcut.1"
    indent = js(
        page,
        "return getComputedStyle(document.querySelector(\".layer[data-path='3.block.0']\")).marginLeft",
    )
    assert indent == "24px"
    # click a pixel of the conv inside the block: its window is outlined on 3.block.2's maps
    from selenium.webdriver.common.action_chains import ActionChains

    conv = page.find_element("css selector", ".layer[data-path='3.block.3'] .map canvas")
    ActionChains(page).move_to_element(conv).click().perform()
    wait_for(
        lambda: js(page, "return !document.getElementById('kernel').hidden"), what="kernel view"
    )
    marked = js(
        page,
        "return [...document.querySelectorAll('.layer')].filter((p) => "
        "p.querySelector('.mark.window')).map((p) => p.dataset.path);",
    )
    assert marked == ["3.block.2"]
    assert console_errors(page) == []
