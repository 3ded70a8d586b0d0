"""What a page shows a command printing is what the command prints today.

The numbers that depend on the CPU's rounding (relative errors near 1e-9) are masked; the
lines, the columns and every word must match.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from cnn_numpy.tools.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ERROR = re.compile(r"\d\.\d\de-\d\d")


def text_block_after(page: Path, command: str) -> str:
    """The first ```text block after the line that holds ``command``."""
    text = page.read_text()
    return text[text.index(command) :].split("```text\n", 1)[1].split("```", 1)[0]


def test_the_gradcheck_table_of_page_7_is_the_commands(capsys):
    shown = text_block_after(DOCS / "07-gradient-checks.md", "cnn-numpy gradcheck --model seed")
    assert main(["gradcheck", "--model", "seed"]) == 0
    printed = capsys.readouterr().out
    assert ERROR.sub("x.xxe-xx", shown) == ERROR.sub("x.xxe-xx", printed)


def test_page_8_names_the_mnist_default_batch_size():
    """The MNIST row of page 8 is measured with the default; when the default moved from 64
    to 128, the page still called batch 64 the default."""
    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.settings import resolve_defaults

    default = resolve_defaults(build_parser().parse_args(["train", "--dataset", "mnist"]))
    page = (DOCS / "08-tweak-me.md").read_text()
    assert default.model == "lenet"
    assert f"the MNIST default now: batch {default.batch_size} on two processes" in page
    assert f"but for batches of {default.batch_size}, split over two" in " ".join(page.split())


def block_after(page: Path, command: str) -> list[str]:
    """The lines of the plain ``` block that starts with (or follows) ``command``'s line."""
    text = page.read_text()
    start = text.index(command)
    body = text[text.rindex("```\n", 0, start) + 4 :].split("```", 1)[0]
    return body.splitlines()


def test_the_readme_shows_what_the_first_command_prints(tmp_path, monkeypatch, capsys):
    """`cnn-numpy train` with no flags, line by line; the run folder and the elided epochs
    (``...``) are what the page leaves out."""
    shown = block_after(ROOT / "README.md", "Data: lines (synthetic")
    monkeypatch.chdir(tmp_path)
    assert main(["train"]) == 0
    printed = [
        line.replace(str(tmp_path) + "/", "") for line in capsys.readouterr().out.splitlines()
    ]
    folder = re.compile(r"runs/lines-seed-[^ /]*")
    printed = [folder.sub("runs/lines-seed-...", line) for line in printed]
    kept = [line for line in shown if line != "..."]
    assert [line for line in printed if line in kept] == kept, "\n".join(printed)


def test_the_readme_predict_output_has_the_lines_predict_prints(tmp_path, monkeypatch, capsys):
    """Each image's line, then (with --show) the figure it wrote: the names and the order of
    the lines as the page shows them (the numbers are a trained model's)."""
    from helpers.model_files import save_mnist_lenet
    from PIL import Image, ImageDraw

    command = "cnn-numpy predict runs/mnist-lenet-.../best.npz four.png letter.jpg --show steps.png"
    shown = block_after(ROOT / "README.md", command)[1:]
    monkeypatch.chdir(tmp_path)
    save_mnist_lenet(tmp_path / "best.npz")
    for name in ("four.png", "letter.jpg"):
        canvas = Image.new("RGB", (120, 120), (235, 235, 235))
        ImageDraw.Draw(canvas).line((40, 15, 40, 70, 85, 70), fill=(30, 30, 30), width=10)
        canvas.save(tmp_path / name)
    assert main(["predict", "best.npz", "four.png", "letter.jpg", "--show", "steps.png"]) == 0
    printed = capsys.readouterr().out.splitlines()
    printed = [line for line in printed if not line.startswith("note:")]  # untrained: no check
    assert [line.split(":")[0] for line in shown] == [line.split(":")[0] for line in printed]
    figures = [line for line in shown if "figure:" in line]
    assert (
        figures
        == [line for line in printed if "figure:" in line]
        == [
            "  figure: steps-1.png",
            "  figure: steps-2.png",
        ]
    )


def test_the_readme_shows_what_its_diagnose_snippet_prints():
    """The lr row under the README's `diagnose` snippet (lr 10 on the seed's lines) and the
    suggestion in its comment: when the lines changed (2b8095c) the page still showed the old
    lines' range test (95 points to 3.9, "Suggested: 0.33")."""
    from cnn_numpy import SGD, CrossEntropyLoss, diagnose, seed_net, synthetic_lines

    X, y = synthetic_lines(100, rng=0)
    model = seed_net(num_classes=2, rng=1)
    found = diagnose(
        model, CrossEntropyLoss(), (X, y), SGD(model.parameters(), lr=10.0), batch_size=8
    )
    printed = str(found).splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith("lr "))
    shown = block_after(ROOT / "README.md", "lr            FAIL    A range test")
    assert shown == printed[start : start + len(shown)]
    suggested = f"suggestion: {found['lr'].data['suggested']:.2g}"
    assert suggested in (ROOT / "README.md").read_text()


