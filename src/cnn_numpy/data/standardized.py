"""Standardising images: their training set's mean and std, ``normalize``, and images kept
as the bytes of their files, standardised only when read (``StandardizedImages``).

MNIST's 60,000 training images are 47 MB as bytes (uint8) and 188 MB as float32.  A run
reads them a batch at a time, so ``StandardizedImages`` keeps the bytes and turns each batch
it is asked for into float32 there (as torchvision's MNIST keeps ``data`` as uint8 and applies
ToTensor + Normalize per item).  The cost: every read converts its images again (a batch of
128 MNIST images is 100,352 pixels, once per epoch), and a slice is a new array, not a view.
"""

from __future__ import annotations

import numpy as np

from ..checks import real, real_array


def unit_pixels(images: np.ndarray) -> np.ndarray:
    """Bytes 0..255 as float32 in [0, 1]: ``images / 255``, as the loaders compute it."""
    X = images.astype(np.float32)
    X /= np.float32(255)
    return X


class StandardizedImages:
    """uint8 images ``(N, C, H, W)`` read as float32 ``(pixels / 255 - mean) / std``.

    Indexing (an int, a slice, an index array) gives what the float32 array standardised in
    one piece would give there, to the last bit; ``np.asarray(images)`` gives that array whole.
    ``fit``, ``predict``, ``evaluate`` and ``iterate_minibatches`` take it as it is.

    Example:
        >>> import numpy as np
        >>> images = StandardizedImages(np.full((2, 1, 2, 2), 255, np.uint8), mean=0.5, std=0.5)
        >>> images.shape, images.dtype, images[0, 0, 0].tolist()
        ((2, 1, 2, 2), dtype('float32'), [1.0, 1.0])
    """

    dtype = np.dtype(np.float32)

    def __init__(self, images: np.ndarray, mean: float, std: float):
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(
                "StandardizedImages: images must be a uint8 array (N, C, H, W), got "
                f"{getattr(images, 'dtype', type(images).__name__)} {np.shape(images)}"
            )
        self.images = images
        self.mean = real(mean, "mean", "StandardizedImages")
        self.std = real(std, "std", "StandardizedImages", low=0, low_open=True)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.images.shape

    @property
    def ndim(self) -> int:
        return self.images.ndim

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> np.ndarray:
        X = unit_pixels(self.images[index])
        X -= np.float32(self.mean)  # the steps standardising the whole array took, in order
        X /= np.float32(self.std)
        return X

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if copy is False:  # NumPy 2's np.asarray(..., copy=False): no view exists
            raise ValueError("StandardizedImages: the float32 array is made when read, not viewed")
        X = self[:]  # the whole array, new
        return X if dtype is None else X.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"StandardizedImages({self.shape}, uint8 -> float32, mean={self.mean:.4f}, "
            f"std={self.std:.4f})"
        )


def pixel_dtype(dtype, owner: str) -> np.dtype:
    """float32 (pixels in [0, 1]) or uint8 (the files' bytes): the images a loader gives."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.uint8):
        raise ValueError(
            f"{owner}: dtype must be np.float32 (pixels in [0, 1]) or np.uint8 (the bytes of "
            f"the files, 0..255), got {dtype!r}"
        )
    return resolved


def normalization_stats(X: np.ndarray) -> dict[str, float]:
    """``{"mean": ..., "std": ...}`` of the pixels of ``X`` (compute it on the training set).

    Both in float64, the variance 512 images at a time: ``X.std(dtype=np.float64)`` would
    make a float64 copy of the whole set first (376 MB for MNIST's training images), and
    slices of 4,096 (26 MB each) were left in malloc's heap after loading (32 MB more RSS
    for the whole run); 3 MB slices are not.  uint8 images (the files' bytes) count as
    ``X / 255`` in float32, what the loaders give by default: the same two numbers."""
    pixels = unit_pixels if X.dtype == np.uint8 else np.asarray
    mean = byte_mean(X) if X.dtype == np.uint8 else float(X.mean(dtype=np.float64))
    squares = sum(
        float(np.square(pixels(X[i : i + 512]).astype(np.float64) - mean).sum())
        for i in range(0, len(X), 512)
    )
    return {"mean": mean, "std": (squares / X.size) ** 0.5 if X.size else float("nan")}


def byte_mean(X: np.ndarray) -> float:
    """The mean of ``unit_pixels(X)`` in float64, summed as NumPy sums the float32 array:
    one buffer (``np.getbufsize()``, 8,192 values) at a time, each pairwise, added in order.
    In other pieces the last bits of the mean change, and with them some standardised pixel."""
    flat, step = X.reshape(-1), np.getbufsize()
    total = sum(float(unit_pixels(flat[i : i + step]).sum(dtype=np.float64))
                for i in range(0, flat.size, step))  # fmt: skip
    return total / flat.size if flat.size else float("nan")


def normalize(X: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """``(X - mean) / std`` in X's dtype; ``mean=0, std=1`` changes nothing.

    Standardising inputs to mean 0 and std 1 keeps the first layer's pre-activations at
    the scale its initialisation assumes.  Apply the *training* set's numbers to every split.
    """
    mean = real(mean, "mean", "normalize")
    std = real(std, "std", "normalize", low=0, low_open=True)
    X = real_array(X, "X", "normalize", finite=False)
    if X.dtype.kind != "f":
        X = X.astype(np.float32)
    out = X - np.asarray(mean, X.dtype)  # the one new array ...
    out /= np.asarray(std, X.dtype)  # ... divided in place
    return out


def checked_images(X, name: str, owner: str):
    """``X`` itself if it is ``StandardizedImages`` (bytes: nothing can be NaN, and no float32
    copy of them all is made), else ``real_array(X, name, owner)``: an ndarray, all finite."""
    return X if isinstance(X, StandardizedImages) else real_array(X, name, owner)
