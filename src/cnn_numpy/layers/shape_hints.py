"""What to do with an input of the wrong rank or layout: the hint at the end of a conv
layer's shape error (a batch axis missing, images stored channels-last)."""

from __future__ import annotations


def batch_hint(shape: tuple[int, ...], channels: int) -> str:
    """How to turn an input of ``shape`` into the (N, C, H, W) batch a conv layer takes."""
    shape = tuple(shape)
    if len(shape) == 4 and shape[1] != channels and shape[3] == channels:
        # (N, H, W, C) -> (N, C, H, W)
        return (
            "; it looks channels-last (N, H, W, C): use x.transpose(0, 3, 1, 2): "
            f"{channels_first(shape)}"
        )
    if len(shape) == 3 and shape[0] != channels and shape[2] == channels:
        # (H, W, C) -> (1, C, H, W)
        return (
            "; it looks like one image channels-last (H, W, C): use x.transpose(2, 0, 1)[None]: "
            f"{channels_first((1, *shape))}"
        )
    if len(shape) == 2:
        return "; for one grayscale image (H, W) use x[None, None]"
    if len(shape) == 3 and shape[0] == channels:
        return f"; for one image (C, H, W) use x[None], a batch of one: {(1, *shape)}"
    if len(shape) == 3 and channels == 1:
        return f"; for N grayscale images (N, H, W) use x[:, None]: {(shape[0], 1, *shape[1:])}"
    return ""


def channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(N, H, W, C) -> (N, C, H, W), the shape ``x.transpose(0, 3, 1, 2)`` gives."""
    N, H, W, C = shape
    return (N, C, H, W)
