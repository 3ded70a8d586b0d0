"""The benchmark scripts refuse what they cannot do, in one line: an --against folder that
holds no cnn-numpy (it once timed this checkout against itself), a flag the chosen mode would
ignore, a wrong path.  No timing runs here: each case stops at its flags or its first file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.benchmark_scripts import load_script

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
ROOT = BENCH.parent


def refused(capsys, main, argv: list[str]) -> str:
    """main(argv) stops as argparse does for a bad flag (exit 2); its error line."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("script", ["bench_train", "bench_resnet"])
def test_against_needs_a_cnn_numpy_source_tree(script, tmp_path, capsys):
    main = load_script(script).main
    for folder in (tmp_path / "missing", tmp_path, ROOT / "src"):  # absent, empty, src itself
        err = refused(capsys, main, ["--against", str(folder)])
        assert f"{folder} is not a cnn-numpy source tree" in err, err


def test_against_takes_the_root_of_a_checkout(tmp_path):
    (tmp_path / "src" / "cnn_numpy").mkdir(parents=True)
    (tmp_path / "src" / "cnn_numpy" / "__init__.py").write_text("")
    checkout = load_script("bench_train").checkout
    assert checkout(str(tmp_path)) == tmp_path.resolve()
    assert checkout(str(ROOT)) == ROOT


def test_first_run_checks_against_before_it_runs(tmp_path):
    script = BENCH / "first_run.py"
    cmd = [sys.executable, str(script), "--data-dir", str(tmp_path), "--against", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is not a cnn-numpy source tree" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""  # nothing ran


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--plot-from", "rows.json"], "--plot-from needs --plot"),
        (["--json", "rows.json"], "add --scaling"),
        (["--plot", "rows.png"], "add --scaling"),
        (["--seconds", "1"], "add --scaling"),
        (["--scaling", "--profile"], "choose one"),
        (["--scaling", "--batch", "8"], "no --batch"),
        (["--scaling", "--against", str(ROOT)], "no --batch, --images, --against"),
        (["--profile", "--against", str(ROOT)], "no --against"),
        (["--profile", "--rounds", "3"], "--rounds"),
        (["--rounds", "0"], "at least 1"),
        (["--plot-from", "missing.json", "--plot", "x.png"], "cannot read missing.json"),
    ],
)
def test_bench_train_refuses_a_flag_its_mode_ignores(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, load_script("bench_train").main, argv)
    assert words in err, err


def test_bench_train_profile_takes_the_batch(monkeypatch):
    bench = load_script("bench_train")
    profiled = []
    monkeypatch.setitem(sys.modules, "profile_layers", type(sys)("profile_layers"))
    sys.modules["profile_layers"].main = profiled.append
    bench.main(["--profile", "--batch", "8"])
    assert profiled == [["--net", "lenet", "--batch", "8", "--torch"]]


@pytest.mark.parametrize(
    "argv", [["--against", str(ROOT), "--only", "augment"], ["--against", str(ROOT), "--products"]]
)
def test_bench_resnet_against_is_for_the_step(argv, capsys):
    err = refused(capsys, load_script("bench_resnet").main, argv)
    assert "--against times the resnet step" in err


@pytest.mark.parametrize(
    "script",
    ["photos", "photo_novelty", "novelty_ensemble", "novelty_clues", "novelty_preprocessing"],
)
def test_photo_benchmarks_check_their_files_before_making_photos(script, tmp_path, capsys):
    """A wrong model path or data folder is one line at once, not a traceback (or a download
    into DATA/mnist/mnist) minutes later, after the photo sets were made."""
    import numpy as np
    from helpers.idx_fixtures import fake_files, write_files

    main = load_script(script).main
    data = tmp_path / "data"
    write_files(data / "mnist", fake_files(np.random.default_rng(0), 12, 5))
    model = tmp_path / "model.npz"
    model.write_bytes(b"")  # exists: the data folder is checked next
    with pytest.raises(SystemExit, match="error: no such model file: .*missing.npz"):
        main([str(tmp_path / "missing.npz"), "--data-dir", str(data)])
    with pytest.raises(SystemExit, match="folder holding mnist/ and fashion-mnist/.*fashion"):
        main([str(model), "--data-dir", str(data)])  # no fashion-mnist/ in it
    with pytest.raises(SystemExit, match="folder holding mnist/ and fashion-mnist/"):
        main([str(model), "--data-dir", str(data / "mnist")])  # the mnist folder itself
    assert capsys.readouterr().out == ""  # nothing was made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model.npz"]
    assert sorted(p.name for p in data.iterdir()) == ["mnist"]


def saved_lenet(tmp_path) -> Path:
    from cnn_numpy import lenet, save

    path = tmp_path / "model.npz"
    save(lenet(rng=0), path)
    return path


