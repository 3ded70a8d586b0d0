"""A checkpoint restores every random generator of the model, wherever its layer sits: at the
top of the Sequential, inside a Residual's block, in a layer held by another layer."""

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.saving.checkpoint import load_checkpoint, save_checkpoint
from cnn_numpy.tools.saving.random_states import generator_states, restore_generators


def dropout_model(where: str) -> cnn.Sequential:
    """A small model with one Dropout, ``where``: "top" of the Sequential or in a "residual"."""
    head = [cnn.Flatten(), cnn.Linear(4 * 14 * 14, 2, rng=0)]
    conv = [cnn.Conv2d(1, 4, 3, padding=1, rng=0), cnn.ReLU()]
    if where == "top":
        return cnn.Sequential(*conv, cnn.Dropout(0.5, rng=1), cnn.MaxPool2d(2), *head)
    block = cnn.Sequential(cnn.Conv2d(4, 4, 3, padding=1, rng=2), cnn.Dropout(0.5, rng=1))
    return cnn.Sequential(*conv, cnn.Residual(block), cnn.MaxPool2d(2), *head)


def train(model, optimizer, rng, history=None):
    X, y = cnn.synthetic_lines(48, rng=0)
    loss = cnn.CrossEntropyLoss()
    data = (X, y)
    return cnn.fit(
        model,
        loss,
        optimizer,
        data,
        epochs=1,
        batch_size=16,
        rng=rng,
        history=history,
        callbacks=[],
    )


@pytest.mark.parametrize("where", ["top", "residual"])
def test_two_epochs_equal_one_epoch_saved_resumed_and_one_more(tmp_path, where):
    """The Dropout inside a Residual drew its second epoch's masks from a fresh generator
    (the checkpoint kept only the generators of the Sequential's own layers)."""
    straight = dropout_model(where)
    optimizer = cnn.SGD(straight.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(4)
    history = train(straight, optimizer, rng)
    train(straight, optimizer, rng, history)

    first = dropout_model(where)
    optimizer = cnn.SGD(first.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(4)
    history = train(first, optimizer, rng)
    save_checkpoint(tmp_path / "checkpoint.npz", first, optimizer, history, rng)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz")
    resumed = checkpoint.model
    optimizer = cnn.SGD(resumed.parameters(), lr=0.05, momentum=0.9)
    checkpoint.restore_optimizer(optimizer)
    train(resumed, optimizer, checkpoint.rng, checkpoint.history)

    expected = straight.state_dict()
    assert resumed.state_dict().keys() == expected.keys()
    for key, value in resumed.state_dict().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


class Noisy(cnn.Layer):
    """A layer of one's own holding a Dropout as an attribute."""

    elementwise = True

    def __init__(self):
        self.drop = cnn.Dropout(0.5, rng=7)

    def forward(self, x):
        return self.drop.forward(x)


def test_generators_of_held_layers_are_saved_and_restored_by_their_path():
    model = cnn.Sequential(
        cnn.Dropout(0.5, rng=1),
        cnn.Residual(cnn.Dropout(0.5, rng=2), shortcut=cnn.Sequential(cnn.Dropout(0.5, rng=3))),
        Noisy(),
    )
    states = generator_states(model)
    assert list(states) == ["0.rng", "1.block.rng", "1.shortcut.0.rng", "2.drop.rng"]
    expected = [model[2].drop.rng.random(), model[1].shortcut[0].rng.random()]
    restore_generators(model, states)
    assert [model[2].drop.rng.random(), model[1].shortcut[0].rng.random()] == expected


def test_layers_sharing_one_generator_share_it_again_after_a_restore():
    """Two Dropouts built with one Generator draw from it in turn; restored as two copies
    of one state, the second would repeat the first's masks."""
    shared = np.random.default_rng(5)
    model = cnn.Sequential(cnn.Dropout(0.5, rng=shared), cnn.Residual(cnn.Dropout(rng=shared)))
    states = generator_states(model)
    assert states["1.block.rng"] == "0.rng"  # the same generator as layer 0's
    expected = shared.random(3).tolist()
    restore_generators(model, states)
    assert model[1].block.rng is model[0].rng
    assert model[0].rng.random(3).tolist() == expected


def test_a_checkpoint_of_an_older_version_still_loads(tmp_path):
    """Files written before nested generators were saved name only top-level ones."""
    model = dropout_model("residual")
    optimizer = cnn.SGD(model.parameters(), lr=0.05)
    history = train(model, optimizer, np.random.default_rng(4))
    top_only = {"2.block.1.rng"}  # what an older version did not write
    states = {k: v for k, v in generator_states(model).items() if k not in top_only}
    restore_generators(model, states)  # no error; nothing named, nothing replaced
    save_checkpoint(tmp_path / "c.npz", model, optimizer, history, np.random.default_rng(0))
    assert load_checkpoint(tmp_path / "c.npz").epoch == 1
