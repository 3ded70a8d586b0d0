"""Every "install X" hint gives a command that works for how cnn-numpy was installed: the
package itself with this Python's pip, or the checkout's extra; never ``cnn-numpy[onnx]``,
which no index has (issue 31 item 1).  The dependency is hidden with sys.modules."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnn_numpy as cnn
from cnn_numpy.tools import install_hint
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.install_hint import install_command

CHECKOUT = Path(__file__).resolve().parents[3]


@pytest.fixture
def saved(tmp_path):
    return cnn.save(
        cnn.seed_net(2, rng=0), tmp_path / "model.npz", dataset="lines", input_shape=[1, 28, 28]
    )


def test_export_without_onnx_names_commands_that_work_here(saved, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(saved), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "cnn-numpy[onnx]" not in err and "Traceback" not in err
    plain = re.search(r"needs the onnx package: (.+?) install onnx", err)
    assert plain and plain.group(1) in ("pip", f"{sys.executable} -m pip")
    if install_hint.checkout() is not None:  # installed from a checkout (pip install -e .)
        extra = re.search(r'install -e "(.+)\[onnx\]"', err)
        folder = Path(extra.group(1)).resolve() if extra.group(1) != "." else Path.cwd()
        pyproject = (folder / "pyproject.toml").read_text()  # (no tomllib on Python 3.10)
        assert re.search(r'^name = "cnn-numpy"$', pyproject, re.MULTILINE)
        extra_line = re.search(r"^onnx = \[(.*)\]", pyproject, re.MULTILINE)
        assert extra_line and '"onnx' in extra_line.group(1)  # the extra installs onnx


def test_from_the_checkout_itself_the_extra_is_dot(monkeypatch):
    monkeypatch.setattr(install_hint, "checkout", lambda: CHECKOUT)
    monkeypatch.chdir(CHECKOUT)
    assert install_command("onnx", extra="onnx").endswith('install -e ".[onnx]")')
    monkeypatch.chdir(CHECKOUT / "tests")
    assert f'install -e "{CHECKOUT}[onnx]"' in install_command("onnx", extra="onnx")


def test_not_from_a_checkout_only_the_package_itself(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(install_hint.metadata, "distribution", missing)
    assert install_hint.checkout() is None
    command = install_command("onnx", extra="onnx")
    assert command.endswith("install onnx") and "-e" not in command


def test_the_pip_named_is_this_pythons(monkeypatch):
    bin_dir = Path(sys.executable).parent
    monkeypatch.setattr(install_hint.shutil, "which", lambda name: str(bin_dir / name))
    assert install_command("onnx") == "pip install onnx"
    monkeypatch.setattr(install_hint.shutil, "which", lambda name: "/somewhere/else/pip")
    assert install_command("onnx") == f"{sys.executable} -m pip install onnx"
    assert install_command("PIL").endswith("install pillow")  # the package, not the module


def test_any_missing_package_is_an_error_with_its_install_command(
    saved, tmp_path, monkeypatch, capsys
):
    image = tmp_path / "one.png"
    pixels = np.full((40, 40), 255, np.uint8)
    pixels[5:35, 18:22] = 0
    Image.fromarray(pixels).save(image)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = main(["predict", str(saved), str(image), "--show", str(tmp_path / "steps.png")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith("error: ") and "install it with: " in err
    assert err.rstrip().endswith("install matplotlib")
