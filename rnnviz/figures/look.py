"""The look every figure shares: colours, fonts and sizes, layouts and axes, and axis ranges that hold
still while live series grow."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ..words import MISSING  # noqa: F401  (re-exported: in tables, a value not recorded yet or not read)

# One colour per role, not per run id: a tanh RNN is red, an LSTM blue, a GRU green on every page, in the
# published overlay and in reports, whichever runs are drawn beside it. Variants of a role (the remedies, any
# other named settings) and its seeds wear shades of it (run_color).
ROLES = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
OTHER_ROLE = "#9467bd"  # a cell rnnviz does not know
PALETTE = [ROLES["rnn"], ROLES["lstm"], ROLES["gru"], OTHER_ROLE]
# Each shade mixes the role's colour with black (< 0) or white (> 0): the first five far apart for one set.
SHADES = (0.0, -0.45, 0.4, -0.7, 0.2, -0.25, 0.5)  # none paler than half-way to white
# Variants whose shade is fixed, so that a set's runs never share one: the remedies set in its order.
VARIANTS = {
    "blog-rnn": 0,
    "remedies-clip": 1,
    "remedies-lr": 2,
    "remedies-orthogonal": 3,
    "remedies-irnn": 4,
    "blog-lstm": 0,
    "remedies-gru": 0,
}
# The parts of one run (its parameters, its gates) take other colours, so none passes for a run.
PARTS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
# Plotly's options for every chart, in the dashboard and in reports: no logo, a PNG download at 2x. The
# modebar (zoom, reset, download) shows while the pointer is on a chart, in a band of MODEBAR_PX at its top
# that the title stays under (base_layout): drawn over the title, it hid the title's end.
CHART_CONFIG = {
    "displaylogo": False,
    "displayModeBar": "hover",
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
MODEBAR_PX = 32  # Plotly draws its modebar 2 px from the top, 23 px high; a title's glyphs rise ~6 px above its top
MAX_POINTS = 400  # points per line sent to the browser
MAX_COLUMNS = 300  # heatmap columns (training steps) sent to the browser
MAX_ROWS = 112  # heatmap rows (time steps): T = 784 is averaged in groups of 7, about 3 pixels a row
ROUND = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)  # axis ends, times a power of ten


@dataclass(frozen=True)
class Style:
    """Looks shared by every figure; large fonts for the back of a room."""

    font_size: int = 14
    height: int = 380
    # Charts over training count samples seen (step x batch size, as the blog posts count their "iterations")
    # instead of steps; the views (rnnviz/views/) scale each run's steps by its own batch size.
    samples: bool = False

    @classmethod
    def for_talks(cls, large: bool, samples: bool = False) -> Style:
        return cls(font_size=22, height=480, samples=samples) if large else cls(samples=samples)

    @property
    def step_title(self) -> str:
        """The title of an axis over training."""
        return "samples seen" if self.samples else "training step"


def shade(colour: str, amount: float) -> str:
    """#rrggbb mixed with white (amount > 0) or black (amount < 0) by |amount|."""
    rgb = np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)], float)
    mixed = rgb + (255 - rgb) * amount if amount > 0 else rgb * (1 + amount)
    return "#" + "".join(f"{int(round(v)):02x}" for v in mixed)


def run_color(cell: str, variant: str = "", seed: int = 0) -> str:
    """A run's colour: its role's (the cell), in the shade of its variant (its name without the seed: fixed for
    VARIANTS, any other by a stable hash), moved on by its seed. The same wherever the run is drawn, whatever
    else is drawn with it."""
    k = VARIANTS.get(variant, 1 + zlib.crc32(variant.encode()) % (len(SHADES) - 1) if variant else 0)
    return shade(ROLES.get(cell, OTHER_ROLE), SHADES[(k + seed) % len(SHADES)])


def color(i: int) -> str:
    """The colour of the i-th part of one run (a parameter, a gate)."""
    return PARTS[i % len(PARTS)]


Line = tuple[str, np.ndarray, np.ndarray, str]  # (label, x, y, colour)
Histogram = tuple[str, np.ndarray, np.ndarray, str]  # (label, edges, counts, colour)


@dataclass(frozen=True)
class Empty:
    """What a chart shows while it has nothing to draw (a run not started, no evaluation yet): axes that
    mean what they will mean once data arrives, and a note saying why they are empty. Plotly's own empty
    axes run from -1 to 4."""

    note: str = "no data yet"
    x: tuple[float, float] = (0.0, 100.0)  # training steps; time steps are 1..T
    y: tuple[float, float] | None = None  # None: 0 to 1, or 0.1 to 1 on a log axis


DEFAULT_STYLE = Style()
NO_DATA = Empty()


def empty_y(empty: Empty, log: bool) -> list[float]:
    if empty.y is None:
        return [-1.0, 0.0] if log else [0.0, 1.0]
    return [float(np.log10(v)) for v in empty.y] if log else list(empty.y)


def note(text: str, style: Style, y: str = "y", x: str = "x") -> dict:
    """A note in the middle of the plot of axes `x` and `y`."""
    return dict(
        text=text,
        xref=f"{x} domain",
        yref=f"{y} domain",
        x=0.5,
        y=0.5,
        showarrow=False,
        font=dict(size=style.font_size + 2, color="#888888"),
    )