def test_the_readme_says_what_the_lines_400_held_out_images_are():
    """`cnn-numpy train` prints "1.5% of 400 held-out training images" for the lines, whose
    check is fitted on 2,000 fresh lines: the page called them training images, unexplained
    beside the 480 the run trains on."""
    from cnn_numpy.tools.cli.dataset import LINES_CHECK
    from cnn_numpy.tools.novelty.detector import fit_novelty

    readme = " ".join((ROOT / "README.md").read_text().split())
    fitted = 2 * LINES_CHECK  # per class
    held_out = round(inspect.signature(fit_novelty).parameters["holdout"].default * fitted)
    assert f"fitted on {fitted:,} fresh lines" in readme
    assert f'the "{held_out} held-out training images" of its line are a fifth of those' in readme
    assert f"1.5% of {held_out} held-out training images" in readme


def test_the_doctor_page_states_the_thresholds_the_doctor_uses():
    """Page when-training-goes-wrong gives each check's margins in words; they are the numbers
    of tools/doctor/thresholds.py (it said a spread below 0.1 warns, but not that one below
    0.01 fails)."""
    from cnn_numpy.tools.doctor import thresholds as T

    page = " ".join((DOCS / "when-training-goes-wrong.md").read_text().split())
    percent = lambda share: f"{share * 100:g}%"  # noqa: E731
    small = lambda x: f"{x:.0e}".replace("e-0", "e-")  # noqa: E731  (1e-4, as the page writes)
    for sentence in [
        f"A mean or spread more than {T.SCALE_WARN:g} times the unit scale warns, more than "
        f"{T.SCALE_FAIL:g} times fails; a spread below {T.SPREAD_WARN:g} warns, below "
        f"{T.SPREAD_FAIL:g} fails",
        f"Above {T.INIT_LOSS_WARN:g} ln C warns, above {T.INIT_LOSS_FAIL:g} ln C fails.",
        f"So {percent(T.DEAD_WARN)} dead in a layer warns",
        f"and {percent(T.DEAD_FAIL)} fails.",
        f"{percent(T.SATURATION_WARN)} of a layer's outputs in the flat zone warns, "
        f"{percent(T.SATURATION_FAIL)} fails.",
        f"whose median ratio is above {T.UPDATE_HIGH_WARN:g} warns",
        f"(ratio above {T.UPDATE_HIGH_FAIL:g}) fails; the busiest weight below "
        f"{small(T.UPDATE_LOW_WARN)} per step warns, below {small(T.UPDATE_LOW_FAIL)} fails.",
        f"A relative error below {small(T.GRAD_OK)} passes",
        f"from {small(T.GRAD_FAIL)} on it fails",
    ]:
        assert sentence in page, sentence


def test_the_readme_counts_the_default_mnist_runs_batches():
    """The Ctrl-C example and the progress line of `cnn-numpy train --dataset mnist` count the
    batches of an epoch at the default batch size (the example said 1875, batch 32's count,
    after the default became 128: 469)."""
    import math

    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.settings import resolve_defaults

    default = resolve_defaults(build_parser().parse_args(["train", "--dataset", "mnist"]))
    batches = math.ceil(60_000 / default.batch_size)
    readme = (ROOT / "README.md").read_text()
    stopped = re.search(r"holds the run after batch (\d+) of (\d+) in epoch", readme)
    assert stopped and int(stopped[2]) == batches, stopped
    assert f"# from batch {int(stopped[1]) + 1}: same weights" in readme
    progress = re.search(r"Epoch 01 \| batch \d+/(\d+) \(\d+%\)", readme)
    assert progress and int(progress[1]) == batches


def test_the_readme_gives_the_resnets_batch_on_both_cores():
    """The README said `--model resnet` runs `--batch-size 128 --workers 2` as LeNet on MNIST
    does; it runs on both cores at batch 64 (16 on the lines)."""
    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.settings import BOTH_CORES, resolve_defaults

    readme = " ".join((ROOT / "README.md").read_text().split())
    said = re.search(
        r"`--model resnet` runs on both cores too, on any dataset, at its own batch size "
        r"\((\d+); (\d+) on the lines\)",
        readme,
    )
    assert said, "the README no longer says how the resnet runs on both cores"
    for dataset in ("mnist", "fashion-mnist", "cifar10", "lines"):
        argv = ["train", "--dataset", dataset, "--model", "resnet"]
        settings = resolve_defaults(build_parser().parse_args(argv))
        assert settings.workers == BOTH_CORES
        assert settings.batch_size == int(said[2] if dataset == "lines" else said[1]), dataset
