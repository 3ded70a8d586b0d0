"""MNIST's lenet and the resnet train on both cores by default; the features that train in one process
(--adversarial, --layers-from, --monitor) get one process unless --workers is given."""

import json
import os

import pytest

from cnn_numpy.tools.cli import build_parser, main
from cnn_numpy.tools.cli.train import resolve_settings


def settings(tmp_path, *flags):
    argv = ["train", "--dataset", "mnist", "--out", str(tmp_path / "run"), *flags]
    return resolve_settings(build_parser().parse_args(argv))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the default is 2 where there are 2 cores")
def test_lenet_on_mnist_takes_both_cores_by_default(tmp_path):
    assert settings(tmp_path).workers == 2
    assert settings(tmp_path, "--model", "seed").workers is None


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the default is 2 where there are 2 cores")
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist", "cifar10", "lines"])
def test_the_resnet_takes_both_cores_on_every_dataset(tmp_path, dataset):
    """Its BatchNorm shares the whole batch's statistics across the slices (speed/sync.py)."""
    argv = ["train", "--dataset", dataset, "--model", "resnet", "--out", str(tmp_path / "r")]
    assert resolve_settings(build_parser().parse_args(argv)).workers == 2
    assert settings(tmp_path, "--model", "deep").workers is None  # its Dropout: opt-in
    assert settings(tmp_path, "--model", "resnet", "--adversarial", "0.1").workers is None


@pytest.mark.parametrize(
    "flags", [["--adversarial", "0.1"], ["--layers-from", "book"], ["--monitor"]]
)
def test_one_process_features_drop_the_default_workers(tmp_path, flags):
    assert settings(tmp_path, *flags).workers is None


def test_monitor_records_the_resnets_activations(tmp_path):
    """A DataParallel's layers run in its workers, where the monitor cannot see them: the
    resnet's --monitor run (two processes by default) recorded no activations, and the
    report drew two empty panels."""
    run = tmp_path / "run"
    argv = ["train", "--model", "resnet", "--monitor", "--limit", "32", "--epochs", "1"]
    assert main([*argv, "--no-report", "--out", str(run)]) == 0
    record = json.loads((run / "monitor.json").read_text())["records"][0]
    assert "3.block.0: Conv2d" in [layer["label"] for layer in record["layers"]]


def test_workers_given_stay_given(tmp_path):
    assert settings(tmp_path, "--adversarial", "0.1", "--workers", "2").workers == 2


def test_lenet_on_mnist_takes_128_images_a_step_by_default(tmp_path):
    """64 per process on two cores (docs/performance.md, "The first run"); other presets and
    a given --batch-size keep theirs."""
    assert settings(tmp_path).batch_size == 128
    assert settings(tmp_path, "--model", "seed").batch_size == 64
    assert settings(tmp_path, "--batch-size", "32").batch_size == 32


def test_a_batch_of_one_is_one_slice(tmp_path, capsys):
    argv = ["train", "--workers", "2", "--limit", "8", "--epochs", "1", "--no-report"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "a batch of 1 is cut into at most 1 slice, so training uses only 1 of the 2" in out


def test_monitor_on_several_workers_says_what_it_cannot_record(tmp_path, capsys):
    argv = ["train", "--model", "resnet", "--monitor", "--workers", "2", "--limit", "32"]
    assert main([*argv, "--epochs", "1", "--no-report", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "note: --monitor records no activations with --workers 2" in out
    record = json.loads((tmp_path / "run" / "monitor.json").read_text())["records"][0]
    assert record["layers"] == [] and record["params"]
