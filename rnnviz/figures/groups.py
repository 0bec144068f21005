"""Figures of sweeps: groups over seeds as a mean with a band, and the map of a sweep over two settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .lines import downsample_together
from .look import DEFAULT_STYLE, NO_DATA, Style, axis, base_layout, empty_y, held_range, log_axis, note, ranged, y_axis


@dataclass(frozen=True)
class Band:
    """One group's curve: its label, steps (P,), the mean over seeds and the band's edges (P,), its colour."""

    label: str
    steps: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    colour: str


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def band_lines(
    bands: list[Band],
    title: str,
    ytitle: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    log_y: bool = False,
    markers: bool = False,
) -> go.Figure:
    """Each group's mean as a line, its band (over seeds) shaded in its colour behind it; `markers` for sparse
    records such as evaluations (one evaluation is a point, not a line)."""
    values = [b.lo for b in bands] + [b.hi for b in bands]
    if log_y:
        values = [np.where(v > 0, v, np.nan) for v in values]
    yrange = held_range(values, log=log_y)
    xrange = held_range([b.steps for b in bands], pad=0.0)
    notes = [] if yrange else [note(NO_DATA.note, style)]
    traces = []
    for b in bands:
        x, lo, mean, hi = downsample_together(b.steps, b.lo, b.mean, b.hi)
        shade = dict(color=_rgba(b.colour, 0.0), width=0)
        traces += [
            dict(type="scatter", x=x, y=lo, mode="lines", line=shade, showlegend=False, hoverinfo="skip"),
            dict(type="scatter", x=x, y=hi, mode="lines", line=shade, fill="tonexty",
                 fillcolor=_rgba(b.colour, 0.18), showlegend=False, hoverinfo="skip"),
            dict(type="scatter", x=x, y=mean, mode="lines+markers" if markers else "lines", name=b.label,
                 line=dict(color=b.colour, width=2), cliponaxis=not markers),
        ]  # fmt: skip
    yaxis = log_axis(ytitle) if log_y else y_axis(ytitle)
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            title,
            key,
            xaxis=axis(style.step_title, **ranged(xrange or list(NO_DATA.x))),
            yaxis={**yaxis, **ranged(yrange or empty_y(NO_DATA, log_y))},
            annotations=notes,
        ),
    )


def sweep_map(
    x_name: str,
    x_values: list,
    y_name: str,
    y_values: list,
    z: np.ndarray,
    text: list[list[str]],
    title: str,
    scale_title: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    zrange: tuple[float, float] | None = None,
    titles: tuple[str, str] | None = None,
) -> go.Figure:
    """A sweep over two settings: a heatmap of z (len(y), len(x)), one cell per grid point with its value
    written in it, no result yet grey, the first value of y at the top. Over each cell an invisible marker,
    so that a click selects a grid point (Plotly selects points, not heatmap cells). `titles`: the axes'
    titles (default: the settings' names)."""
    x_title, y_title = titles or (x_name.replace("_", " "), y_name.replace("_", " "))
    xs, ys = [str(v) for v in x_values], [str(v) for v in y_values]
    finite = z[np.isfinite(z)]
    lo, hi = zrange or ((float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0))
    hover = f"{x_name} %{{x}}, {y_name} %{{y}}: %{{text}}<extra></extra>"
    traces = [
        dict(type="heatmap", x=xs, y=ys, z=np.where(np.isfinite(z), np.nan, 0.0), showscale=False,
             colorscale=[[0, "#dddddd"], [1, "#dddddd"]], hoverinfo="skip", xgap=2, ygap=2),
        dict(type="heatmap", x=xs, y=ys, z=z, zmin=lo, zmax=hi, colorscale="RdYlGn", text=text,
             texttemplate="%{text}", textfont=dict(size=style.font_size - 1, color="black"), xgap=2, ygap=2,
             colorbar=dict(title=dict(text=scale_title, side="right")), hovertemplate=hover),
        dict(type="scatter", mode="markers", x=[x for _ in ys for x in xs], y=[y for y in ys for _ in xs],
             text=[t for row in text for t in row], marker=dict(size=30, opacity=0), hovertemplate=hover,
             selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))),
    ]  # fmt: skip
    categories = dict(type="category", showgrid=False, zeroline=False)
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            title,
            key,
            showlegend=False,
            xaxis={**axis(x_title), **categories, "categoryarray": xs},
            yaxis={**y_axis(y_title), **categories, "categoryarray": ys, "autorange": "reversed"},
            clickmode="event+select",
            dragmode=False,
        ),
    )
