"""Data augmentation: random changes to a training batch that keep its labels true.

Each transform is called as ``t(batch, rng) -> batch`` on a whole batch ``(N, C, H, W)`` at
once (one draw per image, vectorised: no Python loop over images) with a
``numpy.random.Generator``.  A transform draws the same number of values for every batch of
the same size, whatever the pixels, so a run is reproducible from its seed: ``fit(...,
augment=t, rng=seed)`` draws the shuffles and the augmentation from one generator, which the
CLI's checkpoints save after every epoch, so a resumed run draws exactly what an uninterrupted
one would.  Only ``fit``'s training batches are augmented, never the test set.

Names and arguments follow torchvision's (``RandomCrop(size, padding)``, ...), but they work on
batches of already standardised arrays, so a pixel coming from outside the image takes each
image's smallest value (its background, for MNIST-like images) unless ``fill`` says otherwise.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .checks import real, whole
from .layers.base import as_rng


def checked_batch(batch, owner: str) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.dtype.kind not in "biuf":
        one = " (one image (C, H, W)? pass image[None], a batch of one)" if batch.ndim == 3 else ""
        raise ValueError(
            f"{owner}: expects a batch of images (N, C, H, W) of real numbers, got shape "
            f"{batch.shape} and dtype {batch.dtype}{one}"
        )
    return batch


def checked_fill(fill: float | None, dtype: np.dtype, owner: str) -> None:
    """An explicit ``fill`` must be a value of the batch's dtype: for whole-number images a
    whole number in their range (uint8: 0..255), never silently wrapped (300 -> 44)."""
    if fill is None or dtype.kind == "f":
        return
    low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    if fill != int(fill) or not low <= fill <= high:
        raise ValueError(
            f"{owner}: fill={fill:g} is not a value of these {dtype} images (whole numbers "
            f"from {low} to {high}); give a fill in that range, or convert the batch to float "
            "first, e.g. batch.astype(np.float32)"
        )


def fill_values(batch: np.ndarray, fill: float | None) -> np.ndarray:
    """(N, 1, 1, 1): each image's smallest value, or ``fill``."""
    if fill is None:
        return batch.min(axis=(1, 2, 3), keepdims=True)
    return np.full((len(batch), 1, 1, 1), fill, dtype=batch.dtype)


def crop(padded: np.ndarray, top: np.ndarray, left: np.ndarray, size: tuple[int, int]):
    """``padded[n, :, top[n]:top[n]+h, left[n]:left[n]+w]`` for every n, in one gather.

    Trick (windows view): ``sliding_window_view`` is a free view of every h x w window,
    indexed (n, c, top, left, row, col); picking window (top[n], left[n]) of each image n is
    then one small gather, several times faster than indexing every pixel with four arrays.
    """
    windows = sliding_window_view(padded, size, axis=(2, 3))  # (N, C, Hp-h+1, Wp-w+1, h, w)
    return windows[np.arange(len(padded)), :, top, left]  # (N, C, h, w), a copy


def pad(batch: np.ndarray, padding: int, fill: float | None) -> np.ndarray:
    """The batch with ``padding`` pixels of fill on every side."""
    N, C, H, W = batch.shape
    padded = np.empty((N, C, H + 2 * padding, W + 2 * padding), dtype=batch.dtype)
    padded[...] = fill_values(batch, fill)
    padded[:, :, padding : padding + H, padding : padding + W] = batch
    return padded


