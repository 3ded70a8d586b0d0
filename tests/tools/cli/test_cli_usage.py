"""A mistyped command line: the one-line error, a "did you mean ...?" from that subcommand's
own flags or choices, and where the help is; the full usage only with --help (issue 31)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnn_numpy.tools.cli import main


def run_cli(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["train", "--dataset", "minst"], "did you mean --dataset mnist?"),
        (["diagnose", "--dataset", "fashion"], "did you mean --dataset fashion-mnist?"),
        (["evaluate", "m.npz", "--dataset", "mnsit"], "did you mean --dataset mnist?"),
        (["train", "--optimizer", "adma"], "did you mean --optimizer adam?"),
        (["train", "--learning-rate", "0.1"], "did you mean --lr"),
        (["train", "--num-epochs", "3"], "did you mean --epochs?"),
        (["train", "--bs", "8"], "did you mean --batch-size?"),
        (["diagnose", "--learning-rate", "0.1"], "did you mean --lr"),
        (["evaluate", "m.npz", "--datset", "mnist"], "did you mean --dataset?"),
        (["predict", "m.npz", "x.png", "--topk", "3"], "did you mean --top?"),
        (["trian"], "did you mean train?"),
    ],
)
def test_a_typo_gets_the_closest_flag_or_choice_of_that_subcommand(argv, hint, capsys):
    code, err = run_cli(argv, capsys)
    command = argv[0] if argv[0] in ("train", "diagnose", "evaluate", "predict") else ""
    lines = err.strip().splitlines()
    assert code == 2
    assert lines[0].startswith("error: ") and lines[1].startswith(hint)
    assert lines[-1] == f"see: cnn-numpy {command} --help".replace("  ", " ")
    assert len(lines) == 3 and "usage:" not in err  # no dozen lines of usage first


def test_an_unknown_flag_is_reported_by_its_subcommand_not_the_top_level(capsys):
    code, err = run_cli(["train", "--learning-rate", "0.1"], capsys)
    assert code == 2
    assert "unrecognized arguments: --learning-rate 0.1" in err
    assert "COMMAND" not in err and "--version" not in err  # not the top-level usage
    assert "see: cnn-numpy train --help" in err


def test_nothing_close_gives_no_guess(capsys):
    code, err = run_cli(["train", "--dataset", "imagenet"], capsys)
    assert code == 2 and "did you mean" not in err
    assert "invalid choice: 'imagenet'" in err and "see: cnn-numpy train --help" in err
    code, err = run_cli(["diagnose", "--epochs", "3"], capsys)
    assert code == 2 and "did you mean" not in err and "unrecognized arguments: --epochs" in err


def test_a_bad_value_keeps_its_range_message_with_the_help_line(capsys):
    code, err = run_cli(["train", "--lr", "-1"], capsys)
    assert code == 2
    assert err.splitlines() == [
        "error: argument --lr: must be a number >= 0 and <= 10, got -1",
        "see: cnn-numpy train --help",
    ]


def test_help_still_shows_the_full_usage():
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "train", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("usage: cnn-numpy train")
    assert "--batch-size" in proc.stdout


def test_the_command_line_reports_the_same_without_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "train", "--dataset", "minst"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "did you mean --dataset mnist?" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("command", ["train", "attack", "exercises"])
def test_a_terminal_that_cannot_show_a_character_gets_a_question_mark_not_a_traceback(command):
    """PYTHONIOENCODING=ascii (or Windows' cp1252 into a file): train's help has a ·, a ×
    and Greek letters, and printing them ended the command with a UnicodeEncodeError."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", command, "--help"],
        capture_output=True,
        env=env,
    )
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr[-300:]
    assert proc.stdout.startswith(f"usage: cnn-numpy {command}".encode())
    proc.stdout.decode("ascii")  # every character the terminal got, it can show


def subcommands() -> dict:
    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.usage import subparser

    parser = build_parser()
    names = next(a for a in parser._actions if a.dest == "command").choices
    return {name: subparser(parser, name) for name in names}


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_subcommand_suggests_its_own_flag_for_a_typo(command, capsys):
    """Each subcommand (and any added later): its longest flag, two letters swapped."""
    parser = subcommands()[command]
    positionals = [a for a in parser._actions if not a.option_strings]
    flags = [f for a in parser._actions for f in a.option_strings if f.startswith("--")]
    flags = [f for f in flags if f != "--help"]
    if not flags:
        pytest.skip(f"{command} has no flags but --help")
    flag = max(flags, key=len)
    typo = flag[:3] + flag[4] + flag[3] + flag[5:]  # e.g. --dtaaset
    argv = [command, *["x.npz" for _ in positionals], typo]
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert f"unrecognized arguments: {typo}" in err
    assert "did you mean" in err and flag in err.splitlines()[1]
    assert err.splitlines()[-1] == f"see: cnn-numpy {command} --help"


def test_the_train_help_names_every_datasets_own_defaults():
    """A dataset whose default model, augmentation or schedule is not the general one is named
    in that flag's help (cifar10's resnet, crop-flip and cosine were missing)."""
    import argparse

    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.settings import BASE_DEFAULTS, DEFAULTS, resolve_defaults

    subparsers = next(a for a in build_parser()._actions if a.choices and "train" in a.choices)
    helps = {a.dest: a.help for a in subparsers.choices["train"]._actions}
    for flag in ("model", "augment", "schedule"):
        for dataset in DEFAULTS:
            value = getattr(resolve_defaults(argparse.Namespace(dataset=dataset)), flag)
            if value != BASE_DEFAULTS.get(flag, "seed"):
                assert dataset in helps[flag] and value in helps[flag], (flag, dataset, value)
    assert "cifar-10-batches-bin" in helps["data_dir"]  # what the folder holds for cifar10
