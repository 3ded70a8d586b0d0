"""A model and its card as the page sees them: predictions with every layer's output, and
the kernel view of any conv pixel.

One lock around the model: its layers keep caches and workspaces between calls, so two
requests must not run it at once.  And one BLAS thread while it runs: a single image is far
too little work to share, and waking BLAS's sleeping second thread for each request cost
80-100 ms (against 1 ms for the whole forward pass) on a busy 2-core machine.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ...layers import BatchNorm2d, Conv2d, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from ..photos.images import preprocess_digit
from ..speed.workers import blas_threads
from .examples import dataset_examples, generated_examples
from .filters import first_filters_json
from .inputs import digit_field, model_input
from .kernel_view import kernel_view
from .layers_view import (
    describe_layers,
    encode_floats,
    layer_outputs,
    panel_values,
    short_title,
    softmax,
)
from .residual_view import flat_panels
from .verdict import novelty, verdict
from .why_view import why

#: layers that change each number on its own (same channel, same pixel): the kernel view
#: follows a conv's value through them ("then ReLU: ...")
PER_PIXEL = (BatchNorm2d, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout)

#: what the page shows of the model card
CARD_KEYS = ("dataset", "preset", "epochs", "train_acc", "test_acc", "seed", "date", "version")


class ModelView:
    """Predictions and kernel views of ``model`` (a Sequential, put in eval mode) for images
    prepared with ``card``'s normalisation.  ``name`` labels the page (e.g. the file);
    ``novelty``: the model's novelty detector, if it has one (see ``verdict.novelty``).
    A colour model (3xHxW) gets ``examples`` (see ``examples.py``): its dataset's test images
    from ``data_dir`` (default: the run's data folder in the card, else ``$CNN_NUMPY_DATA`` or
    ``./data``), or generated pictures when they are not there."""

    def __init__(self, model, card: dict, name: str = "", novelty=None, data_dir=None):
        self.model = model
        self.novelty = novelty
        self.model.eval()
        self.card = card
        self.name = name
        self.input_shape = tuple(card.get("input_shape") or (1, 28, 28))
        C = self.input_shape[0] if len(self.input_shape) == 3 else 0
        if C not in (1, 3) or (C == 1 and self.input_shape[1] != self.input_shape[2]):
            raise ValueError(
                f"the page draws square grayscale digits (1xHxW) or colour images (3xHxW); "
                f"this model takes {'x'.join(map(str, self.input_shape))} inputs"
            )
        self.colour = C == 3
        # what ``run`` takes: (H, W) for a grey model (the pad's digit), (3, H, W) for colour
        self.image_shape = self.input_shape if self.colour else self.input_shape[1:]
        try:  # the card's normalisation must fit the channels
            model_input(np.zeros(self.image_shape, np.float32), card)
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(
                f"the model card's normalize {card.get('normalize')!r:.120} does not fit "
                f"{C}-channel inputs: {err}"
            ) from None
        self.flat = flat_panels(model)  # the panels' layers, Residuals opened up
        self.panels = describe_layers(model, self.input_shape)
        num_outputs = self.panels[-1]["shape"][-1] if self.panels else 0
        self.classes = [str(c) for c in card.get("class_names") or range(num_outputs)]
        # a colour model's examples: its dataset's test images if at hand, else generated
        self.examples = dataset_examples(card, data_dir) if self.colour else []
        self.lock = threading.Lock()
        self.warm_up()

    def warm_up(self) -> None:
        """One prediction of a drawn bar (or, for a colour model, a generated picture), so
        the first real request does not pay for loading Pillow and starting BLAS."""
        if self.colour:
            height, width = self.input_shape[1:]
            self.predict(generated_examples(height, width)[0]["image"])
            return
        page = np.ones((56, 56), dtype=np.float32)
        page[8:48, 24:32] = 0.0
        self.predict(preprocess_digit(page, **digit_field(self.input_shape[1])).image)

    def info(self) -> dict:
        """The page's layout: the classes, one entry per layer panel, the card's numbers, the
        novelty check's threshold (None: the model has no check)."""
        check = None if self.novelty is None else {"threshold": float(self.novelty.threshold)}
        return {
            "name": self.name,
            "classes": self.classes,
            "input_shape": list(self.input_shape),
            "layers": self.panels,
            "card": {k: self.card[k] for k in CARD_KEYS if self.card.get(k) is not None},
            "novelty": check,
            "colour": self.colour,
            "examples": [
                {"label": e["label"], "source": e["source"], "image": encode_floats(e["image"])}
                for e in self.examples
            ],
            # the first conv's filters, drawn as small RGB pictures for a colour model
            "filters": first_filters_json(self.model) if self.colour else None,
        }

    def run(self, image: np.ndarray, check: bool = False):
        """The model's input for a prepared image, every layer's output for it, and (with
        ``check``) the novelty check's verdict.

        Shape: image (H, W) grey or (3, H, W) colour, in [0, 1] -> x (1, C, H, W),
        [(1, ...) per layer]
        """
        expected = self.image_shape
        if image.shape != expected:
            raise ValueError(
                f"the model takes {'x'.join(map(str, self.input_shape))} "
                f"images, got a {'x'.join(map(str, image.shape))} image"
            )
        x = model_input(image, self.card)
        with self.lock, blas_threads(1):
            outputs = layer_outputs(self.model, x)
            if check:
                return x, outputs, novelty(self.novelty, self.model, x)
        return x, outputs

    def predict(self, image: np.ndarray) -> dict:
        """Everything the page draws for one prepared image: the image itself, the answer,
        the probabilities and every layer's output (as base64 float32)."""
        start = time.perf_counter()
        x, outputs, check = self.run(image, check=True)
        probabilities = softmax(outputs[-1][0].astype(np.float64))
        answer = verdict(probabilities, self.classes, check, self.card.get("dataset"))
        with self.lock, blas_threads(1):  # Grad-CAM and saliency of the best class
            reasons = why(self.model, x, int(probabilities.argmax()))
        return {
            "input": encode_floats(image),
            "input_shape": list(image.shape),
            "probabilities": probabilities.tolist(),
            "answer": answer,
            "layers": [panel_values(out[0]) for out in outputs],
            "why": reasons,
            "ms": {"model": 1000 * (time.perf_counter() - start)},
        }

    def kernel(self, image: np.ndarray, layer: int, channel: int, row: int, col: int) -> dict:
        """The kernel view of pixel ``(channel, row, col)`` of conv layer ``layer`` for a
        prepared image, with the feature map's own value and the per-pixel layers after it."""
        layers = [panel.layer for panel in self.flat]  # a Residual's inner layers too
        if not 0 <= layer < len(layers):
            raise ValueError(f"layer must be from 0 to {len(layers) - 1}, got {layer}")
        conv, source = layers[layer], self.flat[layer].input
        if not isinstance(conv, Conv2d):
            raise ValueError(f"layer {layer} is {short_title(conv)}, not a Conv2d")
        x, outputs = self.run(image)
        conv_input = x[0] if source < 0 else outputs[source][0]
        view = kernel_view(conv, conv_input, channel, row, col)
        view.update(
            layer=layer,
            title=short_title(conv),
            feature_map_value=float(outputs[layer][0, channel, row, col]),
            # a conv reading a colour image: its input channels are red, green, blue
            input_names=["red", "green", "blue"] if self.colour and source < 0 else None,
        )
        view["then"] = []
        for index in range(layer + 1, len(layers)):
            following = layers[index]
            if not isinstance(following, PER_PIXEL) or self.flat[index].input != index - 1:
                break
            view["then"].append(
                {
                    "layer": index,
                    "title": short_title(following),
                    "type": type(following).__name__,
                    "value": float(outputs[index][0, channel, row, col]),
                }
            )
        return view
