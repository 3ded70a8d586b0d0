"""Reading an image file (or array) the way a photo of a digit needs it: untrusted, maybe
huge, maybe turned on its side, maybe drawn on a transparent layer.

* Untrusted: a file is checked before it is decoded.  A PNG of 1 KB can claim 20000 x 20000
  pixels (a "decompression bomb", 1.2 GB once decoded): images over Pillow's
  ``Image.MAX_IMAGE_PIXELS`` are refused with a clear error, as are truncated and foreign
  files.
* Huge: a 12-megapixel photo is decoded straight at a reduced size (JPEG's DCT can skip the
  fine detail: ``Image.draft``), then shrunk by area averaging to at most ``max_side``
  pixels; the digit needs a few hundred pixels, not thousands.
* On its side: phones store the camera's orientation in EXIF; it is applied.
* Transparent: drawing apps export a white (or black) digit on a transparent layer.  When
  the visible colour is flat, the alpha channel *is* the drawing: it is read as ink, as dark
  ink on white paper.  Otherwise the image is put on a background that contrasts with it.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

#: EXIF orientation -> the Pillow transpose that puts the photo upright
ORIENTATIONS = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
#: the visible colour of a transparent image is "flat" when its std is below this
FLAT_COLOUR = 0.05


def read_photo(path: str | os.PathLike, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """An image file as RGB float32 in [0, 1], at most ``max_side`` pixels on its longer side
    (area-averaged; ``None``: full size); also the factor it was shrunk by (1.0 if not).

    Raises FileNotFoundError, or ValueError saying what is wrong with the file.

    Shape: -> (H, W, 3)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.exists() and not path.is_file():  # reading a pipe could wait for ever
        raise ValueError(f"cannot read {path}: it is a pipe or a device, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read {path}: the file is empty (0 bytes); copy it again")
    try:
        with warnings.catch_warnings():  # Pillow warns of big images: refused below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = img.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit and max_side is not None and img.format == "JPEG":
                limit *= 2  # decoded at 1/2..1/8 (draft), so a 108 MP phone photo is fine;
                # past twice its limit Pillow's own open refuses it (DecompressionBombError)
            if limit and width * height > limit:
                raise ValueError(too_large(path, width, height, limit))
            orientation = img.getexif().get(0x0112, 1)
            if max_side is not None and img.format == "JPEG":
                img.draft("RGB", shrunk_size(width, height, max_side))  # decode at 1/2..1/8
            img.load()
            img = plain_mode(img)
            if max_side is not None and max(img.size) > max_side:
                img = img.resize(shrunk_size(*img.size, max_side), Image.Resampling.BOX)
            if orientation in ORIENTATIONS:
                img = img.transpose(getattr(Image.Transpose, ORIENTATIONS[orientation]))
            pixels = to_rgb(img)
    except Image.DecompressionBombError as err:  # Pillow's own check, in Image.open
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        pixels = f"{int(claimed.group(1)) / 1e6:.0f} megapixels" if claimed else "more pixels"
        raise ValueError(
            f"cannot read {path}: it claims {pixels}, more than the "
            f"{Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels an image may have "
            "here (a file like this is a 'decompression bomb'); resize it to a "
            "few megapixels"
        ) from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as err:
        if isinstance(err, ValueError) and str(err).startswith("cannot read"):
            raise
        raise ValueError(
            f"cannot read {path} as an image ({type(err).__name__}: {err}); use a "
            "PNG or JPEG file (truncated or damaged files cannot be read)"
        ) from err
    return pixels, max(width, height) / max(pixels.shape[:2])


def plain_mode(img):
    """The image in a mode Pillow can shrink smoothly and NumPy can read: gray or colour,
    with alpha if it has any; 16-bit and float grayscale kept as they are."""
    if img.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):
        return img
    if img.mode.startswith("I;16"):
        return img.convert("I")
    if img.mode in ("PA", "La", "RGBa") or "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert("RGB")  # palette, CMYK, YCbCr, 1-bit, ...


