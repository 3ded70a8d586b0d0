"""The page's two questions, as functions of a parsed JSON request (no HTTP in here).

``POST /api/predict`` with the pad, ``{"pixels": base64 gray bytes, "width": W, "height": H}``
(grey models), an uploaded file, ``{"image": base64 of the file}``, or, for a colour model,
one of its examples, ``{"example": k}`` (listed by ``/api/info``): the prepared input (28x28
grey, or 3x32x32 colour), the answer, the probabilities and every layer's output.

``POST /api/kernel`` with ``{"input": base64 float32 of the prepared input the predict answer
returned, "layer": i, "channel": f, "row": r, "col": c}``: the kernel view.  The page sends
the prepared image back, so the server keeps nothing between requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from ..photos.fashion import prepare_fashion
from ..photos.images import preprocess_digit
from .inputs import (
    MAX_PAD_SIDE,
    decode_base64,
    digit_field,
    pad_pixels,
    uploaded_colour,
    uploaded_image,
)
from .model_view import ModelView
from .safety import HttpError, int_field, str_field

NOT_YET = "the model is still training: the draw view opens when training ends"


def predict(view: ModelView | None, payload: dict) -> dict:
    """Prepare the drawing, the uploaded image or the example as ``predict`` does, then run
    the model."""
    if view is None:
        raise HttpError(409, NOT_YET)
    start = time.perf_counter()
    prepare, source = preparation(view, payload)
    try:
        image = prepare()
    except ValueError as err:  # e.g. an empty pad, or a file that is not an image
        raise HttpError(422, str(err)) from None
    prepared = time.perf_counter()
    answer = view.predict(image)
    answer["source"] = source
    answer["ms"]["prepare"] = 1000 * (prepared - start)
    answer["ms"]["total"] = 1000 * (time.perf_counter() - start)
    return answer


def preparation(view: ModelView, payload: dict) -> tuple[Callable[[], np.ndarray], str]:
    """How to make the model's image from the request (its fields checked here: 400), and
    where the image came from: "example", "upload" or "pad"."""
    if "example" in payload:
        if not view.examples:
            raise HttpError(400, "this model has no examples: draw or upload an image")
        image = view.examples[int_field(payload, "example", 0, len(view.examples) - 1)]["image"]
        return (lambda: image), "example"
    if "image" in payload:
        data = _decoded(str_field(payload, "image"), "image")
        if view.colour:
            return partial(uploaded_colour, data, *view.input_shape[1:]), "upload"
        dataset = view.card.get("dataset")
        return (lambda: uploaded_image(data, view.input_shape[-1], dataset).image), "upload"
    if view.colour:
        raise HttpError(
            400,
            "this model takes colour images: send an image file ('image') or an example "
            "('example'), not the pad's gray pixels",
        )
    width = int_field(payload, "width", 1, MAX_PAD_SIDE)
    height = int_field(payload, "height", 1, MAX_PAD_SIDE)
    try:
        gray = pad_pixels(str_field(payload, "pixels"), width, height)
    except ValueError as err:
        raise HttpError(400, str(err)) from None
    if view.card.get("dataset") == "fashion-mnist":  # the drawing fills the field, as predict
        return (lambda: prepare_fashion(gray, view.input_shape[-1]).image), "pad"
    field = digit_field(view.input_shape[-1])  # 28 and 20 for MNIST's 28x28
    return (lambda: preprocess_digit(gray, **field).image), "pad"


def kernel(view: ModelView | None, payload: dict) -> dict:
    """The kernel view of one pixel of a conv layer's feature map."""
    if view is None:
        raise HttpError(409, NOT_YET)
    shape = view.image_shape  # (H, W) grey, (3, H, W) colour
    data = _decoded(str_field(payload, "input"), "input")
    if len(data) != 4 * int(np.prod(shape)):
        raise HttpError(
            400,
            f"'input' must hold {'x'.join(map(str, shape))} float32 numbers "
            f"({4 * int(np.prod(shape))} bytes), got {len(data)} bytes",
        )
    image = np.frombuffer(data, dtype="<f4").reshape(shape).astype(np.float32)
    if not np.all(np.isfinite(image)):
        raise HttpError(400, "'input' holds numbers that are not finite")
    layer = int_field(payload, "layer", 0, len(view.panels) - 1)
    channel, row, col = (int_field(payload, name) for name in ("channel", "row", "col"))
    try:
        # numbers far outside a prepared image (the page never sends them) overflow: the server
        # answers 422 for the inf, and the terminal gets no RuntimeWarning lines
        with np.errstate(over="ignore", invalid="ignore"):
            return view.kernel(image, layer, channel, row, col)
    except ValueError as err:  # not a conv layer, or a pixel outside the map
        raise HttpError(400, str(err)) from None


def _decoded(text: str, name: str) -> bytes:
    try:
        return decode_base64(text, repr(name))
    except ValueError as err:
        raise HttpError(400, str(err)) from None
