"""start, hint and check's bad input: a workbook is never written over, hints come one at a
time, and every wrong folder, name or version is a clear error."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from importlib import util

import pytest
from helpers.workbook import plant

from cnn_numpy.tools.exercises import EXERCISES, check, hint, start
from cnn_numpy.tools.exercises.workbook import MANIFEST, stub_text

#: the signatures the issue fixes (a hidden grader calls them)
SIGNATURES = {
    "relu_forward": "(x)",
    "relu_backward": "(dout, cache)",
    "linear_forward": "(x, weight, bias)",
    "linear_backward": "(dout, cache)",
    "conv2d_forward": "(x, weight, bias, stride=1, padding=0)",
    "conv2d_backward": "(dout, cache)",
    "maxpool2d_forward": "(x, kernel_size=2, stride=2)",
    "maxpool2d_backward": "(dout, cache)",
    "softmax_cross_entropy": "(logits, labels)",
    "batchnorm2d_forward": "(x, gamma, beta, eps=1e-05)",
    "batchnorm2d_backward": "(dout, cache)",
    "sgd_step": "(param, grad, velocity, lr, momentum=0.0, weight_decay=0.0)",
    "adam_step": "(param, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-08)",
}


def test_start_writes_one_stub_per_exercise_with_the_issues_signatures(tmp_path):
    done = start(tmp_path / "wb")
    assert done["written"] == [e.file for e in EXERCISES] + ["README.md"]
    found = {}
    for exercise in EXERCISES:
        spec = util.spec_from_file_location(exercise.name, tmp_path / "wb" / exercise.file)
        module = util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in exercise.functions:
            fn = getattr(module, name)
            found[name] = str(inspect.signature(fn))
            assert "Returns" in fn.__doc__ and "https://" in module.__doc__
            with pytest.raises(NotImplementedError):
                fn(*[None] * len(inspect.signature(fn).parameters))
    assert found == SIGNATURES
    manifest = json.loads((tmp_path / "wb" / MANIFEST).read_text())
    assert manifest["version"] == 1
    assert "relu -> " not in stub_text("README.md") and "| 5 | `conv2d.py`" in stub_text(
        "README.md"
    )


def test_start_refuses_a_workbook_and_force_keeps_the_learners_work(workbook):
    with pytest.raises(ValueError, match="holds a workbook already.*--force"):
        start(workbook)
    (workbook / "adam.py").unlink()  # deleted: written again
    (workbook / "sgd.py").write_text(stub_text("sgd.py"))  # untouched stub: written again
    done = start(workbook, force=True)
    assert set(done["written"]) == {"adam.py", "sgd.py", "README.md"}
    assert "conv2d.py" in done["kept"] and "relu.py" in done["kept"]
    assert "tensordot" in (workbook / "conv2d.py").read_text()  # the learner's, untouched


def test_start_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        start(tmp_path / "f")


def test_hints_come_one_at_a_time_and_stop_at_the_last(tmp_path):
    start(tmp_path / "wb")
    conv = next(e for e in EXERCISES if e.name == "conv2d")
    texts = [hint(tmp_path / "wb", "conv2d") for _ in range(len(conv.hints) + 1)]
    assert [t.splitlines()[0][:15] for t in texts[:2]] == ["Hint 1 of 4 for", "Hint 2 of 4 for"]
    assert "last one" in texts[-2] and texts[-1] == texts[-2]
    assert all(len(e.hints) >= 3 for e in EXERCISES)
    assert hint(tmp_path / "wb", "relu").startswith("Hint 1 of")  # each exercise its own count


@pytest.mark.parametrize("seen", [[], {"relu": "abc"}, {"relu": -5}, {"relu": None}])
def test_a_hand_edited_hint_count_starts_the_hints_again(tmp_path, seen):
    start(tmp_path / "wb")
    manifest = json.loads((tmp_path / "wb" / MANIFEST).read_text())
    (tmp_path / "wb" / MANIFEST).write_text(json.dumps({**manifest, "hints_seen": seen}))
    assert hint(tmp_path / "wb", "relu").startswith("Hint 1 of")
    assert hint(tmp_path / "wb", "relu").startswith("Hint 2 of")


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda wb: check(wb.parent / "nowhere"), "no workbook at"),
        (lambda wb: check(wb, "convolution"), "no exercise 'convolution'"),
        (lambda wb: check(wb, time_limit=0), "time_limit"),
        (lambda wb: hint(wb, "nope"), "no exercise 'nope'"),
        (lambda wb: hint(wb.parent / "nowhere", "relu"), "no workbook at"),
        (lambda wb: check(wb.parent), "no workbook at .*none of its files"),  # not a workbook
        (lambda wb: check(wb.parent, "relu"), "no workbook at"),
        (lambda wb: check(wb / "relu.py"), "relu.py is a file, not a workbook folder"),
        (lambda wb: hint(wb / "relu.py", "relu"), "is a file, not a workbook folder"),
    ],
)
def test_bad_input_is_a_clear_error(workbook, call, words):
    with pytest.raises(ValueError, match=words):
        call(workbook)


def test_a_later_workbook_version_or_a_damaged_manifest_is_named(workbook):
    manifest = json.loads((workbook / MANIFEST).read_text())
    (workbook / MANIFEST).write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(ValueError, match="version 99.*upgrade"):
        check(workbook, "relu")
    (workbook / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match="is damaged"):
        check(workbook, "relu")
    start(workbook, force=True)  # writes a new manifest, keeps the work
    assert check(workbook, "relu").ok


def test_a_missing_file_is_a_failed_line(workbook):
    (workbook / "relu.py").unlink()
    report = check(workbook, "relu")
    assert [r.status for r in report.results] == ["fail", "fail"]
    assert "missing" in report["relu_forward"].message


def test_the_report_as_json_has_a_result_per_function(workbook):
    plant(workbook, "adam.py", "m_hat = new_m / (1 - beta1**t)", "m_hat = new_m")
    plant(workbook, "adam.py", "v_hat = new_v / (1 - beta2**t)", "v_hat = new_v")
    data = check(workbook, ["sgd", "adam"]).to_dict()
    json.dumps(data)
    assert data["ok"] is False and data["workbook_version"] == 1
    assert [(r["function"], r["status"]) for r in data["results"]] == [
        ("sgd_step", "pass"),
        ("adam_step", "fail"),
    ]
    assert data["results"][1]["mistake"].startswith("Adam without bias correction")


def test_the_tool_loads_lazily_under_both_names():
    code = (
        "import sys, cnn_numpy\n"
        "assert 'cnn_numpy.tools.exercises' not in sys.modules\n"
        "from cnn_numpy import exercises\n"
        "import cnn_numpy.exercises\n"
        "from cnn_numpy.exercises import check\n"
        "assert cnn_numpy.exercises is exercises and check is exercises.check\n"
        "assert 'exercises' in cnn_numpy.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_iterates_over_its_results(workbook):
    report = check(workbook, "relu")
    assert len(report) == 2 and [r.function for r in report] == ["relu_forward", "relu_backward"]
    with pytest.raises(KeyError, match="no function 'conv2d_forward'"):
        report["conv2d_forward"]


def test_start_in_a_folder_with_its_own_readme_says_so_and_force_keeps_it(tmp_path):
    """A project's README.md is not a workbook: the refusal says what is there."""
    (tmp_path / "README.md").write_text("# my project\n")
    with pytest.raises(ValueError, match="has a README.md of its own.*--force") as info:
        start(tmp_path)
    assert "workbook already" not in str(info.value)
    done = start(tmp_path, force=True)
    assert done["kept"] == ["README.md"] and "relu.py" in done["written"]
    assert (tmp_path / "README.md").read_text() == "# my project\n"