def too_large(path, width: int, height: int, limit: int) -> str:
    return (
        f"cannot read {path}: it claims {width}x{height} pixels ({width * height / 1e6:.0f} "
        f"megapixels), more than the {limit / 1e6:.0f} megapixels an image may have here "
        "(a file like this is a 'decompression bomb'); resize it to a few megapixels"
    )


def shrunk_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    factor = max(1.0, max(width, height) / max_side)
    return max(1, round(width / factor)), max(1, round(height / factor))


def to_rgb(img) -> np.ndarray:
    """A loaded Pillow image (``plain_mode``) as RGB float32 in [0, 1], alpha resolved (see
    the module).

    Shape: -> (H, W, 3)
    """
    if img.mode in ("I", "F"):  # 16-bit or float grayscale
        gray = np.asarray(img, dtype=np.float32)
        top = (
            1.0
            if img.mode == "F" and gray.max() <= 1
            else (255.0 if gray.max() <= 255 else 65535.0)
        )
        gray = np.clip(gray / top, 0, 1)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode in ("L", "RGB"):
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    return resolve_alpha(rgba)


def resolve_alpha(rgba: np.ndarray) -> np.ndarray:
    """RGBA -> RGB: a flat colour on transparency becomes its alpha as dark ink on white;
    anything else is laid on white, or on black if what is visible is mostly light.

    Shape: (H, W, 4) -> (H, W, 3)
    """
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    if alpha.min() >= 1.0:  # fully opaque: the alpha says nothing
        return np.ascontiguousarray(rgb)
    weight = alpha[..., 0]
    visible = weight.sum()
    if visible == 0:  # all transparent: nothing drawn
        return np.ones_like(rgb)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mean = float((gray * weight).sum() / visible)
    spread = float(np.sqrt(((gray - mean) ** 2 * weight).sum() / visible))
    if spread < FLAT_COLOUR:  # one colour, shaped by alpha: alpha is the ink
        return np.repeat(1.0 - alpha, 3, axis=-1).astype(np.float32)
    backdrop = 0.0 if mean > 0.5 else 1.0
    return (rgb * alpha + backdrop * (1 - alpha)).astype(np.float32)


def shrink(pixels: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Area-average ``pixels`` so the longer side is at most ``max_side``; (pixels, factor).

    Shape: (H, W, C) -> (H', W', C)
    """
    from PIL import Image

    h, w = pixels.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return pixels, 1.0
    new_w, new_h = shrunk_size(w, h, max_side)
    return resize_channels(pixels, new_h, new_w, Image.Resampling.BOX), w / new_w


def resize_channels(pixels: np.ndarray, height: int, width: int, resample) -> np.ndarray:
    """Each channel resized by Pillow in float32 (mode "F"), with filter ``resample``.

    Shape: (H, W, C) -> (height, width, C) float32
    """
    from PIL import Image

    channels = [
        Image.fromarray(np.ascontiguousarray(pixels[..., c], np.float32)).resize(
            (width, height), resample
        )
        for c in range(pixels.shape[2])
    ]
    return np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=-1)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An array given by a caller as RGB float32 in [0, 1]: (H, W) gray, (H, W, 3) RGB or
    (H, W, 4) RGBA; uint8 is scaled from 0..255, floats must already be in [0, 1].

    Shape: (H, W) | (H, W, 3) | (H, W, 4) -> (H, W, 3)
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"expected a 2-D grayscale image (H, W), or (H, W, 3) RGB, or "
            f"(H, W, 4) RGBA, got shape {array.shape}"
        )
    if min(array.shape[:2]) < 1:
        raise ValueError(f"the image is empty (shape {array.shape})")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
        raise ValueError(f"the image must hold real numbers, got dtype {array.dtype}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("the image has NaN or infinite pixels; pixels must be in [0, 1]")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(
            f"pixels must be in [0, 1] (or uint8 0..255), got values from "
            f"{array.min():g} to {array.max():g}"
        )
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.shape[2] == 4:
        return resolve_alpha(array)
    return array
