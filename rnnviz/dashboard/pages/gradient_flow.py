"""Gradient flow page: log10 ||dL/dh_t|| over time steps and training, per-parameter and global norms."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts
from rnnviz.dashboard import live, reads, shown

st.title("Gradient flow")
st.caption(
    "How much of the loss's gradient reaches each time step t. Dark at the bottom (t = 1) means the "
    "first rows of the digit no longer influence learning: the vanishing gradient."
)


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    # Cut at an earlier step (the scrubber, a replay), the heatmap keeps the whole runs' colour scale.
    whole = shown.runs_now(reads.store_path(), [r.id for r in runs]) if shown.shown_step() is not None else None
    zrange = charts.gradient_scale(whole) if whole else None
    live.live_chart("gf-heat", charts.gradient_flow, runs, style=style, zrange=zrange)
    live.live_chart("gf-curve", charts.gradient_curve, runs, style=style)
    for r in runs:
        c1, c2 = st.columns(2)
        with c1:
            live.live_chart(f"gf-param-{r.id}", charts.param_norms, [r], one=True, style=style)
        with c2:
            live.live_chart(f"gf-global-{r.id}", charts.global_norm, [r], one=True, style=style)
            share = charts.clipped_share(r)
            if share is not None:
                st.caption(f"Clipping at {r.cfg.clip:g} fired on {share:.1%} of steps.")


live.live(render)