@pytest.mark.parametrize("script", ["explain_lessons", "novelty_cost"])
def test_a_wrong_model_or_data_path_is_one_error_line(script, tmp_path):
    """No traceback, and no download: the conftest fails any test that reaches the network."""
    main = load_script(script).main
    with pytest.raises(SystemExit, match="^error: no such model file"):
        main([str(tmp_path / "missing.npz"), "--data-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^error: mnist: missing .* in .*none"):
        main([str(saved_lenet(tmp_path)), "--data-dir", str(tmp_path / "none")])


def test_bench_diagnose_and_monitor_name_the_missing_mnist(tmp_path):
    load_images = load_script("bench_diagnose").load_images  # bench_monitor's too
    with pytest.raises(SystemExit, match=r"^error: mnist: missing .* in .*none"):
        load_images(str(tmp_path / "none"), 8)


def test_bench_live_names_the_missing_mnist(tmp_path):
    cmd = [sys.executable, str(BENCH / "bench_live.py"), "--data-dir", str(tmp_path / "none")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("error: mnist: missing")


def test_bench_exercises_needs_a_workbook_with_its_conv(tmp_path, monkeypatch, capsys):
    bench = load_script("bench_exercises")
    monkeypatch.setattr(sys, "argv", ["bench_exercises.py", "--workbook", str(tmp_path)])
    with pytest.raises(SystemExit) as stopped:
        bench.main()
    assert stopped.value.code == 2 and "holds no conv2d.py" in capsys.readouterr().err
    from cnn_numpy.tools.cli import main as cli

    assert cli(["exercises", "start", str(tmp_path / "wb")]) == 0  # the stubs, not written yet
    argv = ["--workbook", str(tmp_path / "wb"), "--batch", "1", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", ["bench_exercises.py", *argv])
    with pytest.raises(SystemExit, match="conv2d_forward or conv2d_backward is not written yet"):
        bench.main()


def test_bench_resume_shows_a_failed_training_command():
    train = load_script("bench_resume").train
    with pytest.raises(SystemExit, match="(?s)^error: .* failed:\nno such data"):
        train([sys.executable, "-c", "import sys; sys.exit('no such data')"])


def test_adversarial_knows_its_trainings(capsys):
    err = refused(capsys, load_script("adversarial").main, ["--models", "default,bogus"])
    assert "no training is called bogus" in err


def test_output_files_are_checked_before_the_timing(tmp_path, capsys):
    """--plot and --json are checked as the CLI checks its outputs, before minutes of timing,
    and a missing folder is made (savefig once failed on it after the whole run)."""
    bench = load_script("bench_train")
    err = refused(capsys, bench.main, ["--scaling", "--plot", str(tmp_path / "rows.json")])
    assert "cannot draw a figure as .json" in err
    err = refused(capsys, bench.main, ["--scaling", "--json", str(tmp_path)])
    assert "is a folder" in err
    err = refused(capsys, load_script("skip_gradients").main, ["--plot", "curves.txt"])
    assert "cannot draw a figure as .txt" in err
    row = {"net": "lenet", "size": 28, "batch": 8, "numpy_cpu_ms": 2.0, "torch_cpu_ms": 3.0}
    bench.plot([row], str(tmp_path / "new" / "scaling.png"))
    assert (tmp_path / "new" / "scaling.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "script, argv",
    [
        ("bench_resnet", ["--rounds", "0"]),
        ("bench_diagnose", ["--quick", "--repeat", "0"]),
        ("bench_monitor", ["--quick", "--rounds", "0"]),
        ("bench_live", ["--rounds", "0"]),
        ("profile_layers", ["--steps", "0"]),
        ("bench_conv_tricks", ["--batch", "0"]),
        ("winograd_trial", ["--repeats", "0"]),
        ("skip_gradients", ["--seeds", "0"]),
        ("bench_exercises", ["--repeats", "0"]),
        ("novelty_cost", ["m.npz", "--repeat", "0"]),
        ("first_run", ["--data-dir", "d", "--runs", "0"]),
        ("photo_novelty", ["m.npz", "--jobs", "0"]),
        ("photos", ["m.npz", "--mnist", "0"]),
        ("novelty_clues", ["m.npz", "--data-dir", "d", "--per-condition", "0"]),
        ("bench_resume", ["--data-dir", "d", "--epochs", "0"]),
        ("explain_lessons", ["m.npz", "--images", "0"]),
        ("adversarial", ["--pgd-limit", "0"]),
        ("novelty_training", ["--data-dir", "d", "--out", "o", "--limit", "0"]),
    ],
)
def test_a_count_of_zero_is_refused_at_once(script, argv, capsys, monkeypatch):
    """Rounds, repeats, images, jobs: 0 was a traceback (min of nothing, a pool of no
    workers) or a silent table of nan, after whatever ran first."""
    main = load_script(script).main
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *argv])  # for the mains without argv
    takes_argv = main.__code__.co_argcount > 0
    err = refused(capsys, (lambda _: main(argv)) if takes_argv else (lambda _: main()), argv)
    assert "must be a whole number" in err and ("at least 1" in err or ">= 1" in err), err
