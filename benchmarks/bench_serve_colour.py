"""How fast `cnn-numpy serve` answers for a colour model: a photo in, every layer's output out.

    python benchmarks/bench_serve_colour.py                # the resnet preset on 3x32x32
    python benchmarks/bench_serve_colour.py --model runs/cifar10-resnet-.../best.npz

A 640x480 JPEG photo is sent as the page sends a chosen file (base64 of the file).  Printed,
in ms (median, 90th percentile, max over --repeat requests, after a warm-up):

    prepare        the file -> prepare_colour (decode, centre crop, scale) -> 3x32x32
    all layers     the model's forward pass layer by layer (a residual block opened up),
                   every output kept and encoded, with Grad-CAM and saliency
    server total   the two above plus reading the request (api.predict), no HTTP
    example        POST-free: an example image (api.predict with {"example": 0})
    over HTTP      POST /api/predict to a running server, JSON answer read and parsed

The grey page's target (50 ms for LeNet, benchmarks/bench_serve.py) is the yardstick.
Timing does not depend on the weights, so the default is an untrained resnet.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import sys
import tempfile

import numpy as np
from bench_serve import (  # the same timing, table, checks and HTTP as bench_serve
    model_file,
    post,
    print_times,
    requests,
    timed,
)

from cnn_numpy import CIFAR10_CLASSES, resnet
from cnn_numpy.tools.live import LiveServer, ModelView, api
from cnn_numpy.tools.live.inputs import uploaded_colour
from cnn_numpy.tools.saving.model_files import load_with_card

TARGET_MS = 50


def photo_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A 640x480 photo-like JPEG: a red disc on a green-blue gradient, with noise."""
    from PIL import Image

    rows, cols = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    disc = (rows - 0.5) ** 2 + (cols - 0.5) ** 2 < 0.06
    rgb = np.stack([np.where(disc, 0.9, 0.1), 0.2 + 0.6 * cols, 0.9 - 0.7 * rows], axis=-1)
    rgb += np.random.default_rng(0).normal(0, 0.03, rgb.shape)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=model_file, help="a model file (default: resnet, untrained)"
    )
    parser.add_argument("--repeat", type=requests, default=100)
    args = parser.parse_args()
    if args.model:
        model, card = load_with_card(args.model)
    else:
        model = resnet(10, in_channels=3, image_size=32, rng=0)
        card = {
            "dataset": "cifar10",
            "class_names": list(CIFAR10_CLASSES),
            "input_shape": [3, 32, 32],
            "normalize": {"mean": 0.4734, "std": 0.2516},
        }
    with tempfile.TemporaryDirectory() as empty:  # no dataset files: generated examples
        view = ModelView(model, card, data_dir=empty if not args.model else None)
    data = photo_jpeg()
    payload = {"image": base64.b64encode(data).decode()}
    body = json.dumps(payload).encode()
    height, width = view.input_shape[1:]
    image = uploaded_colour(data, height, width)
    server = LiveServer("127.0.0.1", 0, view=view).start()
    try:
        first = post(server.port, "/api/predict", body)
        rows = {
            "prepare": timed(lambda: uploaded_colour(data, height, width), args.repeat),
            "all layers": timed(lambda: view.predict(image), args.repeat),
            "server total": timed(lambda: api.predict(view, payload), args.repeat),
            "example": timed(lambda: api.predict(view, {"example": 0}), args.repeat),
            "over HTTP": timed(lambda: post(server.port, "/api/predict", body), args.repeat),
        }
    finally:
        server.stop()
    print(f"model: {args.model or 'resnet (untrained)'}: {len(view.panels)} panels")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python "
        f"{sys.version.split()[0]}, {args.repeat} requests each, photo {len(data) / 1000:.0f} "
        f"kB, answer {len(json.dumps(first)) / 1000:.0f} kB"
    )
    print_times(rows)
    median = statistics.median(rows["server total"])
    verdict = "within" if median <= TARGET_MS else "NOT within"
    print(f"server total, median {median:.1f} ms: {verdict} the grey page's {TARGET_MS} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
