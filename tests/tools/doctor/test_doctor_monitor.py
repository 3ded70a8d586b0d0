"""Monitor: what fit(..., monitor=...) records, that watching changes nothing in training, the
saved monitor.json, and the report's new sections with the filters' GIF."""

from __future__ import annotations

import base64
import io
import json
import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers.doctor_setups import tiny_data, tiny_net
from PIL import Image

from cnn_numpy import SGD, Adam, CrossEntropyLoss, Monitor, fit, write_diagnosis
from cnn_numpy.tools.saving.run_folder import save_history
from cnn_numpy.tools.visualize import filters_gif, plot_monitor
from cnn_numpy.tools.visualize.report import write_report

EPOCHS, BATCH = 3, 16


def train(monitor=None, seed=0):
    X, y = tiny_data(rng=seed)
    model = tiny_net(seed)
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=3e-3),
        (X, y),
        epochs=EPOCHS,
        batch_size=BATCH,
        rng=seed,
        callbacks=[] if monitor is None else [monitor],
    )
    return model, history


@pytest.fixture(scope="module")
def monitored():
    monitor = Monitor(every=4)
    model, history = train(monitor)
    return model, history, monitor


def test_it_records_every_n_steps_and_the_filters_every_epoch(monitored):
    model, _, monitor = monitored
    steps = EPOCHS * math.ceil(240 / BATCH)  # 15 steps an epoch
    assert monitor.steps == steps
    assert [r["step"] for r in monitor.records] == list(range(1, steps + 1, 4))
    assert [r["epoch"] for r in monitor.records][:4] == [1, 1, 1, 1]
    assert [f["epoch"] for f in monitor.filters] == [1, 2, 3]
    assert np.array_equal(
        np.asarray(monitor.filters[-1]["weight"], np.float32), model[0].weight.data
    )
    assert monitor.filters[0]["layer"] == "0: Conv2d"


def test_each_record_has_activation_and_gradient_statistics(monitored):
    _, _, monitor = monitored
    record = monitor.records[2]
    labels = [s["label"] for s in record["layers"]]
    assert labels == ["0: Conv2d", "1: ReLU", "2: MaxPool2d", "3: Flatten", "4: Linear"]
    relu = record["layers"][1]
    assert relu["shape"] == [4, 6, 6] and len(relu["activity"]) == 4
    assert sum(relu["hist"]) == BATCH * 4 * 6 * 6  # all values: fewer than 4096
    assert relu["range"][0] == 0 and 0 < relu["zeros"] < 1 and relu["std"] > 0
    params = {p["name"]: p for p in record["params"]}
    assert list(params) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    for p in params.values():
        assert p["grad_std"] > 0 and 0 < p["update_ratio"] < 1 and p["weight_std"] > 0
    assert record["loss"] > 0


def test_watching_changes_nothing_in_training(monitored):
    model, history, _ = monitored
    plain_model, plain_history = train(monitor=None)
    assert history.loss == plain_history.loss
    for key, value in plain_model.state_dict().items():
        assert np.array_equal(model.state_dict()[key], value), key
    assert "forward" not in vars(model)  # the watcher removed itself


def test_saved_and_loaded(monitored, tmp_path):
    _, _, monitor = monitored
    path = monitor.save(tmp_path)
    assert path == tmp_path / "monitor.json" and not list(tmp_path.glob(".*.tmp"))
    again = Monitor.load(tmp_path)
    assert again.records == json.loads(json.dumps(monitor.records))
    assert again.steps == monitor.steps and again.every == 4
    (tmp_path / "monitor.json").write_text('{"every": 3}')
    with pytest.raises(ValueError, match="not a monitor file"):
        Monitor.load(tmp_path)


def test_continuing_a_run_continues_the_step_count():
    monitor = Monitor(every=5)
    X, y = tiny_data(rng=1)
    model = tiny_net(1)
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(
        model,
        CrossEntropyLoss(),
        optimizer,
        (X, y),
        epochs=1,
        batch_size=60,
        rng=1,
        callbacks=[monitor],
    )
    fit(
        model,
        CrossEntropyLoss(),
        optimizer,
        (X, y),
        epochs=1,
        batch_size=60,
        rng=1,
        callbacks=[monitor],
        history=history,
    )
    assert monitor.steps == 8 and [r["step"] for r in monitor.records] == [1, 6]
    assert [f["epoch"] for f in monitor.filters] == [1, 2]


@pytest.mark.parametrize("every", [0, -1, 2.5, True])
def test_every_must_be_a_positive_int(every):
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        Monitor(every=every)


@pytest.mark.parametrize("max_values", [0, -1, 1, 2.5, None, True])
def test_max_values_must_be_an_int_of_at_least_2(max_values):
    """0 was a ZeroDivisionError at the first watched step, inside fit; -1 and 2.5 went
    through; 1 gave every layer a spread of 0 (one value has none)."""
    with pytest.raises(ValueError, match="max_values must be an int >= 2"):
        Monitor(max_values=max_values)


def test_fit_refuses_a_callback_that_is_not_one():
    X, y = tiny_data(rng=0)
    model = tiny_net(0)
    with pytest.raises(ValueError, match="callbacks must be a list of Callback objects"):
        fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            (X, y),
            epochs=1,
            callbacks=[True],
        )


