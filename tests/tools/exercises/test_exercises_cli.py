"""`cnn-numpy exercises start|check|hint` and `--layers-from` as a user runs them: exit codes,
the table, --json, and `error: ...` (no traceback) for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.workbook import plant

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.exercises import check, layers_from
from cnn_numpy.tools.exercises.layers_from import beyond_the_exercise


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_start_check_hint_from_the_command_line(tmp_path, capsys):
    folder = str(tmp_path / "my-cnn")
    code, out, _ = run(capsys, "exercises", "start", folder)
    assert code == 0 and "conv2d.py" in out
    code, _, err = run(capsys, "exercises", "start", folder)
    assert code == 1 and err.startswith("error: ") and "--force" in err
    code, out, _ = run(capsys, "exercises", "check", folder, "relu")
    assert code == 1 and "✗ relu_forward" in out and "not done yet" in out
    code, out, _ = run(capsys, "exercises", "hint", folder, "relu")
    assert code == 0 and out.startswith("Hint 1 of 3 for relu")


def test_check_exits_0_only_when_all_chosen_pass_and_json(workbook, capsys):
    plant(workbook, "relu.py", "return dout * (x > 0)", "return dout * (x >= 0)")
    code, out, _ = run(capsys, "exercises", "check", str(workbook), "linear", "sgd")
    assert code == 0 and out.count("✓") == 3
    code, out, _ = run(capsys, "exercises", "check", str(workbook), "relu", "--json")
    data = json.loads(out)
    assert code == 1 and [r["status"] for r in data["results"]] == ["pass", "fail"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["exercises", "check", "NOWHERE"], "no workbook at"),
        (["exercises", "check", "WB", "pooling"], "no exercise 'pooling'"),
        (["exercises", "hint", "WB", "pooling"], "no exercise 'pooling'"),
        (
            ["train", "--layers-from", "NOWHERE", "--out", "RUN"],
            "--layers-from: there is no workbook",
        ),
    ],
)
def test_bad_input_is_one_error_line(workbook, tmp_path, capsys, argv, words):
    argv = [a.replace("NOWHERE", str(tmp_path / "nowhere")) for a in argv]
    argv = [a.replace("WB", str(workbook)).replace("RUN", str(tmp_path / "run")) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code in (1, 2) and err.startswith("error: ") and words in err
    assert "Traceback" not in err


def test_a_bad_time_limit_is_a_usage_error(workbook, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["exercises", "check", str(workbook), "--time-limit", "0"])
    assert exit_.value.code == 2 and "--time-limit" in capsys.readouterr().err


def test_check_without_a_folder_asks_for_the_folder_only(capsys):
    """EXERCISE is optional for check: the usage error must not say it is required."""
    with pytest.raises(SystemExit) as exit_:
        main(["exercises", "check"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "required: DIR" in err
    assert "EXERCISE" not in err.splitlines()[0], err


def train_steps(model, optimizer, loss, steps=3):
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.standard_normal((4, 1, 12, 12)).astype(np.float32)
        y = rng.integers(0, 2, 4)
        optimizer.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()
    return model.state_dict()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_learners_functions_train_as_the_librarys(workbook, optimizer):
    """Same init, same batches: the learner's layers, loss and optimizer give the library's
    weights after three steps (float32)."""

    def setup():
        model = cnn.Sequential(
            cnn.Conv2d(1, 3, 3, padding=1, bias=False, rng=0),  # BatchNorm cancels a bias
            cnn.BatchNorm2d(3),
            cnn.ReLU(),
            cnn.MaxPool2d(2),
            cnn.Flatten(),
            cnn.Linear(3 * 6 * 6, 2, rng=0),
        )
        opt = (
            cnn.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
            if optimizer == "sgd"
            else cnn.Adam(model.parameters(), lr=0.01)
        )
        return model, opt

    ours_model, ours_opt = setup()
    theirs_model, theirs_opt = setup()
    adoption = layers_from(workbook, theirs_model, theirs_opt)
    assert all(": yours" in line for line in adoption.lines), adoption.lines
    assert type(adoption.loss).__name__ == "LearnerLoss"
    ours = train_steps(ours_model, ours_opt, cnn.CrossEntropyLoss())
    theirs = train_steps(theirs_model, theirs_opt, adoption.loss)
    for key in ours:
        np.testing.assert_allclose(theirs[key], ours[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_a_failing_function_falls_back_to_the_library_and_says_why(workbook):
    plant(
        workbook,
        "conv2d.py",
        "dbias = dout.sum(axis=(0, 2, 3))",
        "dbias = dout.mean(axis=(0, 2, 3))",
    )
    (workbook / "relu.py").unlink()
    model = cnn.seed_net(2, filters=2, rng=0)
    lines = layers_from(workbook, model, cnn.SGD(model.parameters(), lr=0.1)).lines
    conv = next(line for line in lines if line.startswith("conv2d"))
    assert "conv2d_backward fails the grader" in conv and "using the library's" in conv
    assert "bias gradient not summed over the batch" in conv
    assert next(line for line in lines if line.startswith("relu")).endswith("using the library's")
    assert "forward" not in vars(model[0]) and "forward" in vars(model[2])  # conv: the library's


def test_an_optimizer_that_does_more_than_the_exercise_keeps_the_librarys_step(workbook):
    # AdamW shrinks the weights itself; adam_step adds L2 decay to the gradient: not the same
    model = cnn.seed_net(2, filters=2, rng=0)
    optimizer = cnn.AdamW(model.parameters(), lr=0.01, weight_decay=0.5)
    lines = layers_from(workbook, model, optimizer).lines
    assert (
        "adam: yours, but decoupled weight decay (AdamW) is not in the exercise: using the library's"
        in lines
    )
    assert "step" not in vars(optimizer)
    params = model.parameters()
    others = {
        "maximize": cnn.SGD(params, lr=0.1, maximize=True),
        "Nesterov momentum": cnn.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
        "dampening": cnn.SGD(params, lr=0.1, momentum=0.9, dampening=0.5),
        "AMSGrad": cnn.Adam(params, amsgrad=True),
    }
    for words, optimizer in others.items():
        assert beyond_the_exercise(optimizer) == words
    assert beyond_the_exercise(cnn.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)) is None
    assert beyond_the_exercise(cnn.Adam(params, weight_decay=0.1)) is None


def test_layers_from_refuses_what_is_not_a_model_or_an_optimizer(workbook):
    with pytest.raises(ValueError, match="model must be a cnn_numpy model .* got NoneType"):
        layers_from(workbook, None)
    model = cnn.seed_net(2, rng=0)
    with pytest.raises(ValueError, match="optimizer must be a cnn_numpy optimizer .* got str"):
        layers_from(workbook, model, "sgd")


def test_train_with_layers_from_on_lines(workbook, tmp_path, capsys):
    code, out, _ = run(
        capsys, "train", "--layers-from", str(workbook), "--limit", "40", "--epochs", "1",
        "--no-report", "--out", str(tmp_path / "run"), "--quiet",
    )  # fmt: skip
    assert code == 0
    assert "  conv2d: yours" in out and "  sgd: yours" in out and "Epoch 01" in out
    assert (tmp_path / "run" / "model.npz").exists()  # saved as the library's layers
    loaded = cnn.load(tmp_path / "run" / "model.npz")
    assert type(loaded[0]).__name__ == "Conv2d"


def test_serve_uses_the_learners_forward(workbook, tmp_path, capsys, monkeypatch):
    """serve --layers-from: the model the page gets has the learner's forward."""
    from cnn_numpy.tools.cli import serve

    path = tmp_path / "model.npz"
    cnn.save(
        cnn.seed_net(10, filters=2, rng=0), path, dataset="mnist",
        class_names=list(cnn.MNIST_CLASSES), normalize={"mean": 0.1307, "std": 0.3081},
        input_shape=(1, 28, 28),
    )  # fmt: skip
    seen = {}

    class Stop(Exception):
        pass

    def fake_view(model, card, **kwargs):
        seen["model"] = model
        raise Stop

    monkeypatch.setattr(serve, "ModelView", fake_view)
    with pytest.raises(Stop):
        main(["serve", str(path), "--layers-from", str(workbook), "--no-browser"])
    model = seen["model"]
    out = capsys.readouterr().out
    assert "forward" in vars(model[0]) and "  conv2d: yours" in out
    # the page trains nothing: no line may say "the optimizer is not SGD" as if it had one
    assert "the optimizer is not" not in out
    assert "  sgd: yours (not used: nothing is trained here, no optimizer)" in out
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x), cnn.load(path).forward(x), rtol=1e-4, atol=1e-5)


