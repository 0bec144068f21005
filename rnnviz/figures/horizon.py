"""The memory horizon: each cell's final score against the length it had to remember over, mean over seeds with
its band, the baseline and the line a seed must cross, and published results beside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .groups import _rgba
from .look import DEFAULT_STYLE, PERCENT, Style, axis, base_layout, log_axis, y_axis

SYMBOLS = ("x-open", "square-open", "diamond-open")  # the published results, one symbol each


@dataclass(frozen=True)
class Cell:
    """One cell's results: lengths (L,), the mean and band (min to max) over seeds, 'k of n' seeds that beat the
    task at each length, and the run ids behind each point (for a click)."""

    label: str
    colour: str
    lengths: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    beat: list[str]
    runs: list[list[int]]


@dataclass(frozen=True)
class Reference:
    """A published result drawn beside ours: a model that stayed at the baseline at these lengths."""

    label: str
    lengths: tuple[int, ...]
    value: float


def memory_horizon(
    cells: list[Cell],
    regression: bool,
    baseline: float,
    threshold: float,
    length_title: str,
    key: str,
    references: tuple[Reference, ...] = (),
    style: Style = DEFAULT_STYLE,
) -> go.Figure:
    """Score against length, log-log for the adding problem's MSE (lower is better) and log-linear for a
    classifier's accuracy: each cell's mean over seeds with its band and, on hover, how many seeds beat the
    task; the baseline (predicting 1: 0.167, or chance: 10%) dashed, the line a seed must cross dotted."""
    traces = []
    for c in cells:
        colour = c.colour
        shade = dict(color=_rgba(colour, 0.0), width=0)
        hover = [f"{c.label}, length {int(t)}: mean %{{y:.3g}}, {b} seeds beat it" for t, b in zip(c.lengths, c.beat)]
        traces += [
            dict(type="scatter", x=c.lengths, y=c.lo, mode="lines", line=shade, showlegend=False, hoverinfo="skip"),
            dict(type="scatter", x=c.lengths, y=c.hi, mode="lines", line=shade, fill="tonexty",
                 fillcolor=_rgba(colour, 0.18), showlegend=False, hoverinfo="skip"),
            dict(type="scatter", x=c.lengths, y=c.mean, mode="lines+markers+text", name=c.label,
                 text=c.beat, textposition="top center", customdata=[",".join(map(str, r)) for r in c.runs],
                 hovertemplate=[h + "<extra></extra>" for h in hover], line=dict(color=colour, width=3),
                 marker=dict(size=10), cliponaxis=False),
        ]  # fmt: skip
    for j, r in enumerate(references):
        traces.append(
            dict(type="scatter", x=list(r.lengths), y=[r.value] * len(r.lengths), mode="markers", name=r.label,
                 marker=dict(symbol=SYMBOLS[j % len(SYMBOLS)], size=12 + 4 * j, color="#555555"),
                 hovertemplate=r.label + "<extra></extra>")
        )  # fmt: skip
    drawn = [c.lengths for c in cells] + [np.asarray(r.lengths, float) for r in references]
    lengths = np.concatenate(drawn or [np.ones(1)])
    x0, x1 = float(np.min(lengths)), float(np.max(lengths))
    lines = [
        ("baseline: predicting 1" if regression else "chance", baseline, "dash"),
        ("beats it below this" if regression else "beats it above this", threshold, "dot"),
    ]
    shapes = [
        dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=dict(color="#444444", width=2, dash=d))
        for _, y, d in lines
    ]
    # an annotation on a log axis is placed in decades, a shape in data units
    notes = [
        dict(text=f"{t} ({y:.3g})" if regression else f"{t} ({y:.0%})", xref="paper", x=0, xanchor="left",
             y=np.log10(y) if regression else y, yanchor="bottom" if d == "dash" else "top", showarrow=False,
             font=dict(size=style.font_size - 1, color="#444444"), bgcolor="rgba(255,255,255,0.8)")
        for t, y, d in lines
    ]  # fmt: skip
    if regression:
        values = np.concatenate([c.lo for c in cells] + [[baseline]])
        finite = values[np.isfinite(values) & (values > 0)]
        low = max(float(finite.min()) / 2, 1e-6) if finite.size else 1e-4
        yaxis = {**log_axis("test MSE (lower is better)"), "range": [np.log10(low), np.log10(baseline * 2)]}
    else:
        yaxis = y_axis("test accuracy", tickformat=PERCENT, range=[0, 1.05])
    ticks = sorted(set(lengths.tolist()))
    xaxis = axis(length_title, type="log", range=[np.log10(x0 / 1.3), np.log10(x1 * 1.3)], tickvals=ticks)
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            "Score against length: mean over seeds, band min to max",
            key,
            xaxis=xaxis,
            yaxis=yaxis,
            shapes=shapes,
            annotations=notes,
            clickmode="event+select",
        ),
    )
