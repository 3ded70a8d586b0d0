"""What every picture shares: matplotlib set up for scripts, servers and notebooks alike.

Every ``plot_*`` function returns a matplotlib ``Figure`` (so it shows in a notebook and saves
with ``fig.savefig(path)``); they read only what they are given (a History, a model, arrays).
Without a display (a server, CI) matplotlib's non-interactive Agg backend is used; a backend
the user already chose (a notebook's inline one, say) is never changed.
"""

from __future__ import annotations

import functools
import io
import os
import sys

import numpy as np


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pyplot():
    """``matplotlib.pyplot``, choosing Agg first when there is no display and nobody chose."""
    import matplotlib

    if (
        "matplotlib.pyplot" not in sys.modules
        and not os.environ.get("MPLBACKEND")
        and not has_display()
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@functools.cache
def inline_figure_class():
    """A Figure that a notebook (inline backend) draws once, not twice."""
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        def _ipython_display_(self):
            # Returned as a cell's value, the figure is displayed here; without this, pyplot
            # would display it a second time at the end of the cell (it shows every open
            # figure).  Closing it in pyplot after the first display prevents that.
            import matplotlib.pyplot as plt
            from IPython.display import Image, display

            buf = io.BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
            display(Image(buf.getvalue()))
            plt.close(self)

    return InlineFigure


def subplots(*args, **kwargs):
    """``plt.subplots``, so ``plt.show()`` shows the figure; in a notebook, shown once."""
    import matplotlib

    plt = pyplot()
    if "inline" in matplotlib.get_backend():
        kwargs["FigureClass"] = inline_figure_class()
    return plt.subplots(*args, **kwargs)


def display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(C, H, W) -> something imshow draws: (H, W) in gray, or (H, W, 3) colour in [0, 1]."""
    if image.shape[0] == 3:
        rgb = image.transpose(1, 2, 0).astype(np.float64)  # (H, W, 3)
        low, high = rgb.min(), rgb.max()
        return (rgb - low) / (high - low) if high > low else np.zeros_like(rgb), None
    return image[0], "gray"


def image_batch(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected images of shape (N, C, H, W) or one image (C, H, W), "
            f"got shape {x.shape}"
        )
    return x


def hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def whole_numbers(axis) -> None:
    """Ticks at whole numbers only, even around a single point (one watched step, one unit),
    where matplotlib's integer locator would fall back to 0.96, 0.98, 1.00, ..."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
