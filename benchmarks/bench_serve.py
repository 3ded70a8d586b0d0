"""How fast `cnn-numpy serve` answers: a drawing in, every layer's output out.

    python benchmarks/bench_serve.py                      # LeNet (the MNIST default's shape)
    python benchmarks/bench_serve.py --model runs/mnist-lenet-.../best.npz

A 280x280 drawing (the pad's size) of a 7 is sent as the page sends it.  Printed, in ms
(median, 90th percentile, max over --repeat requests, after a warm-up):

    prepare        the pad's pixels -> preprocess_digit -> the 28x28 input
    all layers     the model's forward pass layer by layer, every output kept and encoded
    server total   the two above plus reading the request (api.predict), no HTTP
    over HTTP      POST /api/predict to a running server, JSON answer read and parsed
    kernel view    POST /api/kernel for a pixel of the second conv layer

The issue's target: the server's prediction with all activations within 50 ms for LeNet.
Timing does not depend on the weights, so the default is an untrained LeNet.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import sys
import time

import numpy as np

from cnn_numpy import MNIST_CLASSES, lenet
from cnn_numpy.tools.live import LiveServer, ModelView, api
from cnn_numpy.tools.live.inputs import pad_pixels
from cnn_numpy.tools.photos.images import preprocess_digit
from cnn_numpy.tools.saving.model_files import load_with_card

TARGET_MS = 50


def drawing(size: int = 280) -> np.ndarray:
    """A 7 drawn with a 20 px round pen, black on white, as the pad holds it (uint8)."""
    from PIL import Image, ImageDraw

    page = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(page)
    points = [(0.25 * size, 0.15 * size), (0.78 * size, 0.15 * size), (0.45 * size, 0.9 * size)]
    pen.line(points, fill=0, width=20, joint="curve")
    return np.asarray(page)


def timed(function, repeat: int) -> list[float]:
    function()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return times


def print_times(rows: dict[str, list[float]]) -> None:
    """Each row's median, 90th percentile and max, ms.  The percentile interpolates between
    the times measured (never beyond the slowest, as statistics.quantiles' default did for a
    few requests), so it works from one request up."""
    print(f"{'':14s} {'median':>8s} {'p90':>8s} {'max':>8s}   (ms)")
    for name, times in rows.items():
        p90 = float(np.percentile(times, 90))
        print(f"{name:14s} {statistics.median(times):8.2f} {p90:8.2f} {max(times):8.2f}")


def requests(text: str) -> int:
    """--repeat: timed requests per row, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def model_file(text: str) -> str:
    """--model: checked before the server starts, so a wrong path is one line, not a traceback."""
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such model file: {text}")
    return text


def post(port: int, path: str, body: bytes) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 200, answer
    return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=model_file, help="a model file (default: LeNet, untrained)")
    parser.add_argument("--repeat", type=requests, default=200)
    args = parser.parse_args()
    if args.model:
        model, card = load_with_card(args.model)
    else:
        model, card = (
            lenet(rng=0),
            {
                "class_names": list(MNIST_CLASSES),
                "input_shape": [1, 28, 28],
                "normalize": {"mean": 0.1307, "std": 0.3081},
            },
        )
    view = ModelView(model, card)
    gray = drawing()
    payload = {
        "pixels": base64.b64encode(gray.tobytes()).decode(),
        "width": gray.shape[1],
        "height": gray.shape[0],
    }
    body = json.dumps(payload).encode()
    image = preprocess_digit(pad_pixels(payload["pixels"], 280, 280)).image
    server = LiveServer("127.0.0.1", 0, view=view).start()
    try:
        first = post(server.port, "/api/predict", body)
        conv = max(i for i, layer in enumerate(view.panels) if layer["conv"])
        kernel_body = json.dumps(
            {"input": first["input"], "layer": conv, "channel": 0, "row": 3, "col": 3}
        ).encode()
        rows = {
            "prepare": timed(
                lambda: preprocess_digit(pad_pixels(payload["pixels"], 280, 280)), args.repeat
            ),
            "all layers": timed(lambda: view.predict(image), args.repeat),
            "server total": timed(lambda: api.predict(view, payload), args.repeat),
            "over HTTP": timed(lambda: post(server.port, "/api/predict", body), args.repeat),
            "kernel view": timed(
                lambda: post(server.port, "/api/kernel", kernel_body), args.repeat
            ),
        }
    finally:
        server.stop()
    layers = " -> ".join(panel["title"] for panel in view.panels)
    print(f"model: {args.model or 'lenet (untrained)'}: {layers}")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python "
        f"{sys.version.split()[0]}, {args.repeat} requests each, answer "
        f"{len(json.dumps(first)) / 1000:.0f} kB"
    )
    print_times(rows)
    median = statistics.median(rows["server total"])
    verdict = "met" if median <= TARGET_MS else "NOT met"
    print(
        f"target: prediction with all activations <= {TARGET_MS} ms: {verdict} "
        f"(server total, median {median:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
