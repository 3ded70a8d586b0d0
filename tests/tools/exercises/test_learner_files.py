"""What learners do to their files besides the maths: use torch (or the library) instead of
writing the layer, write a function into the wrong file, end the process, work in a folder
they cannot write to or whose name has a space; each gets a line that says what and where."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers.workbook import plant

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.exercises import check, hint, layers_from, start
from cnn_numpy.tools.exercises import workbook as workbook_module

RELU_WITH_TORCH = """import numpy as np
{line}


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
"""


@pytest.mark.parametrize(
    "line, package",
    [
        ("import torch", "torch"),
        ("from torch.nn import functional as F", "torch"),
        ("import tensorflow as tf", "tensorflow"),
        ("from cnn_numpy.layers import ReLU", "cnn_numpy"),
        ("try:\n    import jax.numpy as jnp\nexcept ImportError:\n    pass", "jax"),
    ],
)
def test_a_file_that_imports_a_framework_or_the_library_fails_and_names_the_line(
    workbook, line, package
):
    path = workbook / "relu.py"
    path.write_text(RELU_WITH_TORCH.format(line=line))
    report = check(workbook, "relu")  # the maths is right: the import alone fails it
    for result in report.results:
        assert result.status == "fail", str(report)
        assert f"imports {package}" in result.message and "NumPy only" in result.message
        import_line = 2 + (line.startswith("try:"))
        assert result.location == f"{path}:{import_line}"
        assert result.mistake == f"imports {package}"


def test_a_file_saved_with_a_byte_order_mark_is_read_too(workbook):
    """Windows editors may start a UTF-8 file with a BOM; Python runs it, so the import
    check must read it too (it parsed the text as str, where a BOM is a syntax error)."""
    text = RELU_WITH_TORCH.format(line="import torch")
    (workbook / "relu.py").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert check(workbook, "relu")["relu_forward"].mistake == "imports torch"
    (workbook / "relu.py").write_bytes(b"\xef\xbb\xbf" + RELU_WITH_TORCH.format(line="").encode())
    assert check(workbook, "relu").ok


def test_an_import_inside_a_function_counts_and_a_main_block_does_not(workbook):
    plant(workbook, "relu.py", "    out = ", "    import torch  # noqa\n    out = ")
    assert check(workbook, "relu")["relu_forward"].mistake == "imports torch"
    (workbook / "relu.py").write_text(
        RELU_WITH_TORCH.format(line="")
        + '\n\nif __name__ == "__main__":  # the learner\'s own try-out\n    import torch\n'
    )
    assert check(workbook, "relu").ok


def test_a_function_written_into_another_file_is_found_and_named(workbook):
    start(workbook / "fresh")
    fresh = workbook / "fresh"
    relu_code = (workbook / "relu.py").read_text().split('"""', 2)[2]  # after the docstring
    (fresh / "linear.py").write_text((fresh / "linear.py").read_text() + relu_code)
    (fresh / "my_sgd.py").write_text((workbook / "sgd.py").read_text())
    report = check(fresh, ["relu", "sgd", "conv2d"])
    for function in ("relu_forward", "relu_backward"):
        message = report[function].message
        assert report[function].status == "not done", message
        assert f"{function} is written in linear.py, but the grader reads it from relu.py" in (
            message
        )
    assert "sgd_step is written in my_sgd.py" in report["sgd_step"].message
    assert "written in" not in report["conv2d_forward"].message  # nowhere else: nothing said
    (fresh / "sgd.py").unlink()
    assert "sgd_step is written in my_sgd.py" in check(fresh, "sgd")["sgd_step"].message


def test_a_deleted_function_is_named_without_a_case(workbook):
    plant(workbook, "adam.py", "def adam_step", "def adam_step_old")
    result = check(workbook, "adam")["adam_step"]
    assert result.message.startswith("is not defined in the file (or is not a function)")
    assert " (on " not in result.message  # no case: none was run
    assert result.message.endswith("it defines adam_step_old: name it adam_step")


@pytest.mark.parametrize("code", [0, 3])
def test_a_process_that_ends_itself_reports_its_exit_status(workbook, code):
    plant(workbook, "adam.py", "beta1, beta2 = betas", f"import os\n\n    os._exit({code})")
    message = check(workbook, "adam")["adam_step"].message
    assert f"ended the process that ran it (exit status {code};" in message, message


