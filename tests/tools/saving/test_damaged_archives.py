"""A model file, checkpoint or image cut short or with damaged bytes is the loader's own error
(ModelFileError / ValueError) naming the file, what is wrong and the fix; the CLI prints
``error: ...`` and exits 1, never a traceback."""

from __future__ import annotations

import io

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.saving.checkpoint import load_checkpoint, save_checkpoint
from cnn_numpy.tools.saving.damaged import FIX
from cnn_numpy.tools.saving.model_files import ModelFileError, load

CUTS = [0.02, 0.3, 0.6, 0.9, 0.999]


def small_model():
    return cnn.Sequential(
        cnn.Conv2d(1, 2, 3, rng=0), cnn.ReLU(), cnn.Flatten(), cnn.Linear(2 * 26 * 26, 10, rng=1)
    )


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    cnn.save(small_model(), path, dataset="mnist", input_shape=(1, 28, 28))
    return path


def compressed_copy(path) -> bytes:
    """The same arrays in a deflate-compressed archive (``np.savez_compressed``): one that a
    flipped byte makes zlib (not zipfile) fail on."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def damaged_versions(good: bytes, packed: bytes) -> list[tuple[str, bytes, str]]:
    """(label, bytes, what the error must say)."""
    versions = [(f"cut-{f}", good[: int(len(good) * f)], "is truncated") for f in CUTS]
    versions.append(("garbage", b"PK\x03\x04" + bytes(range(256)) * 8, "is "))
    rng = np.random.default_rng(0)
    for k in range(40):  # random bit flips in the deflated data
        data = bytearray(packed)
        at = int(rng.integers(len(data)))
        data[at] ^= 1 << int(rng.integers(8))
        versions.append((f"flip-{k}", bytes(data), "is "))
    return versions


def check_message(message: str, path, what: str) -> None:
    assert message.startswith(str(path)), message
    assert what in message and "Traceback" not in message


def test_a_damaged_model_file_is_a_model_file_error(model_file, tmp_path):
    good = model_file.read_bytes()
    for label, data, what in damaged_versions(good, compressed_copy(model_file)):
        path = tmp_path / f"{label}.npz"
        path.write_bytes(data)
        try:
            load(path)
        except ModelFileError as err:  # anything else fails the test with its traceback
            check_message(str(err), path, what)
            if label.startswith("cut"):
                assert FIX in str(err)


def test_a_deflated_archive_with_a_changed_byte_is_named_corrupt(model_file, tmp_path):
    packed = bytearray(compressed_copy(model_file))
    start = packed.index(b"0.weight.npy") + len(b"0.weight.npy") + 20  # inside its data
    packed[start] ^= 0xFF
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(packed))
    with pytest.raises(ModelFileError, match="is corrupt: its zip archive is damaged") as err:
        load(path)
    assert FIX in str(err.value)


def test_a_truncated_checkpoint_is_a_model_file_error(tmp_path):
    model = small_model()
    optimizer = cnn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, model, optimizer, cnn.History(), np.random.default_rng(0))
    data = path.read_bytes()
    for fraction in CUTS:
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ModelFileError, match=f"{path} is truncated"):
            load_checkpoint(path)


@pytest.mark.parametrize("cut", [0.5, None])
@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "{model}"],
        ["predict", "{model}", "{image}"],
        ["serve", "{model}", "--no-browser", "--port", "0"],
        ["export", "{model}", "{out}"],
    ],
)
def test_the_cli_reports_a_damaged_model_file(model_file, tmp_path, capsys, command, cut):
    good = model_file.read_bytes()
    path = tmp_path / "model.npz"
    path.write_bytes(good[: int(len(good) * cut)] if cut else b"PK\x03\x04" + bytes(500))
    image = tmp_path / "digit.png"
    image.write_bytes(b"")  # never reached: the model is read first
    argv = [part.format(model=path, image=image, out=tmp_path / "model.onnx") for part in command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} is ") and "Traceback" not in err
    assert ("is truncated" in err) if cut else ("is " in err)
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.95])
def test_predict_reports_a_damaged_image(model_file, tmp_path, capsys, fraction):
    from PIL import Image

    good = tmp_path / "good.png"
    pixels = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(good)
    data = good.read_bytes()
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(data[: int(len(data) * fraction)])
    assert main(["predict", str(model_file), str(damaged)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert err.count(str(damaged)) == 1  # the file named once, not "X: cannot read X"
    if fraction == 0.0:  # said as it is, not as Pillow's "cannot identify image file"
        assert f"cannot read {damaged}: the file is empty (0 bytes)" in err
        return
    assert f"cannot read {damaged} as an image" in err
    assert "truncated or damaged files cannot be read" in err


@pytest.mark.parametrize("command", [["evaluate", "{model}"], ["predict", "{model}", "{image}"]])
def test_an_empty_model_file_is_named_empty(tmp_path, capsys, command):
    path = tmp_path / "model.npz"
    path.write_bytes(b"")
    argv = [part.format(model=path, image=tmp_path / "digit.png") for part in command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} is empty (0 bytes), not a model file; copy it")
    assert "Traceback" not in err


@pytest.mark.parametrize("member", ["__header__.npy", "0.weight.npy"])
def test_an_entry_that_is_not_a_npy_array_is_named(model_file, tmp_path, capsys, member):
    """NumPy hands back the raw bytes of an entry that does not begin as a .npy file does
    (not an array): that is a damaged file too, not an AttributeError."""
    import zipfile

    path = tmp_path / "model.npz"
    with zipfile.ZipFile(model_file) as good, zipfile.ZipFile(path, "w") as damaged:
        for name in good.namelist():
            damaged.writestr(name, b"garbage, not a .npy" if name == member else good.read(name))
    with pytest.raises(ModelFileError, match=rf"is corrupt: .*{member[:-4]}' is not a NumPy"):
        load(path)
    assert main(["export", str(path), str(tmp_path / "model.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} is corrupt") and "Traceback" not in err
    assert FIX in err and not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize("member", ["0.weight.npy", "extra.npy"])
def test_an_entry_promising_more_than_it_holds_is_named_before_numpy_allocates(
    model_file, tmp_path, capsys, member
):
    """A .npy header that promises a 40 GB array in a 200-byte entry: the file is corrupt
    (was: NumPy tried to allocate the 40 GB and the CLI said 'not enough memory; try a
    smaller batch')."""
    import zipfile

    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = (100_000, 100_000)
    forged = io.BytesIO()
    np.lib.format.write_array_header_1_0(forged, header)
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(model_file) as good, zipfile.ZipFile(path, "w") as damaged:
        for name in good.namelist():
            damaged.writestr(name, forged.getvalue() if name == member else good.read(name))
        if member not in good.namelist():
            damaged.writestr(member, forged.getvalue())
    with pytest.raises(ModelFileError, match=r"is corrupt: .*promises .* \(40,000,000,000 bytes"):
        load(path)
    assert main(["predict", str(path), str(tmp_path / "none.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} is corrupt") and "memory" not in err


def test_a_pipe_given_as_a_model_or_an_image_is_named(model_file, tmp_path, capsys):
    """A named pipe exists but is no file (reading it would wait for a writer): the error
    says what it is (was: 'no such model file' / 'no such image file')."""
    import os

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    assert main(["predict", str(pipe), str(pipe)]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {pipe} is a pipe or a device, not a model file (a .npz)\n"
    )
    assert main(["predict", str(model_file), str(pipe)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: cannot read {pipe}: it is a pipe or a device, not an image file\n"