def test_the_deep_preset_gets_every_layer_it_can(workbook):
    model = cnn.deep(10, rng=0)
    lines = layers_from(workbook, model, cnn.Adam(model.parameters())).lines
    assert "batchnorm2d: yours" in lines and "adam: yours" in lines
    kinds = {type(layer).__name__ for layer in model if "forward" in vars(layer)}
    assert kinds == {"Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Linear"}
    model.eval()  # BatchNorm's running statistics, updated by the learner's training forward
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert model.forward(x).shape == (2, 10)


def test_the_page_gives_the_same_answer_with_the_learners_forward(workbook):
    """What serve's page computes (every layer's output, the answer, a conv pixel's kernel
    view) with the learner's functions, against the library's own."""
    from cnn_numpy.tools.live import ModelView

    card = {"input_shape": [1, 28, 28], "class_names": [str(k) for k in range(10)]}
    theirs_model, ours_model = cnn.lenet(rng=0).eval(), cnn.lenet(rng=0).eval()
    layers_from(workbook, theirs_model)
    theirs, ours = ModelView(theirs_model, card), ModelView(ours_model, card)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    a, b = theirs.predict(image), ours.predict(image)
    assert a["answer"]["label"] == b["answer"]["label"]
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], rtol=1e-4, atol=1e-6)
    k_a, k_b = theirs.kernel(image, 3, 5, 4, 6), ours.kernel(image, 3, 5, 4, 6)
    np.testing.assert_allclose(k_a["feature_map_value"], k_b["feature_map_value"], rtol=1e-4)


