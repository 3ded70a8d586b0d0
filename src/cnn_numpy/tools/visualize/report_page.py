"""The run's ``report.html``: its sections in order, each with what to look for, and the page."""

from __future__ import annotations

import base64
import datetime
import html
import json

from ...train import History
from .augmentation import AUGMENTATION_SECTION
from .mistake_saliency import SECTION as MISTAKES_SALIENCY
from .monitor_plots import FILTERS_EPOCHS_SECTION, MONITOR_SECTIONS

#: (file stem, heading, what to look for): the order of the page
SECTIONS = [
    (
        "curves",
        "Training curves: did it learn?",
        "Loss should fall and accuracy rise. Train accuracy far above test accuracy means the "
        "network memorises the training images (overfitting). The train numbers are the mean "
        "over each epoch's batches, while the weights still change; the test numbers are "
        "measured after the epoch, which is why after the first epoch test accuracy is often "
        "the higher one.",
    ),
    AUGMENTATION_SECTION,
    *MONITOR_SECTIONS,
    (
        "filters",
        "Filters of the first conv layer: what did it learn?",
        "Each 3x3 (or kxk) kernel is a tiny pattern detector; red weights are positive, blue "
        "negative. A kernel with a red column between blue ones responds to vertical lines. "
        "For colour images each kernel is drawn as a small RGB picture of its weights "
        "(mid-grey = 0): the colour, and the pattern, it responds to.",
    ),
    FILTERS_EPOCHS_SECTION,
    (
        "filters_layer",
        "Filters of deeper conv layers",
        "A deeper filter has one kernel per input channel: it combines the maps of the layer "
        "before, so it is harder to read by eye.",
    ),
    (
        "feature_maps",
        "Feature maps: what each layer sees",
        "One test image passed through the network. Each row is the output of one layer, on "
        "its own colour scale, named in numbers in its title: before a ReLU, red where a filter "
        "found its pattern, blue where it found the opposite, white 0; after it, dark 0 and "
        "yellow the strongest answer. Pooling halves the size and keeps the strongest answers.",
    ),
    (
        "confusion_matrix",
        "Confusion matrix: where does it fail?",
        "Rows are the true classes, columns the predictions; the diagonal counts the correct "
        "answers, everything off it is a mistake.",
    ),
    (
        "mistakes",
        "Mistakes",
        "Misclassified test images with the network's prediction and its confidence. Confident "
        "mistakes are the interesting ones: often the label is ambiguous, or the image unusual.",
    ),
    MISTAKES_SALIENCY,
]


#: the sections only some runs have (a monitored run, an augmented one)
MONITORED = (*(stem for stem, _, _ in MONITOR_SECTIONS), FILTERS_EPOCHS_SECTION[0], "augmentation")

#: pictures `cnn-numpy train` draws itself, once, before the first epoch (it has the training
#: images then): every report embeds them as the run's own, never as stale
DRAWN_BY_TRAIN = ("augmentation",)


def suffix_of(stem: str) -> str:
    return "gif" if stem == "filters_epochs" else "png"


def section_of(stem: str) -> int | None:
    for k, (prefix, _, _) in enumerate(SECTIONS):
        if stem == prefix or (prefix == "filters_layer" and stem.startswith(prefix)):
            return k
    return None


def _numbers(history: History) -> list[tuple[str, str]]:
    if not len(history):
        return [("epochs", "0 (no epoch finished)")]
    rows = [
        ("epochs", str(history.epoch[-1])),
        ("final train loss", f"{history.loss[-1]:.4f}"),  # the mean over the epoch's batches
        ("final train accuracy", f"{history.train_acc[-1]:.4f}"),
    ]
    if history.test_loss[-1] is not None:
        rows.append(("final test loss", f"{history.test_loss[-1]:.4f}"))
    tests = [(acc, epoch) for acc, epoch in zip(history.test_acc, history.epoch) if acc is not None]
    if history.test_acc[-1] is not None:
        rows.append(("final test accuracy", f"{history.test_acc[-1]:.4f}"))
    if tests:
        best, epoch = max(tests)
        rows.append(("best test accuracy", f"{best:.4f} (epoch {epoch})"))
    rows.append(
        (
            "training time",
            f"{sum(history.seconds):.1f} s ({sum(history.seconds) / len(history):.1f} s per epoch)",
        )
    )
    return rows