def still_runs(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="os.fork, and /proc to see the child")
def test_a_process_the_learners_code_leaves_running_neither_hangs_the_grader_nor_outlives_it(
    workbook,
):
    pid_file = workbook / "child.pid"
    top = (  # a child started as the file loads, that would run 5 minutes holding its pipes
        "import os\nimport time\n\nimport numpy as np\n\n"
        "if os.fork() == 0:\n"
        f"    open({str(pid_file)!r} + '.new', 'w').write(str(os.getpid()))\n"
        f"    os.replace({str(pid_file)!r} + '.new', {str(pid_file)!r})\n"
        "    time.sleep(300)\n"
        "    os._exit(0)\n"
        f"while not os.path.exists({str(pid_file)!r}):\n"
        "    time.sleep(0.01)\n"
    )
    plant(workbook, "relu.py", "import numpy as np\n", top)
    reports = []
    grading = threading.Thread(target=lambda: reports.append(check(workbook, "relu")), daemon=True)
    grading.start()
    grading.join(timeout=90)
    assert reports and reports[0].ok, "the grader waited for the learner's child process"
    child = int(pid_file.read_text())
    for _ in range(100):  # killed, it is gone as soon as it has been reaped
        if not still_runs(child):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the learner's child process {child} still runs after the grading")


@pytest.mark.parametrize("name", ["random", "copy", "inspect"])
def test_a_learners_file_named_as_a_standard_module_does_not_break_the_grader(workbook, name):
    (workbook / f"{name}.py").write_text(f"print('my own {name} experiments')\n")
    report = check(workbook, "relu", time_limit=5)
    assert report.ok, report


def test_a_learners_file_reads_its_own_files_by_relative_names(workbook):
    (workbook / "threshold.txt").write_text("0\n")
    plant(
        workbook,
        "relu.py",
        "import numpy as np\n",
        "import numpy as np\n\nZERO = float(open('threshold.txt').read())\n",
    )
    plant(workbook, "relu.py", "np.maximum(x, 0)", "np.maximum(x, ZERO)")
    assert check(workbook, "relu").ok


@pytest.mark.parametrize("stop", ["breakpoint()", "import pdb; pdb.set_trace()"])
def test_a_breakpoint_left_in_says_so(workbook, stop):
    plant(
        workbook, "relu.py", "    out = np.maximum(x, 0)", f"    {stop}\n    out = np.maximum(x, 0)"
    )
    message = check(workbook, "relu")["relu_forward"].message
    assert "a breakpoint() or pdb.set_trace() stopped it" in message, message


