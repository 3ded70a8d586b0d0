"""Headless Chromium for the page's tests (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium).  Where they are missing the tests are skipped, except in CI
(``CI=true``), where a missing browser is a failure: CI installs them."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CNN_NUMPY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CNN_NUMPY_CHROMEDRIVER", "/usr/bin/chromedriver")


def require_browser() -> None:
    """Skip (or, in CI, fail) unless selenium, chromium and chromedriver are all here."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() or shutil.which(path)):
            missing.append(f"{path} (apt-get install {package})")
    if missing:
        message = "the browser tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must install them (.ci/run)")
        pytest.skip(message)


def start_chromium(profile: Path, width: int = 1400, height: int = 1000):
    """A fresh headless Chromium with its own profile folder; quit() it when done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def console_errors(driver) -> list[str]:
    """Errors the page logged to its console since the last call (JS exceptions included)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def draw(driver, strokes, pad_id: str = "pad") -> None:
    """Draw ``strokes`` (polylines in unit-square coordinates) on the pad with the mouse:
    press, move through the points, release, as a person would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    pad = driver.find_element(By.ID, pad_id)
    width, height = pad.size["width"], pad.size["height"]
    for stroke in strokes:
        # selenium's offsets count from the element's centre
        points = [(int(x * width - width / 2), int(y * height - height / 2)) for x, y in stroke]
        actions = ActionChains(driver, duration=5)
        actions.move_to_element_with_offset(pad, *points[0]).click_and_hold()
        for point in points[1:]:
            actions.move_to_element_with_offset(pad, *point)
        actions.release().perform()


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def answer(driver) -> dict:
    """#answer's data once it shows the pad as it is now (all strokes included)."""
    wait_for(
        lambda: js(
            driver,
            "const a = document.getElementById('answer');"
            "return a.dataset.version === document.getElementById('pad')"
            ".dataset.version && a.dataset.state !== 'empty';",
        ),
        what="the answer to the drawing",
    )
    return js(
        driver,
        "return {...document.getElementById('answer').dataset,"
        " text: document.getElementById('answer').innerText};",
    )


def upload_file(driver, path) -> dict:
    """Give the page the image file ``path`` (its hidden file input), then #answer's data
    once the page has read the file and answered it: the pad's version must move first, or
    the answer to the earlier drawing still matches the pad while the file is being read."""
    before = js(driver, "return document.getElementById('pad').dataset.version || '0';")
    field = driver.find_element("id", "upload")
    js(driver, "arguments[0].style.display = 'block';", field)
    field.send_keys(str(path))
    js(driver, "arguments[0].style.display = '';", field)
    wait_for(
        lambda: js(driver, "return document.getElementById('pad').dataset.version;") != before,
        what="the page to read the file",
    )
    return answer(driver)


def open_page(driver, url: str) -> None:
    """The live page at ``url``, once its draw view shows."""
    driver.get(url)
    wait_for(
        lambda: js(driver, "return !document.getElementById('draw-view').hidden"),
        what="the draw view",
    )


def wait_for(condition, timeout: float = 20, what: str = "the page"):
    """Poll ``condition()`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def screenshot(driver, path: Path, full_page: bool = False, width: int | None = None) -> None:
    """A PNG of the window (or of the whole page), scaled down to ``width`` pixels if given."""
    import base64
    import io

    from PIL import Image

    if full_page:
        size = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];"
        )
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            },
        )
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
    else:
        image = Image.open(io.BytesIO(driver.get_screenshot_as_png()))
    if width is not None and image.width > width:
        image = image.resize(
            (width, round(image.height * width / image.width)), Image.Resampling.LANCZOS
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours are plenty for a page of flat panels and heat maps: a third of the bytes
    image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
