"""The run folder's pictures and report.html, made by `cnn-numpy train` and again by
`cnn-numpy report RUN_DIR`; the progress bar stays out of piped output."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_numpy import History, predict
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.report import load_run_model, load_test_data
from cnn_numpy.tools.progress import ProgressBar
from cnn_numpy.tools.saving.run_folder import load_history, save_history
from cnn_numpy.tools.visualize import confusion_matrix
from cnn_numpy.tools.visualize.report import write_report
from cnn_numpy.train import PrintEpoch

PICTURES = ["curves", "filters", "feature_maps", "confusion_matrix", "mistakes"]


def assert_png(data: bytes, min_size=(300, 150)) -> None:
    """A valid PNG of sensible size whose pixels are not all (nearly) the same."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.verify()
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    assert min_size[0] <= width <= 4000 and min_size[1] <= height <= 4000, image.size
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 5, f"blank picture: pixel std {pixels.std():.2f}"


def embedded_pictures(page: str) -> dict[str, bytes]:
    """``{alt text: PNG bytes}`` of every base64 image in the page."""
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', page)
    return {alt: base64.b64decode(data) for data, alt in found}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One short `cnn-numpy train` on the lines dataset (1 epoch, ~1 s plus the pictures)."""
    out = tmp_path_factory.mktemp("runs") / "lines-seed"
    assert main(["train", "--epochs", "1", "--filters", "4", "--out", str(out)]) == 0
    return out


def test_train_writes_every_picture(run_dir):
    for name in PICTURES:
        path = run_dir / f"{name}.png"
        assert path.is_file(), f"{path.name} missing"
        assert_png(path.read_bytes())


def test_report_embeds_every_picture_and_needs_no_network(run_dir):
    page = (run_dir / "report.html").read_text()
    embedded = embedded_pictures(page)
    for name in PICTURES:
        assert embedded.get(f"{name}.png") == (run_dir / f"{name}.png").read_bytes()
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page must work offline"
    for text in (
        "final test accuracy",
        "Confusion matrix",
        "Mistakes",
        "<td>dataset</td><td>lines</td>",
        "<td>noise</td><td>0.05</td>",
    ):
        assert text in page


def test_confusion_matrix_sums_to_the_test_set(run_dir):
    model = load_run_model(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    (X, y), classes = load_test_data(config)
    cm = confusion_matrix(y, predict(model, X), num_classes=len(classes))
    assert cm.sum() == len(y) == 120
    history = load_history(run_dir)
    assert np.trace(cm) / cm.sum() == pytest.approx(history.test_acc[-1])


def test_history_files_round_trip(tmp_path):
    history = History(
        epoch=[1, 2],
        loss=[0.5, 0.25],
        train_acc=[0.75, 0.875],
        test_acc=[None, 0.9],
        seconds=[1.5, 1.25],
    )
    save_history(tmp_path, history)
    assert load_history(tmp_path) == history
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [float(r["loss"]) for r in rows] == history.loss
    assert [r["test_acc"] for r in rows] == ["", "0.9"]


def test_report_command_redraws_a_saved_run(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    for name in PICTURES + ["report"]:
        (copy / f"{name}.{'html' if name == 'report' else 'png'}").unlink()
    assert main(["report", str(copy)]) == 0
    assert "report.html" in capsys.readouterr().out
    for name in PICTURES:
        assert_png((copy / f"{name}.png").read_bytes())
    assert set(embedded_pictures((copy / "report.html").read_text())) >= {
        f"{name}.png" for name in PICTURES
    }


def test_report_from_history_alone(tmp_path, run_dir, capsys):
    """A folder with only config.json and history.json still gets its curves and a page."""
    for name in ("config.json", "history.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    assert main(["report", str(tmp_path)]) == 0
    assert "no model.npz" in capsys.readouterr().out
    assert_png((tmp_path / "curves.png").read_bytes())
    page = (tmp_path / "report.html").read_text()
    assert set(embedded_pictures(page)) == {"curves.png"}
    assert "Not drawn" in page


def test_report_command_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no run folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "no history.json" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no run folder"):
        write_report(tmp_path / "nowhere")


def test_piped_output_has_no_progress_bar(tmp_path):
    """stdout and stderr are pipes here: one line per epoch, no tqdm bar."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnn_numpy",
            "train",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--no-report",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Epoch 01 | loss=" in result.stdout
    assert "\r" not in result.stdout + result.stderr and "batch/s" not in result.stderr
    assert not (tmp_path / "run" / "report.html").exists()


