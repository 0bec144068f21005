"""Saturation page: hidden-activation histograms at a chosen step, saturation over training and per time step."""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnnviz import figures, ui

st.title("Saturation")
st.caption(
    "A tanh unit near +-1 passes almost no gradient (tanh' = 1 - h^2). Watch the RNN's activations pile up "
    "at the edges while the LSTM's stay inside."
)


def beyond(edges: np.ndarray, counts: np.ndarray, threshold: float) -> np.ndarray:
    """Share of values with |x| beyond threshold, from histogram counts (P, bins)."""
    centres = (edges[:-1] + edges[1:]) / 2
    mask = np.abs(centres) > threshold
    return counts[:, mask].sum(1) / np.maximum(counts.sum(1), 1)


def render(runs: list[ui.RunView]) -> None:
    style = ui.style()
    which = st.radio(
        "Hidden state h",
        ["h_all", "h_last"],
        horizontal=True,
        key="sat-which",
        format_func=lambda n: {"h_all": "all time steps", "h_last": "last time step"}[n],
    )
    hists = [(r, *r.histograms(which)) for r in runs]
    hists = [h for h in hists if len(h[1])]
    if not hists:
        st.info("No probe recorded yet; the first arrives with the run's first step.")
        return
    c1, c2 = st.columns(2)
    with c1:
        at = ui.step_slider([h[1] for h in hists], "Training step", "sat-step")
    with c2:
        edges = hists[0][3]
        options = sorted({round(float(e), 4) for e in edges if 0.5 <= e < 1.0})
        default = min(options, key=lambda e: abs(e - runs[0].cfg.saturation)) if options else 0.99
        threshold = st.select_slider("Saturation threshold |h| >", options or [0.99], value=default, key="sat-thr")
    bars = [
        (f"{r.label} (step {int(steps[ui.probe_index(steps, at)])})", e, counts[ui.probe_index(steps, at)])
        for r, steps, counts, e in hists
    ]
    ui.chart(
        figures.histogram_bars(
            bars,
            f"Hidden activations h ({'all steps' if which == 'h_all' else 'last step'})",
            "sat-hist",
            style,
            threshold=threshold,
        ),
        "sat-hist",
    )
    over = [(r.label, steps, beyond(e, counts, threshold)) for r, steps, counts, e in hists]
    per_t = []
    for r in runs:
        steps, sat_t = r.series("sat_t")
        if len(steps):
            j = ui.probe_index(steps, at)
            per_t.append((f"{r.label} (step {int(steps[j])})", np.arange(1, sat_t.shape[1] + 1), sat_t[j]))
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(
            figures.lines(over, f"Share of |h| > {threshold:g} over training", "fraction", "sat-over", style),
            "sat-over",
        )
    with c2:
        ui.chart(
            figures.lines(
                per_t,
                f"Saturated share per time step (|h| > {runs[0].cfg.saturation:g})",
                "fraction",
                "sat-per-t",
                style,
                xtitle="time step t",
            ),
            "sat-per-t",
        )
    pre = [(r, *r.histograms("preact")) for r in runs]
    pre = [(f"{r.label}", e, counts[ui.probe_index(steps, at)]) for r, steps, counts, e in pre if len(steps)]
    ui.chart(
        figures.histogram_bars(
            pre, "Pre-activations of the cell's tanh (outer bins collect |a| > 10)", "sat-preact", style
        ),
        "sat-preact",
    )
    with st.expander("Animation over training (for talks)"):
        cols = st.columns(len(hists))
        for col, (r, steps, counts, e) in zip(cols, hists):
            with col:
                ui.chart(
                    figures.histogram_animation("h", steps, counts, e, r.label, f"sat-anim-{r.id}", style),
                    f"sat-anim-{r.id}",
                )


ui.live(render)
