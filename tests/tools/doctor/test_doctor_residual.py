"""The doctor walks into a Residual: each inner layer's output has its statistics, the
gradient check covers the whole block, and the Monitor records every inner parameter."""

import numpy as np

import cnn_numpy as cnn
from cnn_numpy.tools.doctor.activations import layer_outputs


def small_resnet():
    return cnn.resnet(2, width=2, blocks=(1, 1), image_size=12, rng=0)


def test_layer_outputs_list_the_inner_layers_before_the_sum():
    model = small_resnet()
    x = np.random.default_rng(0).random((3, 1, 12, 12)).astype(np.float32)
    outputs = layer_outputs(model, x)
    labels = [label for label, _, _ in outputs]
    assert labels[3:9] == [
        "3.block.0: Conv2d", "3.block.1: BatchNorm2d", "3.block.2: ReLU", "3.block.3: Conv2d",
        "3.block.4: BatchNorm2d", "3.shortcut.0: Conv2d",
    ]  # fmt: skip
    by_label = {label: out for label, _, out in outputs}
    np.testing.assert_allclose(
        by_label["3: Residual"],
        by_label["3.block.4: BatchNorm2d"] + by_label["3.shortcut.1: BatchNorm2d"],
    )
    np.testing.assert_allclose(outputs[-1][2], model(x), rtol=1e-6)
    assert not any("forward" in vars(layer) for _, layer, _ in outputs)  # nothing left behind


def test_diagnose_checks_a_resnets_gradients_and_relus():
    X, y = cnn.synthetic_lines(12, rng=0)
    X = X[:, :, 8:20, 8:20]
    model = small_resnet()
    found = cnn.diagnose(
        model, cnn.CrossEntropyLoss(), (X, y), cnn.Adam(model.parameters(), lr=1e-3),
        batch_size=8, checks=["gradients", "dead_relu"],
    )  # fmt: skip
    gradients = next(f for f in found.findings if f.check == "gradients")
    assert gradients.status == "ok", gradients.message
    assert any(row["layer"] == "3: Residual" for row in gradients.data["rows"])
    relus = next(f for f in found.findings if f.check == "dead_relu")
    assert "3.block.2: ReLU" in relus.message


def test_the_monitor_records_every_parameter_inside_the_blocks():
    X, y = cnn.synthetic_lines(8, rng=0)
    model = small_resnet()
    monitor = cnn.Monitor(every=1)
    cnn.fit(
        model, cnn.CrossEntropyLoss(), cnn.SGD(model.parameters(), lr=0.01),
        (X[:, :, 8:20, 8:20], y), epochs=1, batch_size=8, rng=0, callbacks=[monitor],
    )  # fmt: skip
    names = [p["name"] for p in monitor.records[0]["params"]]
    assert "3.block.0.weight" in names and "5.shortcut.0.weight" in names
    assert any(layer["label"] == "5.block.2: ReLU" for layer in monitor.records[0]["layers"])
