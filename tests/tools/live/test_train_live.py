"""`cnn-numpy train --live`: the training view draws its curves from the events, the draw
view of the trained model follows; as a user runs it, events at GET /events while it trains
and the trained model until Ctrl-C; a Stop button (in a real browser) that ends training the
way Ctrl-C does, so `--resume` carries on."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import Hooks
from helpers.browser import (
    answer,
    console_errors,
    draw,
    js,
    require_browser,
    screenshot,
    start_chromium,
    wait_for,
)
from helpers.events import follow_events
from helpers.pipes import next_line

import cnn_numpy as cnn
from cnn_numpy.tools.live import LiveTraining


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_browser()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def train_live(*flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cnn_numpy",
            "train",
            "--live",
            "--port",
            "0",
            "--no-browser",
            "--no-report",
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def page_address(process: subprocess.Popen, timeout: float = 120) -> str:
    """The address in the line 'Watch it train at http://...'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = next_line(process, timeout=max(0.1, deadline - time.monotonic()))
        found = re.search(r"Watch it train at (http://\S+/)", line)
        if found:
            return found.group(1)
        assert line, f"train --live ended early: {process.stderr.read()}"
    pytest.fail("train --live printed no address")


def request(
    url: str,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: dict | None = None,
) -> tuple[int, bytes]:
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    result = response.status, response.read()
    connection.close()
    return result


def test_events_then_the_trained_model_until_ctrl_c(tmp_path):
    run = tmp_path / "run"
    process = train_live("--epochs", "2", "--filters", "2", "--batch-size", "16", "--out", str(run))
    try:
        url = page_address(process)
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        events = []
        for _, event in follow_events(port, count=100):
            events.append(event)
            if event["type"] == "done":
                break
        kinds = [event["type"] for event in events]
        assert kinds[0] == "start" and kinds[-1] == "done"
        assert kinds.count("batch") == 2 * 30 and kinds.count("epoch") == 2  # 480 / 16
        assert all({"epoch", "batch", "loss"} <= set(event) for event in events)
        assert events[0]["epochs"] == 2 and events[0]["batches"] == 30
        status, body = request(url, path="/api/info")
        info = json.loads(body)
        assert status == 200 and info["model"]["classes"] == ["vertical", "horizontal"]
        assert info["model"]["card"]["epochs"] == 2
        assert info["model"]["novelty"]["threshold"] > 0  # the check train stored
        status, _ = request(url, path="/", headers={"Host": "evil.example"})
        assert status == 403
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err and "Training done." in out
    assert (run / "model.npz").is_file()


