"""ONNX export: every preset and every layer type gives a valid opset-17 file whose shapes ONNX
infers and whose outputs, run by onnxruntime, equal cnn-numpy's eval-mode outputs.

onnx and onnxruntime are in the test extra; without them these tests skip, except in CI
(CI=true), where they fail.  Errors and the CLI are in test_onnx_errors.py.
"""

import json
import warnings

import numpy as np
import pytest
from helpers.onnx_helpers import BATCH_SIZES, dims, need, run_onnx, train_statistics

import cnn_numpy as cnn
from cnn_numpy import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    DataParallel,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

PRESETS = {
    "seed_net": lambda: cnn.seed_net(2, rng=0),
    "seed_net-2-blocks": lambda: cnn.seed_net(3, filters=4, blocks=2, rng=0),
    "lenet": lambda: cnn.lenet(rng=0),
    "deep": lambda: cnn.deep(rng=0),
}

# (model, one example's input shape): every layer type and option export knows
LAYERS = {
    "conv-tuple-kernel-stride-padding": (
        lambda r: Sequential(Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 2), rng=r)),
        (2, 7, 6),
    ),
    "conv-no-bias-stride-2": (
        lambda r: Sequential(Conv2d(1, 4, 3, stride=2, padding=1, bias=False, rng=r), ReLU()),
        (1, 9, 9),
    ),
    "maxpool-overlapping": (lambda r: Sequential(MaxPool2d(3, stride=2)), (2, 9, 8)),
    "maxpool-tuple": (lambda r: Sequential(MaxPool2d((2, 3), stride=(1, 2))), (3, 6, 7)),
    "maxpool-padded-like-a-resnet-stem": (  # the conv's negative values meet the -inf pads
        lambda r: Sequential(Conv2d(1, 3, 3, rng=r), MaxPool2d(3, stride=2, padding=1)),
        (1, 9, 8),
    ),
    # Linear on (*, in_features): MatMul on the last axis (+ Add), Gemm takes 2-D only
    "linear-3d-input": (
        lambda r: Sequential(Linear(8, 6, rng=r), ReLU(), Linear(6, 4, rng=r)),
        (5, 8),
    ),
    "linear-4d-input-no-bias": (lambda r: Sequential(Linear(8, 3, bias=False, rng=r)), (2, 5, 8)),
    "avgpool": (lambda r: Sequential(AvgPool2d(2)), (2, 6, 6)),
    "avgpool-padding-counts": (lambda r: Sequential(AvgPool2d(3, stride=2, padding=1)), (2, 7, 6)),
    "avgpool-tuple": (
        lambda r: Sequential(AvgPool2d((2, 4), stride=(1, 3), padding=(1, 2))),
        (1, 5, 9),
    ),
    "activations": (
        lambda r: Sequential(
            Conv2d(1, 3, 3, rng=r),
            LeakyReLU(0.2),
            Conv2d(3, 3, 1, rng=r),
            Sigmoid(),
            Conv2d(3, 2, 1, rng=r),
            Tanh(),
            Flatten(),
            Linear(2 * 4 * 4, 5, rng=r),
            ReLU(),
        ),
        (1, 6, 6),
    ),
    "leaky-relu-default-slope": (lambda r: Sequential(LeakyReLU()), (3, 4, 4)),
    "linear-no-bias-dropout": (
        lambda r: Sequential(
            Flatten(), Linear(12, 6, bias=False, rng=r), Dropout(0.3, rng=r), Linear(6, 3, rng=r)
        ),
        (3, 2, 2),
    ),
    "batchnorm2d": (
        lambda r: Sequential(Conv2d(2, 4, 3, padding=1, bias=False, rng=r), BatchNorm2d(4), ReLU()),
        (2, 5, 5),
    ),
    "batchnorm2d-eps-momentum-none": (
        lambda r: Sequential(BatchNorm2d(3, eps=1e-2, momentum=None)),
        (3, 4, 4),
    ),
    "batchnorm2d-affine-false": (lambda r: Sequential(BatchNorm2d(3, affine=False)), (3, 4, 4)),
    "batchnorm1d": (
        lambda r: Sequential(Flatten(), Linear(8, 6, rng=r), BatchNorm1d(6), Tanh()),
        (2, 2, 2),
    ),
    "batchnorm1d-3d-input": (lambda r: Sequential(BatchNorm1d(4)), (4, 7)),
    "batchnorm2d-batch-statistics": (
        lambda r: Sequential(BatchNorm2d(3, track_running_stats=False)),
        (3, 4, 5),
    ),
    "batchnorm1d-batch-statistics-no-affine": (
        lambda r: Sequential(Flatten(), BatchNorm1d(6, affine=False, track_running_stats=False)),
        (6,),
    ),
}