class RandomCrop:
    """A random ``size`` x ``size`` window of the image padded by ``padding`` on each side
    (torchvision's ``RandomCrop(size, padding)``): with size = the image's, a random shift of
    up to ``padding`` pixels."""

    def __init__(self, size, padding: int = 0, fill: float | None = None):
        size = (size, size) if isinstance(size, (int, np.integer)) else size
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"RandomCrop: size must be a whole number or (h, w), got {size!r}")
        self.size = tuple(whole(s, "size", "RandomCrop", low=1) for s in size)
        self.padding = whole(padding, "padding", "RandomCrop")
        self.fill = None if fill is None else real(fill, "fill", "RandomCrop")

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        batch, rng = checked_batch(batch, type(self).__name__), as_rng(rng)
        checked_fill(self.fill, batch.dtype, type(self).__name__)
        (h, w), p = self.size, self.padding
        H, W = batch.shape[2] + 2 * p, batch.shape[3] + 2 * p
        if h > H or w > W:
            need = max(-(-(h - H + 2 * p) // 2), -(-(w - W + 2 * p) // 2))  # ceil
            raise ValueError(
                f"RandomCrop: a {h}x{w} crop does not fit in these {H - 2 * p}x{W - 2 * p} "
                f"images padded by {p} ({H}x{W}); use size=({H}, {W}) at most, or "
                f"padding={need} at least"
            )
        top = rng.integers(0, H - h + 1, size=len(batch))
        left = rng.integers(0, W - w + 1, size=len(batch))
        return crop(pad(batch, p, self.fill), top, left, (h, w))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift(RandomCrop):
    """Move each image by a random whole number of pixels, up to ``max_pixels`` in each
    direction (a RandomCrop of the image's own size from the image padded by max_pixels)."""

    def __init__(self, max_pixels: int, fill: float | None = None):
        self.max_pixels = whole(max_pixels, "max_pixels", "RandomShift")
        self.fill = None if fill is None else real(fill, "fill", "RandomShift")
        self.padding = self.max_pixels

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.size = checked_batch(batch, "RandomShift").shape[2:]
        return super().__call__(batch, rng)

    def __repr__(self) -> str:
        return f"RandomShift(max_pixels={self.max_pixels})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.  Never for digits or letters: a
    mirrored 2 is not a 2."""

    def __init__(self, p: float = 0.5):
        self.p = real(p, "p", "RandomHorizontalFlip", low=0, high=1)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        batch, rng = checked_batch(batch, "RandomHorizontalFlip"), as_rng(rng)
        flip = rng.random(len(batch)) < self.p  # (N,)
        return np.where(flip[:, None, None, None], batch[..., ::-1], batch)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def centred_grid(H: int, W: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates about the image centre, shapes (H, 1) and (1, W)."""
    i = np.arange(H, dtype=dtype) - dtype.type((H - 1) / 2)
    j = np.arange(W, dtype=dtype) - dtype.type((W - 1) / 2)
    return i[:, None], j[None, :]


def image_starts(N: int, C: int, H: int, W: int) -> np.ndarray:
    """(N, C, 1, 1): where each image (n, c) of an (N, C, H, W) array starts, flat."""
    return (np.arange(N * C, dtype=np.intp) * (H * W)).reshape(N, C, 1, 1)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a + (b - a) * t, linear interpolation, computed in place in a (b is overwritten)."""
    b -= a
    b *= t
    a += b
    return a


class RandomRotation:
    """Rotate each image about its centre by an angle drawn uniformly from
    [-degrees, degrees] (or [min, max] for ``degrees=(min, max)``, as torchvision's), with
    bilinear interpolation (no SciPy): output pixel (i, j) reads the input at the point that
    the rotation moves onto it, from its four neighbours."""

    def __init__(self, degrees, fill: float | None = None):
        if isinstance(degrees, (tuple, list)) and len(degrees) == 2:
            low, high = (real(d, "degrees", "RandomRotation", -180, 180) for d in degrees)
            if low > high:
                raise ValueError(
                    f"RandomRotation: degrees (min, max) needs min <= max, got {degrees!r}"
                )
            self.range = (low, high)
        else:
            if isinstance(degrees, (int, float, np.integer, np.floating)) and -180 <= degrees < 0:
                raise ValueError(
                    f"RandomRotation: degrees must be >= 0, got {degrees:g}: for angles from "
                    f"{degrees:g} to {-degrees:g}, degrees={-degrees:g}; for a range of one "
                    f"sign, degrees=(min, max), e.g. ({degrees:g}, 0)"
                )
            degrees = real(degrees, "degrees", "RandomRotation", 0, 180)  # or (min, max)
            self.range = (-degrees, degrees)
        self.degrees = degrees
        self.fill = None if fill is None else real(fill, "fill", "RandomRotation")

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        batch, rng = checked_batch(batch, "RandomRotation"), as_rng(rng)
        checked_fill(self.fill, batch.dtype, "RandomRotation")
        N, C, H, W = batch.shape
        low, high = self.range  # torchvision's angles, counter-clockwise; theta turns clockwise
        theta = np.deg2rad(rng.uniform(-high, -low, size=N))[:, None, None]
        # float32 throughout for float32 (and integer) images: one float64 or integer operand
        # makes every array after it float64, twice the memory passes
        dtype = batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)
        cos, sin = np.cos(theta).astype(dtype), np.sin(theta).astype(dtype)
        i, j = centred_grid(H, W, dtype)  # (H, 1) and (1, W)
        # the source of output (i, j): the output rotated back by -theta, in the coordinates
        # of the batch padded by one pixel of fill (+1); far outside becomes that border.
        # In place where it can (y += ..., out=y): each large array allocated afresh is
        # fresh memory pages, whose page faults cost more than the arithmetic
        y = cos * i - sin * j  # (N, H, W)
        y += dtype.type((H + 1) / 2)
        x = sin * i + cos * j
        x += dtype.type((W + 1) / 2)
        y0 = np.minimum(np.floor(np.clip(y, 0, H + 1, out=y)), H, dtype=dtype)  # row <= H
        x0 = np.minimum(np.floor(np.clip(x, 0, W + 1, out=x)), W, dtype=dtype)
        dy, dx = (y - y0)[:, None], (x - x0)[:, None]  # (N, 1, H, W) weights
        # the top-left neighbour (n, c, y0, x0) by one flat index into the padded batch; its
        # right neighbour is the same index into padded[1:], the one below into
        # padded[W + 2:] (no index arrays for them)
        padded = pad(batch.astype(dtype, copy=False), 1, self.fill).reshape(-1)
        pixel = y0.astype(np.intp) * (W + 2) + x0.astype(np.intp)  # (N, H, W), in an image
        corner = pixel[:, None] + image_starts(N, C, H + 2, W + 2)  # (N, C, H, W)
        top = lerp(padded.take(corner), padded[1:].take(corner), dx)  # along the rows
        bottom = lerp(padded[W + 2 :].take(corner), padded[W + 3 :].take(corner), dx)
        out = lerp(top, bottom, dy)  # down the columns
        if batch.dtype.kind != "f":  # whole-number images: to the nearest (astype truncates,
            np.rint(out, out=out)  # which would darken every rotated pixel by half a level)
        return out.astype(batch.dtype, copy=False)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees})"


class Compose:
    """Apply ``transforms`` in order, each drawing from the same generator."""

    def __init__(self, transforms: list):
        if not isinstance(transforms, (list, tuple)):  # Compose(t) for Compose([t])
            raise ValueError(
                f"Compose: transforms must be a list of transforms, e.g. "
                f"Compose([{transforms!r:.60}]), got {transforms!r:.80}"
            )
        if not all(callable(t) for t in transforms):
            raise ValueError(f"Compose: every transform must be callable, got {transforms!r}")
        for t in transforms:  # RandomShift for RandomShift(2): the class is callable too
            if isinstance(t, type):
                name = t.__name__
                raise ValueError(f"Compose: got the class {name}; make one, e.g. {name}(...)")
        self.transforms = list(transforms)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for transform in self.transforms:
            batch = transform(batch, rng)
        return batch

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


#: the CLI's --augment choices; each takes the image size (28 or 32)
AUGMENTATIONS = {
    "shift": lambda size: RandomShift(2),
    "crop-flip": lambda size: Compose(
        [RandomCrop(size, padding=4 if size >= 32 else 2), RandomHorizontalFlip()]
    ),
    "rotate-shift": lambda size: Compose([RandomRotation(10), RandomShift(2)]),
}


def augmentation(name: str, image_size: int):
    """The augmentation ``cnn-numpy train --augment NAME`` uses; None for ``"none"``."""
    if name == "none":
        return None
    if name not in AUGMENTATIONS:
        raise ValueError(
            f"augmentation: {name!r} is not one of none, {', '.join(sorted(AUGMENTATIONS))}"
        )
    return AUGMENTATIONS[name](image_size)