def _table(rows, header: tuple[str, ...] | None = None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


#: settings that only apply when another setting has a given value
APPLIES_WHEN = {
    "momentum": ("optimizer", {"sgd"}),
    "filters": ("model", {"seed"}),
    "blocks": ("model", {"seed"}),
    "noise": ("dataset", {"lines"}),
    "step_size": ("schedule", {"step"}),
    "gamma": ("schedule", {"step"}),
    "eta_min": ("schedule", {"cosine"}),
}


def used_settings(config: dict) -> dict:
    """The settings the run actually used: no momentum for Adam, no filters or blocks for a
    preset other than the seed net, no noise for real data, nothing left unset (None)."""
    used = {}
    for key, value in config.items():
        rule = APPLIES_WHEN.get(key)
        if key == "report":  # whether training drew this page: how it ran, not a setting
            continue
        if value is None or (rule and config.get(rule[0]) not in rule[1]):
            continue
        used[key] = value
    return used


def _config_rows(config: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in config.items():
        if isinstance(value, dict):
            rows += _config_rows(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value if isinstance(value, str) else json.dumps(value)))
    return rows


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1em 2em 3em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; font-size: 1.25em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.92em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
th { background: #f3f3f3; } td:first-child { color: #444; }
.numbers td:last-child { font-weight: 600; }
.cols { display: flex; gap: 2.5em; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0.5em 0; } figcaption { color: #555; max-width: 60em; margin-bottom: 0.5em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #a33; }
.run-note { white-space: pre-wrap; }
/* a phone: narrower margins; a table still too wide (a long folder) scrolls on its own,
   not the whole page */
@media (max-width: 600px) {
  body { padding: 1em 1em 2em; } td, th { padding: 0.25em 0.45em; }
  table { display: block; max-width: 100%; overflow-x: auto; }
}
"""


def render_html(
    name: str,
    config: dict,
    history: History,
    pictures: dict[str, bytes],
    earlier: dict[str, bytes] | None = None,
    note: str = "",
) -> str:
    """The page: title, ``train``'s note if it printed one, final numbers, every picture
    (base64-embedded) under a heading and a caption saying what to look for, the per-epoch
    table and the config."""
    earlier = earlier or {}
    model, dataset = config.get("model", "?"), config.get("dataset", "?")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cnn-numpy run {html.escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>cnn-numpy run: {html.escape(name)}</h1>",
        f'<p class="sub">model <b>{html.escape(str(model))}</b> on <b>{html.escape(str(dataset))}'
        f"</b> &middot; report made {datetime.datetime.now():%Y-%m-%d %H:%M}</p>",
        *([f'<p class="note run-note">{html.escape(note.strip())}</p>'] if note.strip() else []),
        '<div class="cols"><div><h2>Final numbers</h2><div class="numbers">',
        _table(_numbers(history)),
        "</div></div>",
    ]
    if len(history):
        rows = [
            (e, f"{lo:.4f}", f"{tr:.4f}", "" if te is None else f"{te:.4f}", f"{s:.1f}")
            for e, lo, tr, te, s in zip(
                history.epoch, history.loss, history.train_acc, history.test_acc, history.seconds
            )
        ]
        parts += [
            "<div><h2>Per epoch</h2>",
            _table(rows, ("epoch", "train loss", "train acc", "test acc", "seconds")),
            "</div>",
        ]
    parts.append("</div>")
    every = {**earlier, **pictures}
    shown_heading = set()
    for stem in sorted(every, key=lambda s: (section_of(s), s)):
        k = section_of(stem)
        if k is None:
            continue
        _, heading, caption = SECTIONS[k]
        if k not in shown_heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            shown_heading.add(k)
        note = (
            ""
            if stem in pictures or stem in DRAWN_BY_TRAIN
            else ' <span class="note">(from an earlier report: no model to redraw it)</span>'
        )
        data, suffix = base64.b64encode(every[stem]).decode("ascii"), suffix_of(stem)
        parts.append(
            f"<figure><figcaption>{html.escape(caption)}{note}</figcaption>"
            f'<img src="data:image/{suffix};base64,{data}" alt="{stem}.{suffix}" '
            f'title="{stem}.{suffix}"></figure>'
        )
    if "curves" not in every:
        parts.append('<p class="note">No training curves: no epoch has finished.</p>')
    missing = [
        heading
        for stem, heading, _ in SECTIONS
        if stem not in ("curves", "filters_layer", *MONITORED) and stem not in every
    ]
    if missing:
        parts.append(
            '<p class="note">Not drawn (they need the trained model, model.npz, and the '
            f"test data): {html.escape(', '.join(missing))}.</p>"
        )
    parts += [
        "<h2>Config</h2>",
        _table(_config_rows(used_settings(config)), ("setting", "value")),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