def base_layout(style: Style, title: str, key: str, panels: bool = False, **extra) -> dict:
    """The layout every figure shares, as a plain dict: building figures in one go (not update_layout) is
    ~10x cheaper, which matters when several tabs redraw every chart each second. `panels`: room under the
    title for the panels' own titles (make_subplots). `extra` overrides."""
    base = dict(
        # the title's top under the modebar's band; the top margin below leaves it its height and a gap
        title=dict(
            text=title,
            font=dict(size=style.font_size + 4),
            y=1,
            yref="container",
            yanchor="top",
            pad=dict(t=MODEBAR_PX),
        ),
        font=dict(size=style.font_size),
        height=style.height + 4 * style.font_size,
        # Axes push these margins as far as their tick labels and titles need (automargin), and the legend
        # below them reserves its own rows: nothing overlaps at any font size or width.
        margin=dict(l=20, r=20, t=int((4.5 if panels else 3) * style.font_size) + 26, b=10),
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0),
        uirevision=key,  # keep the user's zoom across live refreshes
        # A hand-set look instead of a template: templates cost ~7 ms a figure and bloat every refresh.
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return {**base, **extra}


TITLE_STANDOFF = 10  # px between an axis' tick labels and its title
PERCENT = ".3~%"  # shares as percentages with the digits that tell ticks apart: 0.5%, 1%, 1.5%, not 1%, 1%, 2%
Y_TICKS = dict(ticklabelstandoff=8)  # a y axis' labels clear of the x axis' first label at the corner


def axis(title: str, **extra) -> dict:
    """An axis whose title stands clear of its tick labels, however wide they are (Plotly's default places
    the title at a distance set by the font size alone, over long labels such as 10^-24)."""
    return dict(
        title=dict(text=title, standoff=TITLE_STANDOFF),
        automargin=True,
        gridcolor="#e8e8e8",
        zerolinecolor="#cccccc",
        **extra,
    )


def y_axis(title: str, **extra) -> dict:
    return axis(title, **Y_TICKS, **extra)


def log_axis(title: str, **extra) -> dict:
    """A log y axis labelled at powers of ten only: Plotly's labels at 2..9 of each decade crowd each other."""
    return y_axis(title, type="log", exponentformat="power", minorloglabels="none", **extra)


def tidy_axes(fig: go.Figure) -> go.Figure:
    """The settings of axis() and y_axis() on every axis of a figure made with make_subplots."""
    fig.update_xaxes(automargin=True, title_standoff=TITLE_STANDOFF)
    return fig.update_yaxes(automargin=True, title_standoff=TITLE_STANDOFF, **Y_TICKS)


def padded(edges: np.ndarray) -> dict:
    """An x range of histogram bins with a little room each side: the outer bins (|h| near 1, where a
    saturated RNN piles up) are not hidden on the frame, and the end labels clear the y axis' labels."""
    pad = 0.02 * float(edges[-1] - edges[0])
    return dict(range=[float(edges[0]) - pad, float(edges[-1]) + pad], autorange=False)


def _finite(values: list[np.ndarray]) -> np.ndarray:
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values]) if values else np.zeros(0)
    return v[np.isfinite(v)]


def round_up(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten that is >= value > 0."""
    scale = 10.0 ** np.floor(np.log10(value))
    return float(f"{next(m * scale for m in ROUND if m * scale >= value * (1 - 1e-9)):.12g}")


def held_range(values: list[np.ndarray], log: bool = False, pad: float = 0.02) -> list[float] | None:
    """An axis range that holds still while a live series grows: from 0 (or a round number below the data)
    to the next round number above it, padded by `pad` of its span; whole decades on a log axis. Plotly's
    autorange moves with every new point, which makes every update redraw the axes; a held range changes a
    few times a decade, so most updates redraw only the lines (the live chart's frontend). None without data."""
    v = _finite(values)
    if log:
        v = v[v > 0]
    if v.size == 0:
        return None
    if log:
        lo, hi = float(np.floor(np.log10(v.min()))), float(np.ceil(np.log10(v.max())))
        return [lo, max(hi, lo + 1)]
    lo = -round_up(-v.min()) if v.min() < 0 else 0.0
    hi = round_up(v.max()) if v.max() > 0 else 0.0
    if hi == lo:
        hi = lo + 1.0
    return [float(lo - pad * (hi - lo)), float(hi + pad * (hi - lo))]


def extent(values: list[np.ndarray]) -> list[float] | None:
    """[min, max] of the finite values, or None (Plotly's autorange) when they span no width."""
    v = _finite(values)
    return [float(v.min()), float(v.max())] if v.size and v.max() > v.min() else None


def ranged(r: list[float] | None) -> dict:
    """Axis settings for a held range, or nothing (Plotly's autorange) without one."""
    return dict(range=r, autorange=False) if r else {}


def subsample_columns(steps: np.ndarray, matrix: np.ndarray, max_cols: int) -> tuple[np.ndarray, np.ndarray]:
    if len(steps) <= max_cols:
        return steps, matrix
    keep = np.unique(np.linspace(0, len(steps) - 1, max_cols).round().astype(int))
    return steps[keep], matrix[keep]
