"""Histograms: at one step, animated over training, over training as a heatmap; the per-unit gate scatter."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .look import (
    DEFAULT_STYLE,
    MAX_COLUMNS,
    PERCENT,
    TITLE_STANDOFF,
    Histogram,
    Style,
    axis,
    base_layout,
    note,
    padded,
    subsample_columns,
    tidy_axes,
    y_axis,
)

TAIL_PX = 10  # the outline that widens a saturated bin's bar: at 200 bins over [-1, 1] a bin is 1-2 px wide


def saturated_share(edges: np.ndarray, counts: np.ndarray, threshold: float) -> float:
    """The share of values beyond +-threshold in one histogram: the bins whose centre lies beyond it."""
    centres = (edges[:-1] + edges[1:]) / 2
    total = counts.sum()
    return float(counts[np.abs(centres) > threshold].sum() / total) if total else 0.0


def share_text(share: float, threshold: float) -> str:
    """A saturated share as a chart writes it: 95.7% of |h| > 0.99."""
    return f"{share:.1%} of |h| > {threshold:g}"


def histogram_bars(
    runs: list[Histogram],
    title: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    threshold: float | None = None,
) -> go.Figure:
    """Side-by-side histograms (label, edges, counts, colour) as fractions. With a threshold, the bins beyond
    +-threshold are drawn TAIL_PX wider than they are (a saturated RNN's mass, in one bin of 1-2 px each side,
    read as an empty chart), dashed lines behind the bars mark it, and each panel writes its share in numbers."""
    fig = make_subplots(
        rows=1, cols=max(1, len(runs)), subplot_titles=[r[0] for r in runs] or [""], horizontal_spacing=0.08
    )
    for i, (label, edges, counts, colour) in enumerate(runs):
        total = counts.sum()
        frac = counts / total if total else counts
        centres = (edges[:-1] + edges[1:]) / 2
        tail = np.abs(centres) > threshold if threshold is not None else np.zeros(len(centres), bool)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=frac,
                width=np.diff(edges),
                name=label,
                marker=dict(color=colour, line=dict(color=colour, width=np.where(tail, TAIL_PX, 0))),
                showlegend=False,
                hovertemplate="%{x:.3f}: %{y:.2%}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
        top = float(frac.max()) if len(frac) and frac.max() > 0 else 1.0
        fig.update_yaxes(tickformat=PERCENT, range=[0, 1.3 * top], row=1, col=i + 1)  # room for the share
        fig.update_xaxes(**padded(edges), row=1, col=i + 1)
        if threshold is None:
            continue
        for x in (-threshold, threshold):
            if edges[0] <= x <= edges[-1]:
                fig.add_vline(x=x, line_dash="dash", line_color="grey", layer="below", row=1, col=i + 1)
        axes = dict(x=f"x{i + 1}" if i else "x", y=f"y{i + 1}" if i else "y")
        fig.add_annotation(
            text=f"<b>{share_text(saturated_share(edges, counts, threshold), threshold)}</b>",
            xref=f"{axes['x']} domain",
            yref=f"{axes['y']} domain",
            x=0.5,
            y=1,
            yanchor="top",
            showarrow=False,
            font=dict(size=style.font_size + 2, color="#222222"),
            bgcolor="rgba(255, 255, 255, 0.85)",
        )
    fig.update_annotations(font_size=style.font_size, selector=dict(yref="paper"))  # the panels' run labels
    if not runs:
        fig.update_yaxes(range=[0, 1], tickformat=PERCENT)
        fig.add_annotation(note("no probe yet", style))
    # the y labels stand a font's width off the axis: at large fonts the x axis' first label (-10 under the
    # pre-activations) reached under the y axis' 0%
    fig = tidy_axes(fig).update_yaxes(ticklabelstandoff=style.font_size)
    return fig.update_layout(base_layout(style, title, key, panels=True, bargap=0))


def _slider_labels(names: list[str], yshift: int) -> list[dict]:
    """A few of a slider's step names (the first, the last, evenly between) as annotations under its rail.
    Plotly labels every step or, to fit, every n-th: a crowd, or the wanted ones hidden. It places step k of
    n at 10 px + (width - 20 px) * k / (n - 1) from the left, so the label at that fraction of the paper is
    shifted by 10 * (1 - 2 * fraction) px."""
    shown = np.unique(np.linspace(0, len(names) - 1, min(len(names), 5)).round().astype(int))
    labels = []
    for k in shown:
        u = float(k / max(len(names) - 1, 1))
        labels.append(
            dict(
                text=names[k],
                xref="paper",
                x=u,
                xshift=10 * (1 - 2 * u),
                xanchor="center",
                yref="paper",
                y=0,
                yshift=yshift,
                yanchor="top",
                showarrow=False,
            )
        )
    return labels


def histogram_animation(
    label: str,
    steps: np.ndarray,
    counts: np.ndarray,
    edges: np.ndarray,
    title: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    frame_ms: int = 150,
    *,
    colour: str,
    threshold: float | None = None,
) -> go.Figure:
    """One histogram per probe step (of the run `title` names, drawn in `colour`), played as an animation
    (for talks). Under the axis, a slider with a few labelled steps, and under it Play and Pause; the step
    shown is in the title, which each frame sets. With a threshold, the bins beyond it are drawn TAIL_PX
    wider, as histogram_bars draws them, and each frame's title writes their share."""
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    tail = np.abs(centres) > threshold if threshold is not None else np.zeros(len(centres), bool)
    outline = dict(color=colour, width=np.where(tail, TAIL_PX, 0).tolist())
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 120)).round().astype(int))
    totals = np.maximum(counts.sum(1, keepdims=True), 1)
    fracs = counts / totals
    ymax = float(fracs.max()) if fracs.size else 1.0
    names = [str(int(steps[j])) for j in keep]

    def bar(j: int) -> dict:
        return dict(type="bar", x=centres, y=fracs[j], width=widths, name=title,
                    marker=dict(color=colour, line=outline))  # fmt: skip

    def heading(j: int) -> str:
        share = f"<br>{share_text(saturated_share(edges, counts[j], threshold), threshold)}" if threshold else ""
        return f"{title}: step {int(steps[j]):,}{share}"  # the share on a line of its own: a half page is narrow

    frames = [dict(name=name, data=[bar(j)], layout=dict(title=dict(text=heading(j)))) for name, j in zip(names, keep)]
    f = style.font_size
    layout = base_layout(
        style,
        heading(keep[-1]) if len(keep) else title,
        key,
        height=style.height + 4 * f + _slider_px(f) + int(1.6 * f) + 20,
        xaxis=axis(label, **padded(edges)),
        yaxis=y_axis("", range=[0, ymax * 1.05], tickformat=PERCENT),
        showlegend=False,
        **_player(names, f, frame_ms),
    )
    if threshold is not None:  # room for the title's second line
        layout["margin"] = {**layout["margin"], "t": layout["margin"]["t"] + int(1.3 * (f + 4))}
        layout["height"] += int(1.3 * (f + 4))
    return go.Figure(data=[bar(keep[-1])] if len(keep) else [], layout=layout, frames=frames)


