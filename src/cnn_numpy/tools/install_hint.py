"""What to type to install a missing package, for the way cnn-numpy itself was installed.

cnn-numpy is installed from a checkout (``pip install -e .``), not from a package index, so
``pip install "cnn-numpy[onnx]"`` finds nothing.  What works everywhere is the package itself
(``pip install onnx``) with the pip of the Python that runs cnn-numpy; from a checkout, the
extra of that checkout (``pip install -e ".[onnx]"``) works too.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

#: module name -> the package pip installs it from, where they differ
PACKAGES = {"PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml"}


def pip() -> str:
    """``pip`` if the one on PATH is this Python's, else ``<this python> -m pip``."""
    found = shutil.which("pip")
    if found and Path(found).parent == Path(sys.executable).parent:
        return "pip"
    return f"{sys.executable} -m pip"


def checkout() -> Path | None:
    """The source folder cnn-numpy was installed from (its pyproject.toml beside it), or
    None when it came from elsewhere (a wheel, an index)."""
    try:
        record = json.loads(metadata.distribution("cnn-numpy").read_text("direct_url.json") or "")
        url = urlparse(record["url"])
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError):
        return None
    folder = Path(unquote(url.path)) if url.scheme == "file" else None
    return folder if folder is not None and (folder / "pyproject.toml").is_file() else None


def install_command(*modules: str, extra: str | None = None) -> str:
    """``pip install onnx`` (and, from a checkout that has the extra, ``or pip install -e
    ".[onnx]"`` there): commands that work for this installation of cnn-numpy."""
    packages = " ".join(PACKAGES.get(m, m) for m in modules)
    command = f"{pip()} install {packages}"
    folder = checkout() if extra else None
    if folder is not None:
        here = Path.cwd().resolve() == folder.resolve()
        where = "." if here else os.fspath(folder)
        command += f' (or, with the checkout\'s extra: {pip()} install -e "{where}[{extra}]")'
    return command


def missing_module_message(err: ImportError) -> str:
    """``err``'s message with the command that installs the module it names (unless the
    message says it already)."""
    message = str(err)
    name = (err.name or "").split(".")[0]
    if not name or " install " in message:
        return message
    return f"{message}; install it with: {install_command(name)}"
