"""From what the page sends (the pad's pixels, or an uploaded image file) to the model's input.

The preparation is ``cnn-numpy predict``'s, step for step.  For a grey model:
``preprocess_digit`` (grayscale, ink on black, cropped, fitted in 20x20, centred by its
centre of mass in 28x28).  For a colour model (3 channels, e.g. CIFAR-10's 3x32x32):
``prepare_colour`` (the photo's centre, scaled to the model's height x width).  Then the
training run's normalisation from the model card.  An uploaded file goes through the very
same reading as a file given to ``predict``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from ...data import normalize
from ..photos.colour import prepare_colour
from ..photos.fashion import prepare_fashion
from ..photos.images import preprocess_digit

#: the pad sends at most this many pixels a side (its canvas is 280x280)
MAX_PAD_SIDE = 2048
#: an uploaded image may have at most this many pixels (a 12-megapixel photo fits): a small
#: compressed file can decode to gigabytes ("decompression bomb"), so the size is checked first
MAX_UPLOAD_PIXELS = 40_000_000

T = TypeVar("T")


def decode_base64(text: str, what: str) -> bytes:
    """Bytes of a base64 string; ValueError naming ``what`` if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        hint = ""
        if isinstance(text, str) and text.startswith("data:"):  # a data URL, as a canvas gives
            hint = " (the base64 after the comma of a data: URL, without the 'data:...,' part)"
        raise ValueError(f"{what} must be base64 text{hint}") from None


def pad_pixels(pixels: str, width: int, height: int) -> np.ndarray:
    """The pad's canvas, sent as base64 of ``height * width`` gray bytes (0 = black ink,
    255 = white paper), as an (H, W) float32 image in [0, 1] (1 = white), like ``read_image``.
    """
    if not (1 <= width <= MAX_PAD_SIDE and 1 <= height <= MAX_PAD_SIDE):
        raise ValueError(f"width and height must be from 1 to {MAX_PAD_SIDE}, got {width}x{height}")
    data = decode_base64(pixels, "pixels")
    if len(data) != width * height:
        raise ValueError(f"pixels must hold width*height = {width * height} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width).astype(np.float32) / 255


def check_image_size(data: bytes) -> None:
    """ValueError if ``data`` is not an image Pillow knows, or decodes to too many pixels.
    Reads the header only; the messages call it "the uploaded image"."""
    from PIL import Image, UnidentifiedImageError

    limit = f"at most {MAX_UPLOAD_PIXELS // 1_000_000} megapixels are accepted"
    try:
        with warnings.catch_warnings():  # Pillow warns of big images: refused below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        with img:
            width, height = img.size
    except UnidentifiedImageError:  # its message names our in-memory buffer
        raise ValueError(
            "the uploaded image is not an image Pillow can read (an unknown format, or "
            "not an image at all); use a PNG or JPEG file"
        ) from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ValueError(
            f"the uploaded image cannot be read ({err}); use a PNG or JPEG file"
        ) from None
    except Image.DecompressionBombError as err:  # past Pillow's own limit: far past ours
        claimed = re.search(r"\((\d+) pixels\)", str(err))  # Pillow names the count
        pixels = f"{int(claimed.group(1)):,}" if claimed else "too many"
        raise ValueError(f"the uploaded image has {pixels} pixels; {limit}") from None
    if width * height > MAX_UPLOAD_PIXELS:
        raise ValueError(
            f"the uploaded image has {width}x{height} = {width * height:,} pixels; {limit}"
        )


def read_upload(data: bytes, prepare: Callable[[Path], T]) -> T:
    """``prepare(path)`` of an uploaded image file, exactly as ``predict`` reads a file:
    written to a temporary file of ours (nothing the request says names it); its errors name
    "the uploaded image", not that file."""
    check_image_size(data)
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            return prepare(path)
        except ValueError as err:
            raise ValueError(str(err).replace(str(path), "the uploaded image")) from None


def digit_field(side: int) -> dict[str, int]:
    """``preprocess_digit``'s size and box for a grey model of side x side inputs: MNIST's
    28 and 20 for 28, the same proportion for another side."""
    return {"size": side, "box": max(1, round(side * 20 / 28))}


def uploaded_image(data: bytes, side: int = 28, dataset: str | None = None):
    """Prepare an uploaded image file exactly as ``predict`` prepares a file for a model of
    side x side inputs: ``preprocess_digit``, or ``prepare_fashion`` for a Fashion-MNIST one."""
    if dataset == "fashion-mnist":
        return read_upload(data, lambda path: prepare_fashion(path, side))
    return read_upload(data, lambda path: preprocess_digit(path, **digit_field(side)))


def uploaded_colour(data: bytes, height: int, width: int) -> np.ndarray:
    """Prepare an uploaded image file for a colour model exactly as ``predict`` prepares a
    file (``prepare_colour``).

    Shape: -> (3, height, width) float32 in [0, 1]
    """
    return read_upload(data, lambda path: prepare_colour(path, height, width))


def model_input(image: np.ndarray, card: dict) -> np.ndarray:
    """The prepared image, normalised as in training: what the model gets.

    The card's ``normalize`` holds one mean and std for every channel (what ``cnn-numpy
    train`` stores), or one per channel (lists, as torchvision's ``Normalize``).

    Shape: image (H, W) grey or (C, H, W) colour, in [0, 1] -> (1, C, H, W)
    """
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[None]  # (H, W) -> (1, H, W)
    stats = card.get("normalize") or {"mean": 0.0, "std": 1.0}  # as in training
    mean, std = stats["mean"], stats["std"]
    if np.ndim(mean) == 0 and np.ndim(std) == 0:
        return normalize(image, mean, std)[None]
    C = image.shape[0]
    mean = np.broadcast_to(np.asarray(mean, np.float32), (C,)).reshape(C, 1, 1)
    std = np.broadcast_to(np.asarray(std, np.float32), (C,)).reshape(C, 1, 1)
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ValueError(
            f"normalize: each std must be > 0 and every value finite, got mean="
            f"{mean.ravel().tolist()}, std={std.ravel().tolist()}"
        )
    return ((image - mean) / std)[None]  # per channel