def test_the_resnet_trains_live_on_two_processes_and_its_page_answers(tmp_path):
    # the resnet trains on two processes (the default on two cores or more): its BatchNorm
    # shares statistics across them while the page follows the batches; then the page runs it
    run = tmp_path / "run"
    process = train_live(
        "--model",
        "resnet",
        "--workers",
        "2",
        "--limit",
        "64",
        "--batch-size",
        "16",
        "--out",
        str(run),
    )
    try:
        url = page_address(process)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        kinds = []
        for _, event in follow_events(port, count=100):
            kinds.append(event["type"])
            if event["type"] == "done":
                break
        assert kinds.count("batch") == 5 * 4 and kinds[-1] == "done"  # 5 epochs of 64 / 16
        pixels = np.zeros((28, 28), np.uint8)
        pixels[4:24, 12:16] = 255  # a vertical line
        drawing = {"pixels": base64.b64encode(pixels.tobytes()).decode(), "width": 28, "height": 28}
        status, body = request(
            url,
            "POST",
            "/api/predict",
            json.dumps(drawing).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200, body
        probabilities = json.loads(body)["probabilities"]  # vertical, horizontal
        assert len(probabilities) == 2 and abs(sum(probabilities) - 1) < 1e-6
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert "not split" not in out + err
    assert "Traceback" not in err and "Training done." in out


def test_the_stop_button_ends_training_as_ctrl_c_does(browser, tmp_path):
    run = tmp_path / "run"
    # batch 1 on the lines: ~480 steps an epoch, so the page sees it train before Stop
    process = train_live("--epochs", "40", "--filters", "2", "--out", str(run))
    driver = browser
    try:
        url = page_address(process)
        status, _ = request(url, "POST", "/api/stop", b"{}", {"Content-Type": "application/json"})
        assert status == 403  # no token: another site's page
        driver.get(url)
        wait_for(
            lambda: driver.execute_script(
                "const e = document.getElementById('curves').dataset.events;"
                "return e !== undefined && Number(e) > 500;"
            ),
            timeout=120,
            what="the first epoch's events",
        )
        assert driver.find_element("id", "stop").is_displayed()
        driver.find_element("id", "stop").click()
        wait_for(
            lambda: "--resume" in driver.find_element("id", "train-status").text,
            timeout=60,
            what="the page's resume line",
        )
        status_line = driver.find_element("id", "train-status").text
        assert f"cnn-numpy train --resume {run}" in status_line
        out, err = process.communicate(timeout=60)
        assert console_errors(driver) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "Interrupted." in out and f"cnn-numpy train --resume {run}" in out
    # saved at the end of the batch under way (or of an epoch, if Stop came at its end)
    within = re.search(r"after batch (\d+) of \d+ in epoch (\d+)", out)
    saved = int(within.group(2)) - 1 if within else int(re.search(r"after epoch (\d+)", out)[1])
    assert saved >= 1 and (run / "checkpoint.npz").is_file()
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnn_numpy",
            "train",
            "--resume",
            str(run),
            "--epochs",
            str(saved + 1),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"Resuming {run} at batch {int(within[1]) + 1} of 480 in epoch {saved + 1}"
        if within
        else f"Resuming {run} after epoch {saved}"
    ) in resumed.stdout
    assert f"Epoch {saved + 1:02d} |" in resumed.stdout


def test_the_training_view_draws_curves_from_the_events(browser):
    """Training in this process (fit with the --live hooks), watched in the browser."""
    X, y = cnn.synthetic_lines(40, rng=0)
    net = cnn.seed_net(2, filters=4, rng=0)
    optimizer = cnn.SGD(net.parameters(), lr=0.05)
    live = LiveTraining(
        "127.0.0.1", 0, net, optimizer, epochs=3, batches=10, title="lines, seed", interval=0.05
    ).start()
    try:
        browser.get(live.url)
        wait_for(lambda: js(browser, "return !document.getElementById('training').hidden"))

        def on_batch_end(epoch, step, loss):
            live.on_batch_end(epoch, step, loss)
            time.sleep(0.03)  # long enough for the page to see it happen

        history = cnn.fit(
            net,
            cnn.CrossEntropyLoss(),
            optimizer,
            (X, y),
            epochs=3,
            batch_size=8,
            test=(X, y),
            rng=0,
            callbacks=[Hooks(on_batch_end=on_batch_end, on_epoch_end=live.on_epoch_end)],
        )
        card = {
            "dataset": "lines",
            "class_names": ["vertical", "horizontal"],
            "normalize": {"mean": 0.0, "std": 1.0},
            "input_shape": [1, 28, 28],
            "epochs": 3,
            "test_acc": history.test_acc[-1],
        }
        assert not browser.find_element("id", "pad").is_displayed()  # no model to draw yet
        live.finished(net, card)
        wait_for(
            lambda: js(browser, "return document.getElementById('curves').dataset.events === '35'"),
            what="all 35 events",
        )
        wait_for(
            lambda: js(browser, "return document.getElementById('curves').dataset.drawn === '30'"),
            what="the curves with 30 batches",
        )
        drawn = js(
            browser,
            "return ['loss-chart', 'acc-chart', 'lr-chart'].map((id) => {"
            " const c = document.getElementById(id);"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height)"
            ".data; let coloured = 0;"
            " for (let i = 0; i < d.length; i += 4)"
            "  if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2])"
            " > 60) coloured++; return coloured; });",
        )
        assert all(count > 50 for count in drawn), drawn
        assert len(browser.find_elements("css selector", "#filters canvas")) == 4
        assert "epoch 3/3" in browser.find_element("id", "train-stats").text
        wait_for(
            lambda: js(browser, "return !document.getElementById('draw-view').hidden"),
            what="the draw view after training",
        )
        assert "Training finished" in browser.find_element("id", "train-status").text
        assert browser.find_element("id", "pad").is_displayed()
        assert console_errors(browser) == []
        if os.environ.get("CNN_NUMPY_SCREENSHOTS"):
            screenshot(
                browser, Path(os.environ["CNN_NUMPY_SCREENSHOTS"]) / "train-live.png", width=1000
            )
        browser.find_element("id", "clear").click()
        draw(browser, [[(0.5, 0.1), (0.5, 0.9)]])  # a vertical line
        assert answer(browser)["label"] == "vertical"
    finally:
        live.close()