def test_a_learners_error_during_training_is_one_error_line(workbook, tmp_path, capsys):
    """Passes the grader (float64), fails on the float32 of training: one clear line."""
    plant(
        workbook,
        "relu.py",
        "    x = cache\n",
        "    x = cache\n    assert dout.dtype == np.float64, 'float32!'\n",
    )
    code, _, err = run(
        capsys, "train", "--layers-from", str(workbook), "--limit", "8", "--epochs", "1",
        "--no-report", "--out", str(tmp_path / "run"), "--quiet",
    )  # fmt: skip
    assert code == 1 and err.startswith("error: your relu_backward raised AssertionError: float32!")
    assert "relu.py:" in err and "Traceback" not in err


def test_a_helper_module_beside_the_workbook_files_is_found_in_training(workbook):
    """The grader runs each file with its folder on the import path (a learner's own im2col.py
    or padding helper); --layers-from finds it too, and leaves sys.path as it was."""
    import sys

    (workbook / "workbook_padding_helper.py").write_text(
        "import numpy as np\n\n\ndef pad(x, p):\n"
        "    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n"
    )
    plant(workbook, "conv2d.py", "import numpy as np\n",
          "import numpy as np\nfrom workbook_padding_helper import pad\n")  # fmt: skip
    plant(
        workbook, "conv2d.py", "xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))", "xp = pad(x, p)"
    )
    assert check(workbook, "conv2d").ok  # the grader finds it
    path = list(sys.path)
    model = cnn.seed_net(2, filters=2, rng=0)
    try:
        lines = layers_from(workbook, model, cnn.SGD(model.parameters(), lr=0.1)).lines
    finally:
        sys.modules.pop("workbook_padding_helper", None)
    assert "conv2d: yours" in lines and sys.path == path
    assert model(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 2)


def test_the_resnet_gets_the_learners_layers_inside_its_blocks_too(workbook):
    """Every Conv2d, BatchNorm2d and ReLU of the resnet preset, those inside its Residual
    blocks included ("conv2d: yours" meant the stem only), trains as the library's."""
    from cnn_numpy.layers.base import layers_of

    def setup():
        model = cnn.resnet(2, image_size=12, width=4, rng=0)
        return model, cnn.SGD(model.parameters(), lr=0.1, momentum=0.9)

    ours_model, ours_opt = setup()
    theirs_model, theirs_opt = setup()
    adoption = layers_from(workbook, theirs_model, theirs_opt)
    kinds = (cnn.Conv2d, cnn.BatchNorm2d, cnn.ReLU, cnn.Linear)
    mine = [layer for layer in layers_of(theirs_model) if isinstance(layer, kinds)]
    assert len(mine) > 10 and all("forward" in vars(layer) for layer in mine)
    ours = train_steps(ours_model, ours_opt, cnn.CrossEntropyLoss())
    theirs = train_steps(theirs_model, theirs_opt, adoption.loss)
    for key in ours:
        np.testing.assert_allclose(theirs[key], ours[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_check_json_of_a_folder_without_a_workbook_is_still_an_object(tmp_path, capsys):
    """A teacher's loop writes each submission's --json to a file: a student who handed in
    nothing gets an object saying so, not an empty file."""
    empty = tmp_path / "submissions" / "bob"
    empty.mkdir(parents=True)
    code, out, err = run(capsys, "exercises", "check", str(empty), "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["results"] == []
    assert "not a workbook" in data["error"] or "no workbook" in data["error"]
    assert err.startswith("error: ") and data["error"] in err


def test_a_padded_max_pooling_keeps_the_librarys_code(workbook):
    # the exercise's maxpool2d_forward(x, kernel_size, stride) has no padding to give it
    model = cnn.Sequential(cnn.Conv2d(1, 2, 3, rng=0), cnn.MaxPool2d(3, 2, padding=1))
    lines = layers_from(workbook, model).lines
    assert (
        "maxpool2d: yours (1 layer(s) that its signature cannot express use the library's)" in lines
    )
    assert "forward" not in vars(model[1])
    x = np.random.default_rng(0).standard_normal((1, 1, 9, 9)).astype(np.float32)
    assert model.forward(x).shape == (1, 2, 4, 4)
