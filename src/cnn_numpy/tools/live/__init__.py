"""See it think: a local web page that shows a model at work.

``cnn-numpy serve MODEL.npz`` draws a digit (or, for a colour model, sends a photo) through
every layer of a saved model;
``cnn-numpy train --live`` shows training as it happens, then the trained model.

    layers_view.py   one image through the model's own layers; panel titles and values
    kernel_view.py   how one number of a conv feature map was computed
    inputs.py        the pad's pixels or an uploaded file -> the model's input (as predict)
    examples.py      a colour model's example images: its dataset's test images, or drawn
    filters.py       the first conv's filters (RGB patches for a colour model)
    verdict.py       the answer: a class, "not sure", or a refusal (the novelty check)
    model_view.py    the model as the page sees it (one lock around its forward pass)
    api.py           the page's requests, as functions of their JSON
    safety.py        Host check, body cap, JSON checks
    feed.py          training events for Server-Sent Events
    training.py      fit's hooks for --live, and the publisher thread
    server.py        the ThreadingHTTPServer and its routes
    static/          the page: index.html, *.js, style.css (no CDN, works offline)
"""

from .model_view import ModelView
from .server import LiveServer
from .training import LiveTraining

__all__ = ["LiveServer", "LiveTraining", "ModelView"]