def test_a_port_in_use_stops_before_training(tmp_path, capsys):
    import socket

    from cnn_numpy.tools.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(
            [
                "train",
                "--live",
                "--port",
                str(port),
                "--no-browser",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "run"),
            ]
        )
    assert status == 1
    err = capsys.readouterr().err
    assert f"error: port {port} on 127.0.0.1 is already in use" in err
    assert not (tmp_path / "run" / "model.npz").exists()


OVERLAPS = """
// pairs of the training view's boxes (each chart, the filters) that cover one another
const boxes = [...document.querySelectorAll('#curves figure, .filters-box')]
  .map((e) => [e.querySelector('figcaption, h3').textContent, e.getBoundingClientRect()]);
const width = document.documentElement.clientWidth;
const found = boxes.filter(([, r]) => r.right > width + 1).map(([name]) => name + ': past the edge');
for (const [a, r] of boxes) for (const [b, s] of boxes)
  if (a < b && r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1
      && s.top < r.bottom - 1) found.push(a + ' / ' + b);
return found;
"""


def test_the_training_view_fits_a_phone(browser):
    """At 375x667 the first layer's filters were drawn over the loss chart."""
    net = cnn.seed_net(2, filters=4, rng=0)
    optimizer = cnn.SGD(net.parameters(), lr=0.05)
    live = LiveTraining("127.0.0.1", 0, net, optimizer, epochs=1, batches=2, title="t").start()
    size = browser.get_window_size()
    browser.set_window_size(375, 667)
    try:
        browser.get(live.url)
        wait_for(lambda: js(browser, "return !document.getElementById('training').hidden"))
        wait_for(lambda: js(browser, "return window.innerWidth") <= 400, what="a phone's width")
        assert js(browser, OVERLAPS) == []
        assert js(browser, "return document.documentElement.scrollWidth") <= 375
    finally:
        browser.set_window_size(size["width"], size["height"])
        live.close()


def test_a_finished_run_shows_the_learning_rate_its_last_epoch_used(browser):
    """A cosine schedule to 0 over 2 epochs: once training ended the stats read "epoch 2/2 ·
    batch 1/1 · learning rate 0", the rate for an epoch that never comes, not the 0.05 the
    last epoch trained at.  Between epochs the next epoch's rate is right, and stays."""
    net = cnn.seed_net(2, filters=4, rng=0)
    optimizer = cnn.SGD(net.parameters(), lr=0.1)
    live = LiveTraining("127.0.0.1", 0, net, optimizer, epochs=2, batches=1, interval=0.05)
    live.start()
    try:
        browser.get(live.url)
        wait_for(lambda: js(browser, "return !document.getElementById('training').hidden"))
        history = cnn.History()
        for epoch, next_lr in ((1, 0.05), (2, 0.0)):
            live.on_batch_end(epoch, 1, 0.5)
            optimizer.lr = next_lr  # the schedule's step, before the epoch's end is told
            for key, value in (("epoch", epoch), ("loss", 0.5), ("train_acc", 0.5)):
                getattr(history, key).append(value)
            history.test_acc.append(None), history.test_loss.append(None)
            history.seconds.append(1.0)
            live.on_epoch_end(epoch, history)
            events = str(1 + 2 * epoch)  # start, then a batch and an epoch each
            wait_for(
                lambda e=events: (
                    js(browser, "return document.getElementById('curves').dataset.events") == e
                ),
                what=f"epoch {epoch}'s events",
            )
            time.sleep(0.3)  # the stats are redrawn on the next animation frame
            stats = browser.find_element("id", "train-stats").text
            assert f"epoch {epoch}/2" in stats, stats
            assert "learning rate 0.05" in stats, stats
    finally:
        live.close()