RAIL_PX = 28  # an animation slider's rail and grip


def _slider_px(f: int) -> int:
    """The height of an animation's slider with its labels, at font size f."""
    return RAIL_PX + int(1.4 * f) + 8


def _player(names: list[str], f: int, frame_ms: int) -> dict:
    """An animation's controls under its x axis, at font size f: a slider over the frames `names`, a few of them
    labelled, the last one shown, and under it Play and Pause."""
    go_to = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    play = dict(
        label="Play",
        method="animate",
        args=[None, dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True, transition=dict(duration=0))],
    )
    pause = dict(label="Pause", method="animate", args=[[None], go_to])
    below_axis = int(2.6 * f) + 2 * TITLE_STANDOFF  # the axis' tick labels and title
    return dict(
        annotations=_slider_labels([f"{int(n):,}" for n in names], -(below_axis + RAIL_PX)),
        sliders=[
            dict(
                active=len(names) - 1,
                currentvalue=dict(visible=False),
                x=0,
                len=1,
                y=0,
                yanchor="top",
                pad=dict(t=below_axis, b=0, l=0, r=0),
                ticklen=0,  # a tick for each of up to 120 frames was a smear
                minorticklen=0,
                steps=[dict(label="", value=n, method="animate", args=[[n], go_to]) for n in names],
            )
        ],
        updatemenus=[
            dict(
                type="buttons",
                buttons=[play, pause],
                direction="right",
                showactive=False,
                x=0,
                xanchor="left",
                y=0,
                yanchor="top",
                pad=dict(t=below_axis + _slider_px(f), l=0),
            )
        ],
    )


def histogram_over_training(
    steps: np.ndarray, counts: np.ndarray, edges: np.ndarray, title: str, key: str, style: Style = DEFAULT_STYLE
) -> go.Figure:
    """Each probe step's histogram as a column: value up, training step across, share of values as colour."""
    totals = np.maximum(counts.sum(1, keepdims=True), 1)
    s, m = subsample_columns(steps, counts / totals, MAX_COLUMNS)
    zmax = float(np.quantile(m, 0.99)) if m.size else 1.0  # a few spiky bins must not wash out the rest
    fig = go.Figure(
        go.Heatmap(
            x=s,
            y=(edges[:-1] + edges[1:]) / 2,
            z=m.T,
            colorscale="Magma",
            zmin=0,
            zmax=zmax,
            colorbar=dict(title="share", tickformat=PERCENT),
            hovertemplate=f"{style.step_title} %{{x}}<br>value %{{y:.2f}}<br>%{{z:.1%}}<extra></extra>",
        )
    )
    return fig.update_layout(base_layout(style, title, key, xaxis=axis(style.step_title), yaxis=y_axis("value")))


def unit_saturation_scatter(
    gates: list[tuple[str, np.ndarray, str]],
    title: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    xtitle: str = "fraction of time left-saturated (< 0.1)",
    ytitle: str = "fraction of time right-saturated (> 0.9)",
    named: str = "gate {}",
) -> go.Figure:
    """Karpathy et al. 2015: per unit, fraction of time left-saturated (x) vs right-saturated (y); one
    (name, (2, H) fractions, colour) per gate (or per run: `named` formats the legend's name)."""
    traces = [
        dict(
            type="scatter",
            x=a[0],
            y=a[1],
            mode="markers",
            name=named.format(gate),
            marker=dict(color=colour, size=8, opacity=0.75),
            hovertemplate="unit %{pointNumber}<br>left %{x:.2f}, right %{y:.2f}<extra></extra>",
        )
        for gate, a, colour in gates
    ]
    traces.append(
        dict(
            type="scatter",
            x=[1, 0],
            y=[0, 1],
            mode="lines",
            line=dict(color="grey", dash="dot"),
            showlegend=False,
            hoverinfo="skip",
        )
    )
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            title,
            key,
            # Square and 0..1 on both axes: a wide figure narrows the plot (constrain="domain") rather than
            # stretching the x range (-1.7 to 2.7 in a report's full width).
            xaxis=axis(xtitle, range=[-0.02, 1.02], constrain="domain"),
            yaxis=y_axis(ytitle, range=[-0.02, 1.02], scaleanchor="x", constrain="domain"),
        ),
    )
