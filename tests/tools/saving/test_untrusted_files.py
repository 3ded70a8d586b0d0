"""Model files and checkpoints are untrusted input: a forged or damaged file is a clear
ModelFileError, never a function call, a swapped attribute or a huge allocation."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.saving.checkpoint import load_checkpoint, save_checkpoint
from cnn_numpy.tools.saving.model_files import (
    HEADER_KEY,
    ModelFileError,
    load,
    load_card,
    open_npz,
    write_npz,
)


def small_model():
    return cnn.Sequential(
        cnn.Conv2d(1, 2, 3, rng=0),
        cnn.ReLU(),
        cnn.MaxPool2d(2),
        cnn.Flatten(),
        cnn.Dropout(0.5, rng=1),
        cnn.Linear(2 * 3 * 3, 3, rng=2),
    )


@pytest.fixture
def checkpoint(tmp_path):
    model = small_model()
    optimizer = cnn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = np.random.default_rng(0).random((8, 1, 8, 8), dtype=np.float32), np.arange(8) % 3
    history = cnn.fit(
        model,
        cnn.CrossEntropyLoss(),
        optimizer,
        (X, y),
        epochs=1,
        batch_size=4,
        rng=0,
        callbacks=[],
    )
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(
        path,
        model,
        optimizer,
        history,
        np.random.default_rng(5),
        dataset="lines",
        class_names=["a", "b", "c"],
        input_shape=[1, 8, 8],
    )
    return path


def forge(path, edit_header=None, edit_arrays=None):
    header, arrays = open_npz(path)
    if edit_header:
        edit_header(header)
    if edit_arrays:
        edit_arrays(arrays)
    write_npz(path, arrays, header)


def test_a_stored_random_state_never_names_a_function_to_call(checkpoint, monkeypatch):
    called = []
    monkeypatch.setattr(np.random, "seed", lambda *a, **k: called.append(a))
    forge(checkpoint, lambda h: h["resume"]["rng"].update(bit_generator="seed"))
    with pytest.raises(ModelFileError, match="must name one of PCG64"):
        load_checkpoint(checkpoint)
    assert called == []


def test_a_generator_cannot_replace_a_weight(checkpoint):
    def swap(header):
        header["resume"]["layer_rngs"]["0.weight"] = header["resume"]["rng"]

    forge(checkpoint, swap)
    with pytest.raises(ModelFileError, match="'0.weight', which is not a random generator"):
        load_checkpoint(checkpoint)


def in_epoch(resume: dict, **change) -> dict:
    """A mid-epoch entry, as a checkpoint saved at batch 1 of an epoch holds it."""
    state = dict(step=1, total_loss=1.1, correct=2, seen=4, shuffle_state=resume["rng"])
    return {**state, **change}


def test_a_mid_epoch_state_round_trips(checkpoint):
    forge(checkpoint, lambda h: h["resume"].update(in_epoch=in_epoch(h["resume"])))
    progress = load_checkpoint(checkpoint).progress
    assert (progress.step, progress.total_loss, progress.correct, progress.seen) == (1, 1.1, 2, 4)
    assert progress.shuffle_state == open_npz(checkpoint)[0]["resume"]["rng"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.update(extra=1), "must hold exactly"),
        (lambda r: r["optimizer"].update(type="Eval"), "optimizer entry"),
        (lambda r: r["rng"]["state"].update(state="many"), "PCG64 random state is malformed"),
        (lambda r: r["rng"].update(state=[1.5]), "plain numbers only"),
        (lambda r: r["history"].update(loss=[1, 2]), "a History is lists"),
        (lambda r: r.update(scheduler={"base_lr": 1}), "scheduler entry"),
        (lambda r: r.update(in_epoch=in_epoch(r, step=0)), "in_epoch entry"),
        (lambda r: r.update(in_epoch=in_epoch(r, correct=9, seen=4)), "in_epoch entry"),
        (lambda r: r.update(in_epoch=in_epoch(r, total_loss="1")), "in_epoch entry"),
        (lambda r: r.update(in_epoch={**in_epoch(r), "extra": 1}), "in_epoch entry"),
        (lambda r: r.update(in_epoch=in_epoch(r, shuffle_state={"bit_generator": "os"})), "PCG64"),
    ],
)
def test_a_damaged_training_state_is_named(checkpoint, edit, message):
    forge(checkpoint, lambda h: edit(h["resume"]))
    with pytest.raises(ModelFileError, match=message):
        load_checkpoint(checkpoint)


def test_the_loaded_checkpoint_still_resumes_exactly(checkpoint):
    restored = load_checkpoint(checkpoint)
    assert restored.rng.random() == np.random.default_rng(5).random()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h.update(script="import os"), r"unknown entries \['script'\]"),
        (lambda h: h["card"].update(class_names=["a", "b"]), "names 2 classes but the model has 3"),
        (lambda h: h["card"].update(normalize={"mean": 0.1, "std": 0}), "normalize must be"),
        (lambda h: h["card"].update(normalize="z-score"), "normalize must be"),
        (lambda h: h["card"].update(input_shape=[3, 8, 8]), "do not take its card's input_shape"),
        (lambda h: h["card"].update(epochs=-1), "epochs must be a whole number"),
        # terminal escapes: predict and evaluate print these names (was: printed raw)
        (
            lambda h: h["card"].update(class_names=["a", "\x1b[2J\x1b]52;c;cm0gLXJm\x07", "c"]),
            "class_names must be a list of names .strings without control characters",
        ),
        (lambda h: h["card"].update(dataset="mnist\x1b[2J"), "dataset must be a string without"),
        (lambda h: h["arrays"]["0.weight"].update(dtype="object"), "record of array '0.weight'"),
        (lambda h: h["layers"][0].update(code="x"), "layer 0 is described as"),
        (lambda h: h.update(kind="script"), "kind 'script'"),
    ],
)
def test_a_forged_header_is_refused(checkpoint, edit, message):
    forge(checkpoint, edit)
    with pytest.raises(ModelFileError, match=message):
        load(checkpoint)


def test_a_forged_architecture_cannot_make_load_allocate(checkpoint):
    """A header claiming a 10^6 x 10^6 Linear (4 TB) beside a small array is refused before
    anything is built."""
    forge(
        checkpoint, lambda h: h["layers"][5]["config"].update(in_features=10**6, out_features=10**6)
    )
    start = time.perf_counter()
    with pytest.raises(
        ModelFileError,
        match=r"'5.weight' has shape \(3, 18\); the architecture "
        r"needs shape \(1000000, 1000000\)",
    ):
        load(checkpoint)
    assert time.perf_counter() - start < 2


def write_raw(path, header_bytes: bytes, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **{HEADER_KEY: np.frombuffer(header_bytes, np.uint8)}, **arrays)
    path.write_bytes(buffer.getvalue())


def test_header_json_is_strict_and_bounded(checkpoint, tmp_path):
    header, arrays = open_npz(checkpoint)
    text = json.dumps(header).replace('"lr": 0.1', '"lr": NaN')
    write_raw(tmp_path / "nan.npz", text.encode(), **arrays)
    with pytest.raises(ModelFileError, match="NaN, which is not a number JSON allows"):
        load(tmp_path / "nan.npz")
    deep = "[" * 100_000 + "]" * 100_000
    write_raw(tmp_path / "deep.npz", deep.encode())
    with pytest.raises(ModelFileError, match="nested"):
        load(tmp_path / "deep.npz")
    write_raw(tmp_path / "big.npz", b" " * (17 * 2**20))
    with pytest.raises(ModelFileError, match="header is 17,825,"):
        load_card(tmp_path / "big.npz")


def test_a_compressed_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{HEADER_KEY}.npy", b"x")
        with archive.open("0.weight.npy", "w", force_zip64=True) as member:
            for _ in range(80):  # 80 MB of zeros, a few KB on disk
                member.write(bytes(2**20))
    assert path.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match="unpack to 83,886,08"):
        load(path)


def test_save_refuses_a_card_that_load_would_refuse(tmp_path):
    with pytest.raises(ValueError, match="save: card names 2 classes but the model has 3"):
        cnn.save(small_model(), tmp_path / "m.npz", class_names=["a", "b"], input_shape=[1, 8, 8])
    with pytest.raises(ValueError, match="save: card's normalize must be"):
        cnn.save(small_model(), tmp_path / "m.npz", normalize={"mean": 0, "std": -1})
    assert not (tmp_path / "m.npz").exists()