def gif_frames(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.is_animated
    frames = []
    for k in range(image.n_frames):
        image.seek(k)
        frames.append(image.convert("RGB"))
    return frames


def test_the_filters_gif_has_one_frame_per_epoch(monitored):
    _, _, monitor = monitored
    data = filters_gif(monitor.filters)
    frames = gif_frames(data)
    assert len(frames) == EPOCHS
    assert Image.open(io.BytesIO(data)).info.get("loop") == 0  # loops forever
    pixels = [np.asarray(f, dtype=np.float64) for f in frames]
    assert all(p.std() > 10 for p in pixels)  # not blank
    assert np.abs(pixels[0] - pixels[-1]).mean() > 0.5  # the filters changed
    with pytest.raises(ValueError, match="no filter snapshots"):
        filters_gif([])


def test_the_gifs_caption_states_the_shared_colour_scale_and_fits(monitored):
    """Every frame is drawn on one scale, the largest |weight| of all epochs: the caption says
    it in numbers, and the frame is wide enough for the whole caption."""
    from cnn_numpy.tools.visualize.animation import caption, caption_width

    _, _, monitor = monitored
    limit = max(np.abs(np.asarray(f["weight"])).max() for f in monitor.filters)
    text = caption(monitor.filters[-1], limit)
    assert text.endswith(f"(red +, blue -, darkest ±{limit:.2g})")
    frames = gif_frames(filters_gif(monitor.filters))
    assert all(frame.width >= caption_width(text) for frame in frames)


def test_plot_monitor_needs_records():
    with pytest.raises(ValueError, match="recorded no steps"):
        plot_monitor([])


def test_one_watched_step_is_drawn_as_points(monitored):
    """A short run (fewer steps than ``every``) watches one step: each series is one point,
    which a line without markers does not draw: the three panels were empty."""
    _, _, monitor = monitored
    fig = plot_monitor(monitor.records[:1])
    lines = [line for ax in fig.axes for line in ax.lines]
    assert len(lines) > 3 and all(len(line.get_xdata()) == 1 for line in lines)
    assert all(line.get_marker() not in (None, "", "None", " ") for line in lines)
    assert "(1 watched step, step 1)" in fig._suptitle.get_text()  # not "1 watched steps"
    plt.close(fig)


@pytest.fixture()
def run_folder(tmp_path, monitored):
    model, history, monitor = monitored
    save_history(tmp_path, history)
    monitor.save(tmp_path)
    return tmp_path, model


def embedded(page: str) -> dict[str, tuple[str, bytes]]:
    found = re.findall(
        r'<img src="data:image/(png|gif);base64,([A-Za-z0-9+/=]+)" '
        r'alt="([^"]+)"',
        page,
    )
    return {alt: (kind, base64.b64decode(data)) for kind, data, alt in found}


def test_the_report_shows_the_monitor_and_the_animation(run_folder):
    run_dir, model = run_folder
    page = write_report(run_dir, model, tiny_data(rng=9), ["a", "b", "c"]).read_text()
    pictures = embedded(page)
    for stem in ("monitor", "monitor_updates", "monitor_histograms"):
        kind, data = pictures[f"{stem}.png"]
        assert kind == "png" and data == (run_dir / f"{stem}.png").read_bytes()
    kind, data = pictures["filters_epochs.gif"]
    assert kind == "gif" and data == (run_dir / "filters_epochs.gif").read_bytes()
    assert len(gif_frames(data)) == EPOCHS
    for heading in (
        "Inside the network while it trained",
        "Update-to-weight ratios",
        "The same filters, epoch by epoch",
    ):
        assert heading in page
    assert page.index("Inside the network") < page.index("The same filters")


def test_a_report_without_a_monitor_has_no_monitor_sections(tmp_path, monitored):
    model, history, _ = monitored
    save_history(tmp_path, history)
    page = write_report(tmp_path, model, tiny_data(rng=9), ["a", "b", "c"]).read_text()
    assert "Inside the network" not in page and "epoch by epoch" not in page
    assert "Not drawn" not in page
    assert not list(tmp_path.glob("monitor*")) and not (tmp_path / "filters_epochs.gif").exists()


def test_write_diagnosis_saves_pictures_json_and_a_page(tmp_path):
    from helpers.doctor_setups import healthy

    from cnn_numpy import diagnose

    found = diagnose(*healthy(0))
    page = write_diagnosis(found, tmp_path / "out", title="tiny net")
    html = page.read_text()
    for stem in ("activations", "dead_units", "update_ratios", "lr_curve"):
        assert (tmp_path / "out" / f"{stem}.png").is_file()
        assert f'alt="{stem}.png"' in html
    saved = json.loads((tmp_path / "out" / "diagnosis.json").read_text())
    assert [f["check"] for f in saved["findings"]] == [f.check for f in found]
    assert html.count('<td class="ok">OK</td>') == len(found) and "tiny net" in html


def test_a_data_parallel_model_is_watched_through_its_parameters():
    from cnn_numpy import DataParallel

    X, y = tiny_data(rng=2)
    monitor = Monitor(every=2)
    with DataParallel(tiny_net(2), workers=2) as parallel:
        fit(
            parallel,
            CrossEntropyLoss(),
            SGD(parallel.parameters(), lr=0.05),
            (X, y),
            epochs=1,
            batch_size=60,
            rng=2,
            callbacks=[monitor],
        )
    assert [r["step"] for r in monitor.records] == [1, 3]
    assert all(r["layers"] == [] for r in monitor.records)  # the layers ran in the workers
    assert [p["name"] for p in monitor.records[0]["params"]][0] == "0.weight"
    assert monitor.records[0]["params"][0]["update_ratio"] > 0
    assert [f["epoch"] for f in monitor.filters] == [1]
    plot_monitor(monitor.records)  # gradients only: still drawn
