"""A diagnosis on disk: its pictures, ``diagnosis.json`` and a small self-contained page.

OUT/
    activations.png     activation histograms per layer (one forward pass)
    dead_units.png      how often each ReLU unit / filter is active (dead ones red)
    update_ratios.png   |update| / |weight| per step of a short run at your lr
    lr_curve.png        the learning-rate range test, with the suggestion and your rate
    diagnosis.json      every finding with its measurements
    diagnosis.html      the findings table and the pictures, readable offline
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

from ...data.atomic import atomic_write_bytes, atomic_write_text
from ..doctor.findings import Diagnosis
from .health import plot_activation_histograms, plot_dead_units, plot_lr_curve, plot_update_ratios
from .report_page import CSS

#: (file stem, heading, what to look for), in page order
PICTURES = [
    (
        "activations",
        "Activations per layer",
        "One histogram per layer of the values it puts out for a batch of your images. A healthy "
        "layer spreads them; ReLU outputs pile up at 0, and a dead unit is always 0; tanh and "
        "sigmoid outputs should not crowd at their limits (red: the doctor fails that layer).",
    ),
    (
        "dead_units",
        "Dead units per filter",
        "For each ReLU layer, the share of inputs on which each unit (each filter, for a conv "
        "layer) is active. Red units are never active: no gradient flows through them.",
    ),
    (
        "update_ratios",
        "Update-to-weight ratios",
        "How much each step of a short run at your learning rate changed each weight, relative to "
        "its size. About 1e-3 (the dashed line) is the rule of thumb.",
    ),
    (
        "lr_curve",
        "Learning-rate range test",
        "The loss while the learning rate grows step by step. Too small and nothing happens; too "
        "large and the loss rises or explodes. The suggestion is the lowest point divided by 10.",
    ),
]


def diagnosis_figures(diagnosis: Diagnosis) -> dict:
    """``{file stem: Figure}`` for every picture the diagnosis has data for."""
    checks = {f.check for f in diagnosis}
    figures = {}
    if diagnosis.activations:
        figures["activations"] = plot_activation_histograms(diagnosis.activations)
    if "dead_relu" in checks and diagnosis["dead_relu"].data["layers"]:
        figures["dead_units"] = plot_dead_units(diagnosis["dead_relu"].data["layers"])
    if "update_ratio" in checks and any(diagnosis["update_ratio"].data.get("ratios", {}).values()):
        figures["update_ratios"] = plot_update_ratios(diagnosis["update_ratio"].data["ratios"])
    if "lr" in checks and diagnosis["lr"].data.get("lrs"):
        figures["lr_curve"] = plot_lr_curve(diagnosis["lr"].data)
    return figures


def figure_png(fig) -> bytes:
    """Render a Figure to PNG bytes and free it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def write_diagnosis(diagnosis: Diagnosis, out_dir: str | os.PathLike, title: str = "") -> Path:
    """Write the pictures, ``diagnosis.json`` and ``diagnosis.html`` into ``out_dir`` (made if
    needed; every file written atomically); returns the page's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = {stem: figure_png(fig) for stem, fig in diagnosis_figures(diagnosis).items()}
    for stem, png in pictures.items():
        atomic_write_bytes(out / f"{stem}.png", png)
    atomic_write_text(out / "diagnosis.json", json.dumps(diagnosis.as_dict(), indent=1) + "\n")
    atomic_write_text(out / "diagnosis.html", render_page(diagnosis, pictures, title))
    return out / "diagnosis.html"


STATUS_CSS = """
.ok { color: #1a7f37; } .warn { color: #9a6700; font-weight: 600; }
.fail { color: #cf222e; font-weight: 700; } td.msg { max-width: 60em; }
"""


def render_page(diagnosis: Diagnosis, pictures: dict[str, bytes], title: str = "") -> str:
    """The findings table (status coloured), then each picture with what to look for."""
    rows = "\n".join(
        f'<tr><td>{html.escape(f.check)}</td><td class="{f.status}">{f.status.upper()}</td>'
        f'<td class="msg">{html.escape(f.message)}</td></tr>'
        for f in diagnosis
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cnn-numpy diagnosis</title><style>{CSS}{STATUS_CSS}</style></head><body>",
        "<h1>cnn-numpy diagnosis</h1>",
        f'<p class="sub">{html.escape(title)} &middot; {html.escape(diagnosis.summary())}</p>',
        "<table><tr><th>check</th><th>status</th><th>finding</th></tr>",
        rows,
        "</table>",
    ]
    for stem, heading, caption in PICTURES:
        if stem in pictures:
            data = base64.b64encode(pictures[stem]).decode("ascii")
            parts.append(
                f"<h2>{html.escape(heading)}</h2><figure><figcaption>"
                f'{html.escape(caption)}</figcaption><img src="data:image/png;base64,'
                f'{data}" alt="{stem}.png" title="{stem}.png"></figure>'
            )
    parts.append(
        "<p>What each check means, and how to fix what it finds: the docs page "
        "&ldquo;When training goes wrong&rdquo; (docs/when-training-goes-wrong.md)."
        "</p></body></html>"
    )
    return "\n".join(parts) + "\n"