@pytest.fixture(autouse=True)
def onnx_and_onnxruntime():
    """Every test here needs both (skipped without them, failed in CI)."""
    need("onnx")
    need("onnxruntime")


def preset(name):
    model = PRESETS[name]()
    train_statistics(model, (1, 28, 28), np.random.default_rng(1))
    return model, (1, 28, 28)


def layer_case(name):
    build, shape = LAYERS[name]
    model = build(np.random.default_rng(0))
    train_statistics(model, shape, np.random.default_rng(1))
    return model, shape


def assert_runs_as_cnn_numpy(model, shape, path, softmax=False):
    rng = np.random.default_rng(2)
    for n in BATCH_SIZES:
        x = rng.normal(0.3, 1.5, (n, *shape)).astype(np.float32)
        expected = cnn.predict_proba(model, x) if softmax else model.eval()(x)
        got = run_onnx(path, x)
        assert got.dtype == np.float32 and got.shape == expected.shape, (n, got.shape)
        np.testing.assert_allclose(
            got, expected, rtol=1e-5, atol=1e-5, err_msg=f"batch of {n}: onnxruntime != cnn-numpy"
        )


def assert_valid_with_every_shape(model, shape, path):
    """full_check passes, and ONNX's own shape inference (on the graph without our
    value_info) finds every value's shape: static but for the batch axis, and equal to
    what cnn-numpy computes after each layer."""
    onnx = need("onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17 and proto.producer_name == "cnn-numpy"
    declared = {v.name: dims(v) for v in proto.graph.value_info}
    del proto.graph.value_info[:]
    inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    known = {v.name: dims(v) for v in [*inferred.graph.value_info, *inferred.graph.output]}
    assert dims(inferred.graph.input[0]) == ["batch", *shape]
    for node in inferred.graph.node:
        for out in node.output:
            assert out in known, f"ONNX infers no shape for {out} ({node.name})"
            assert known[out][0] in ("batch", 1) and all(
                isinstance(d, int) and d > 0 for d in known[out][1:]
            ), (out, known[out])
            assert known[out] == declared.get(out, known[out]), (out, declared[out])
    sizes = (1, *shape)
    for i, layer in enumerate(model):
        sizes = layer.output_shape(sizes)
        name = f"{i}_{type(layer).__name__}_out" if i < len(model) - 1 else "logits"
        assert known[name] == ["batch", *sizes[1:]], (name, known[name], sizes)
    return proto


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_exports_and_runs_the_same(name, tmp_path):
    model, shape = preset(name)
    path = cnn.export_onnx(model, tmp_path / f"{name}.onnx", shape)
    assert path == tmp_path / f"{name}.onnx"
    assert_valid_with_every_shape(model, shape, path)
    assert_runs_as_cnn_numpy(model, shape, path)


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_type_exports_and_runs_the_same(name, tmp_path):
    model, shape = layer_case(name)
    path = cnn.export_onnx(model, tmp_path / "m.onnx", shape)
    assert_valid_with_every_shape(model, shape, path)
    assert_runs_as_cnn_numpy(model, shape, path)


def test_softmax_ends_in_probabilities(tmp_path):
    model, shape = preset("lenet")
    path = cnn.export_onnx(model, tmp_path / "p.onnx", shape, softmax=True)
    proto = need("onnx").load(str(path))
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    assert proto.graph.node[-1].op_type == "Softmax" and proto.graph.node[-1].name == "10_Softmax"
    assert_runs_as_cnn_numpy(model, shape, path, softmax=True)


def test_names_read_like_the_state_dict(tmp_path):
    """Weights are initializers under their state_dict keys, holding the same numbers;
    nodes are called <index>_<layer>, with the layer's repr as their description."""
    onnx = need("onnx")
    model, shape = preset("deep")
    proto = onnx.load(str(cnn.export_onnx(model, tmp_path / "d.onnx", shape)))
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    state = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
    assert set(state) <= set(weights)
    for key, value in state.items():
        np.testing.assert_array_equal(weights[key], value, err_msg=key)
    nodes = proto.graph.node
    assert [n.name for n in nodes[:3]] == ["0_Conv2d", "1_BatchNorm2d", "2_ReLU"]
    block = ["Conv", "BatchNormalization", "Relu"] * 2 + ["MaxPool"]
    assert [n.op_type for n in nodes] == block * 2 + [
        "Flatten",
        "Gemm",
        "BatchNormalization",
        "Relu",
        "Dropout",
        "Gemm",
    ]
    assert nodes[0].doc_string == repr(model[0])
    assert dims(proto.graph.value_info[0]) == ["batch", 12, 28, 28]  # shapes ship in the file


def test_conv_and_pool_attributes(tmp_path):
    onnx = need("onnx")
    model = Sequential(
        Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 2), bias=False),
        AvgPool2d((2, 1), padding=(1, 0)),
        MaxPool2d((1, 2), stride=(1, 1)),
    )
    proto = onnx.load(str(cnn.export_onnx(model, tmp_path / "a.onnx", (2, 8, 8))))
    attrs = [
        {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in proto.graph.node
    ]
    assert attrs[0] == {
        "kernel_shape": [2, 3],
        "strides": [2, 1],
        "pads": [1, 2, 1, 2],
        "dilations": [1, 1],
        "group": 1,
    }
    assert len(proto.graph.node[0].input) == 2  # no bias input
    assert attrs[1]["count_include_pad"] == 1 and attrs[1]["pads"] == [1, 0, 1, 0]
    assert attrs[2]["kernel_shape"] == [1, 2] and attrs[2]["strides"] == [1, 1]


def test_a_data_parallel_exports_as_the_model_it_wraps(tmp_path):
    model = cnn.seed_net(2, rng=0)
    plain = cnn.export_onnx(model, tmp_path / "plain.onnx", (1, 28, 28))
    wrapped = cnn.export_onnx(DataParallel(model, workers=2), tmp_path / "dp.onnx", (1, 28, 28))
    assert plain.read_bytes() == wrapped.read_bytes()


def test_exported_from_a_file_carries_the_model_card(tmp_path):
    onnx = need("onnx")
    model, shape = preset("lenet")
    saved = cnn.save(
        model,
        tmp_path / "model.npz",
        dataset="mnist",
        class_names=list(cnn.MNIST_CLASSES),
        normalize={"mean": 0.1307, "std": 0.3081},
        input_shape=shape,
        test_acc=0.99,
    )
    path = cnn.export_onnx(saved, tmp_path / "model.onnx", metadata={"note": "for Netron"})
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["dataset"] == "mnist" and props["note"] == "for Netron"
    assert json.loads(props["class_names"]) == list(cnn.MNIST_CLASSES)
    assert json.loads(props["normalize"]) == {"mean": 0.1307, "std": 0.3081}
    assert json.loads(props["input_shape"]) == [1, 28, 28] and props["test_acc"] == "0.99"
    assert "library_version" in props and "layers" not in props
    assert "0.1307" in proto.graph.input[0].doc_string
    assert "one per class: 0, 1, 2" in proto.graph.output[0].doc_string
    assert_runs_as_cnn_numpy(model, shape, path)


def test_a_float64_model_is_exported_as_float32_with_a_warning(tmp_path):
    onnx = need("onnx")
    model = cnn.lenet(rng=0, dtype=np.float64)
    with pytest.warns(UserWarning, match="float64; it is exported as float32"):
        path = cnn.export_onnx(model, tmp_path / "f64.onnx", (1, 28, 28))
    proto = onnx.load(str(path))
    assert {i.data_type for i in proto.graph.initializer} == {onnx.TensorProto.FLOAT}
    assert {p.key: p.value for p in proto.metadata_props}["exported_from_dtype"] == "float64"
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    np.testing.assert_allclose(run_onnx(path, x.astype(np.float32)), model(x), rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="float64"):  # buffers count too
        cnn.export_onnx(
            Sequential(BatchNorm2d(2, affine=False, dtype=np.float64)),
            tmp_path / "bn.onnx",
            (2, 3, 3),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a float32 model exports without a warning
        cnn.export_onnx(cnn.lenet(rng=0), tmp_path / "f32.onnx", (1, 28, 28))