def test_a_read_only_workbook_still_gives_the_hint_and_says_it_was_not_recorded(
    workbook, monkeypatch
):
    def refuse(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(workbook_module, "atomic_write_text", refuse)
    for _ in range(2):  # not recorded: the same hint again
        text = hint(workbook, "relu")
        assert text.startswith("Hint 1 of 3 for relu")
        assert "not recorded" in text and "Permission denied" in text
    with pytest.raises(ValueError, match="cannot write the workbook into .*Permission denied"):
        start(workbook.parent / "new")


def test_a_read_only_folder_is_one_error_line_on_the_command_line(tmp_path, capsys, monkeypatch):
    def refuse(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(workbook_module, "atomic_write_text", refuse)
    assert main(["exercises", "start", str(tmp_path / "wb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the workbook") and "Traceback" not in err


def test_the_commands_printed_for_a_folder_with_spaces_can_be_pasted(tmp_path, capsys):
    folder = str(tmp_path / "my wörk" / "cnn ü")
    assert main(["exercises", "start", folder]) == 0
    out = capsys.readouterr().out
    assert f"cnn-numpy exercises check {shlex.quote(folder)}" in out
    assert shlex.split(out.splitlines()[-1].split("then: ")[1])[3] == folder
    (tmp_path / "my wörk" / "cnn ü" / "relu.py").unlink()
    result = check(folder, "relu")["relu_forward"]
    assert f"start --force {shlex.quote(folder)}" in result.message
    assert check(folder, "linear")["linear_forward"].status == "not done"  # unicode path: fine
    with pytest.raises(ValueError, match=f"exercises start {shlex.quote(folder + ' 2')}"):
        check(folder + " 2")


def test_a_loss_returned_as_a_0_d_array_is_read_as_it_is(workbook):
    """np.array(loss) has shape (): it passes (it was read back as shape (1,) and failed with
    "loss has shape (1,), expected ()"); a loss of shape (1,) is named with its own shape."""
    plant(workbook, "softmax_cross_entropy.py", "float(loss)", "np.array(loss)")
    assert check(workbook, "softmax_cross_entropy").ok
    plant(workbook, "softmax_cross_entropy.py", "np.array(loss)", "np.array([loss])")
    message = check(workbook, "softmax_cross_entropy")["softmax_cross_entropy"].message
    assert message.startswith("loss has shape (1,), expected ()"), message


@pytest.mark.parametrize(
    "file, old, new, function, signature",
    [
        ("maxpool2d", "def maxpool2d_forward(x, kernel_size=2, stride=2):",
         "def maxpool2d_forward(x, k=2, s=2):\n    kernel_size, stride = k, s",
         "maxpool2d_forward", "maxpool2d_forward(x, kernel_size=2, stride=2)"),
        ("relu", "def relu_backward(dout, cache):", "def relu_backward(dout):\n    cache = 0",
         "relu_backward", "relu_backward(dout, cache)"),
    ],
)  # fmt: skip
def test_renamed_parameters_are_shown_the_stubs_signature(workbook, file, old, new, function,
                                                          signature):  # fmt: skip
    plant(workbook, f"{file}.py", old, new)
    message = check(workbook, file)[function].message
    assert message.startswith(f"TypeError: {function}()"), message
    assert message.endswith(f"the grader calls it as the stub declares it: {signature}")


def test_a_try_out_at_the_top_that_calls_an_unfinished_function_is_not_not_done(workbook):
    """linear_forward is done; the file's last lines try linear_backward, still a stub: that
    is a file that cannot load (and says how to keep try-outs), not two functions not done."""
    path = plant(
        workbook, "linear.py", "    x, weight = cache\n", "    raise NotImplementedError\n"
    )
    path.write_text(
        path.read_text() + "\n\nout, cache = linear_forward(np.ones((2, 3)), np.ones((4, 3)), "
        "np.zeros(4))\nprint(linear_backward(np.ones((2, 4)), cache))\n"
    )
    report = check(workbook, "linear")
    for result in report.results:
        assert result.status == "fail", str(report)
        assert result.message.startswith("NotImplementedError (loading the file)")
        assert 'under if __name__ == "__main__":' in result.message


def test_an_edit_of_the_same_length_in_the_same_second_is_graded_as_written(workbook, monkeypatch):
    """Through the import system a file is run from __pycache__'s .pyc when its mtime (whole
    seconds) and size match: `x > 0` -> `x < 0` within a second passed as the old code. The
    grader compiles the text as it is, and writes no __pycache__ into the workbook."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # the learner's process
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # (and layers_from's) may cache
    path = workbook / "relu.py"
    stamp = path.stat().st_mtime
    assert check(workbook, "relu").ok
    plant(workbook, "relu.py", "return dout * (x > 0)", "return dout * (x < 0)")
    os.utime(path, (stamp, stamp))  # the same second, the same size: a .pyc would match
    assert not check(workbook, "relu").ok
    model = cnn.seed_net(2, rng=0)
    layers_from(workbook, model, cnn.SGD(model.parameters(), lr=0.1))
    assert not (workbook / "__pycache__").exists()


def test_a_helper_module_of_the_learners_that_imports_torch_counts_too(workbook):
    (workbook / "tools_of_mine.py").write_text("import numpy as np\nimport torch\n")
    (workbook / "relu.py").write_text(RELU_WITH_TORCH.format(line="from tools_of_mine import np"))
    result = check(workbook, "relu")["relu_forward"]
    assert result.message.startswith("imports torch (in tools_of_mine.py, which it imports)")
    assert result.location == f"{workbook / 'tools_of_mine.py'}:2"
    (workbook / "tools_of_mine.py").write_text("import numpy as np\nimport relu  # a cycle\n")
    assert check(workbook, "relu").ok  # a helper without torch (even in a cycle) is fine