def test_progress_bar_shows_the_running_loss(capsys, monkeypatch):
    import functools

    import tqdm

    from cnn_numpy import SGD, CrossEntropyLoss, fit, seed_net, synthetic_lines

    # redraw at every batch (normally at most every 0.1 s), so this short epoch shows the loss
    monkeypatch.setattr(tqdm, "tqdm", functools.partial(tqdm.tqdm, mininterval=0))
    X, y = synthetic_lines(16, rng=0)
    model = seed_net(2, filters=2, rng=0)
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        (X, y),
        epochs=1,
        batch_size=8,
        rng=0,
        callbacks=[PrintEpoch(), ProgressBar()],
    )
    captured = capsys.readouterr()
    assert "Epoch 01" in captured.err and "loss=" in captured.err  # tqdm, on stderr
    assert captured.out.count("Epoch 01 |") == 1  # the epoch line, once


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_opens_in_headless_chromium(run_dir, tmp_path):
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            (run_dir / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    rgb = np.asarray(image, dtype=np.int16)
    assert rgb.std() > 10, "blank screenshot"
    # the embedded pictures drew: the curves' coloured lines and the filters' red/blue cells
    colourful = (rgb.max(axis=2) - rgb.min(axis=2)) > 80
    assert colourful.sum() > 2000, f"only {colourful.sum()} coloured pixels: images missing?"


def test_ten_classes_and_a_report_without_the_data(tmp_path, capsys):
    """Fashion-MNIST-shaped IDX files (10 classes): every picture; then, with the data gone,
    `cnn-numpy report` still redraws what the model alone allows (curves and filters)."""
    from helpers.idx_fixtures import fake_files, write_files

    data = write_files(tmp_path / "fashion", fake_files(np.random.default_rng(0), 40, 30))
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                "fashion-mnist",
                "--data-dir",
                str(data),
                "--model",
                "seed",
                "--filters",
                "2",
                "--epochs",
                "1",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    for name in PICTURES:
        assert_png((run / f"{name}.png").read_bytes())
    shutil.rmtree(data)
    for picture in run.glob("*.png"):  # every picture, the saliency of the mistakes too
        picture.unlink()
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    assert "could not reload the fashion-mnist test data" in capsys.readouterr().out
    assert sorted(p.stem for p in run.glob("*.png")) == ["curves", "filters"]


def test_the_visualize_page_runs(tmp_path, monkeypatch):
    """docs/visualize.md: its Python blocks run, in one session, and its command parses."""
    from cnn_numpy.tools.cli import build_parser

    page = (Path(__file__).resolve().parents[3] / "docs" / "visualize.md").read_text()
    fenced = re.findall(r"^```(\w*)\n(.*?)^```", page, re.S | re.M)
    monkeypatch.chdir(tmp_path)
    import matplotlib.pyplot as plt

    plt.close("all")  # figures other tests left open would count towards matplotlib's 20
    session = {"__name__": "docs_visualize"}  # a page is one session (docs/README.md)
    try:
        for source in [body for lang, body in fenced if lang == "python"]:
            exec(compile(source, "visualize.md", "exec"), session)
    finally:  # the page's figures stay open for plt.show(), as a user's would: close them
        plt.close("all")
    for name in PICTURES:
        assert_png((tmp_path / f"{name}.png").read_bytes(), min_size=(200, 150))
    for command in [body for lang, body in fenced if lang == "bash"]:
        args = build_parser().parse_args(command.split()[1:])
        assert args.command == "report"


def test_the_config_table_shows_only_what_the_run_used():
    from cnn_numpy.tools.visualize.report import used_settings

    config = {
        "dataset": "mnist",
        "model": "lenet",
        "optimizer": "adam",
        "momentum": 0.9,
        "filters": 8,
        "blocks": 1,
        "noise": 0.05,
        "schedule": "cosine",
        "eta_min": 0.0,
        "step_size": None,
        "gamma": 0.1,
        "limit": None,
        "lr": 0.003,
    }
    assert used_settings(config) == {
        "dataset": "mnist",
        "model": "lenet",
        "optimizer": "adam",
        "schedule": "cosine",
        "eta_min": 0.0,
        "lr": 0.003,
    }
    seed = {
        "dataset": "lines",
        "model": "seed",
        "optimizer": "sgd",
        "momentum": 0.0,
        "filters": 8,
        "blocks": 1,
        "noise": 0.05,
        "schedule": "none",
        "gamma": 0.1,
    }
    assert set(used_settings(seed)) == {
        "dataset",
        "model",
        "optimizer",
        "momentum",
        "filters",
        "blocks",
        "noise",
        "schedule",
    }


def figure_captions(page: str) -> dict[str, str]:
    """``{alt text: caption}`` of every figure of the page."""
    found = re.findall(r"<figcaption>(.*?)</figcaption>\s*<img [^>]*alt=\"([^\"]+)\"", page)
    return {alt: caption for caption, alt in found}


def test_a_fresh_augmentation_picture_is_not_called_stale(tmp_path, capsys):
    """train draws augmentation.png itself, before the first epoch; the report (at the end of
    the run, and `cnn-numpy report` later) embeds it as the run's own picture, not as one
    "from an earlier report" that it could not redraw."""
    out = tmp_path / "run"
    args = ["train", "--epochs", "1", "--filters", "4", "--augment", "shift", "--out", str(out)]
    assert main(args) == 0
    for _ in range(2):  # the run's own report, then `cnn-numpy report` on it
        captions = figure_captions((out / "report.html").read_text())
        assert "augmentation.png" in captions and "filters.png" in captions
        assert "earlier report" not in captions["augmentation.png"], captions["augmentation.png"]
        assert main(["report", str(out)]) == 0
    capsys.readouterr()


def test_the_report_fits_a_phone(tmp_path):
    """At 390 px the per-epoch table and a config row with a long folder ran past the right
    edge: the whole page scrolled sideways (413 px wide), the last column cut off."""
    from helpers.browser import js, require_browser, start_chromium, wait_for

    from cnn_numpy.tools.visualize.report_page import render_html

    require_browser()
    history = History(epoch=[1], loss=[0.9782], train_acc=[0.71], test_acc=[0.876], seconds=[2.6])
    config = {"dataset": "mnist", "data_dir": "/home/a-learner/projects/cnn-numpy/data/mnist"}
    page = tmp_path / "report.html"
    page.write_text(render_html("mnist", config, history, {}), encoding="utf-8")
    driver = start_chromium(tmp_path / "profile")
    try:
        driver.set_window_size(390, 844)
        wait_for(lambda: js(driver, "return window.innerWidth") <= 400, what="a phone's width")
        driver.get(page.as_uri())
        widths = js(driver, "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
    finally:
        driver.quit()


def test_the_saliency_caption_fits_a_model_of_clothes():
    """A Fashion-MNIST run's report said its saliency maps should be read against "the
    digit's outline": the caption is said for any images, digits one example among others."""
    import html

    from cnn_numpy.tools.visualize.report_page import render_html

    history = History(epoch=[1], loss=[1.29], train_acc=[0.6], test_acc=[0.73], seconds=[57.6])
    page = render_html(
        "fashion", {"dataset": "fashion-mnist"}, history, {"mistakes_saliency": b"png"}
    )
    caption = re.search(r"Why the mistakes\? Saliency</h2>\s*<figure><figcaption>([^<]*)", page)
    assert caption and "the digit's" not in html.unescape(caption[1]), caption


def test_the_loss_in_the_tables_says_whose_it_is():
    """The report said "final loss 0.9782" beside curves with a train and a test loss: it
    was the train loss (the mean over the epoch's batches); the test loss was in no table."""
    from cnn_numpy.tools.visualize.report_page import render_html

    history = History(epoch=[1], loss=[0.9782], train_acc=[0.71], test_acc=[0.876], seconds=[2.6])
    history.test_loss = [0.4123]
    page = render_html("mnist", {"dataset": "mnist"}, history, {})
    assert "<td>final train loss</td><td>0.9782</td>" in page
    assert "<td>final test loss</td><td>0.4123</td>" in page
    assert "<th>train loss</th>" in page and "<th>loss</th>" not in page
