"""The page's two questions, as functions of a parsed JSON request (no HTTP in here).

``POST /api/predict`` with the pad, ``{"pixels": base64 gray bytes, "width": W, "height": H}``,
or an uploaded file, ``{"image": base64 of the file}``: the prepared 28x28 input, the answer,
the probabilities and every layer's output.

``POST /api/kernel`` with ``{"input": base64 float32 28x28 (the prepared input the predict
answer returned), "layer": i, "channel": f, "row": r, "col": c}``: the kernel view.  The page
sends the prepared image back, so the server keeps nothing between requests.
"""

from __future__ import annotations

import time

import numpy as np

from ..photos.images import preprocess_digit
from .inputs import MAX_PAD_SIDE, decode_base64, pad_pixels, uploaded_image
from .model_view import ModelView
from .safety import HttpError, int_field, str_field

NOT_YET = "the model is still training: the draw view opens when training ends"


def predict(view: ModelView | None, payload: dict) -> dict:
    """Prepare the drawing or the uploaded image as ``predict`` does, then run the model."""
    if view is None:
        raise HttpError(409, NOT_YET)
    start = time.perf_counter()
    if "image" in payload:
        data = _decoded(str_field(payload, "image"), "image")
        prepare, source = (lambda: uploaded_image(data)), "upload"
    else:
        width = int_field(payload, "width", 1, MAX_PAD_SIDE)
        height = int_field(payload, "height", 1, MAX_PAD_SIDE)
        try:
            gray = pad_pixels(str_field(payload, "pixels"), width, height)
        except ValueError as err:
            raise HttpError(400, str(err)) from None
        prepare, source = (lambda: preprocess_digit(gray)), "pad"
    try:
        steps = prepare()
    except ValueError as err:  # e.g. an empty pad, or a file that is not an image
        raise HttpError(422, str(err)) from None
    prepared = time.perf_counter()
    answer = view.predict(steps.image)
    answer["source"] = source
    answer["ms"]["prepare"] = 1000 * (prepared - start)
    answer["ms"]["total"] = 1000 * (time.perf_counter() - start)
    return answer


def kernel(view: ModelView | None, payload: dict) -> dict:
    """The kernel view of one pixel of a conv layer's feature map."""
    if view is None:
        raise HttpError(409, NOT_YET)
    shape = view.input_shape[1:]
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
        return view.kernel(image, layer, channel, row, col)
    except ValueError as err:  # not a conv layer, or a pixel outside the map
        raise HttpError(400, str(err)) from None


def _decoded(text: str, name: str) -> bytes:
    try:
        return decode_base64(text, repr(name))
    except ValueError as err:
        raise HttpError(400, str(err)) from None
