"""Gradient flow page: log10 ||dL/dh_t|| over time steps and training, per-parameter and global norms, and
why it vanishes (the chain of Jacobians, its bound, the tanh slopes, the LSTM's cell-state path)."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, findings, words
from rnnviz.config import WATCHED
from rnnviz.dashboard import live, reads, shown

st.title("Gradient flow")
st.caption(
    "How much of the loss's gradient reaches each time step t. Dark at the bottom (t = 1) means the "
    "first rows of the digit no longer influence learning: the vanishing gradient."
)


def not_recorded(r: shown.ShownRun) -> str:
    """How to record the Jacobians a run did not, in the words of the way it was trained."""
    how = (
        "pass `jacobian_examples=1` to `rnnviz.watch(...)`"
        if r.cfg.dataset == WATCHED
        else "set *Jacobian examples* to 1 in the Train page's settings (or `--jacobian-examples 1`)"
    )
    return (
        "This run did not record its chain of Jacobians ||dh_T/dh_t|| (how much a change to the hidden state at "
        f"step t can still change it at t = T); {how} to record them."
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
                st.caption(f"Clipping at {r.cfg.clip:g} fired on {words.percent(share)} of steps.")
    st.subheader("Why it vanishes")
    st.caption(
        "The gradient reaching t = 1 is a product of one factor per step. In a vanilla RNN each factor is at most "
        "σ_max(W_hh) × the steepest tanh slope φ' (the dashed Pascanu bound): where tanh saturates, its slope is "
        "near 0 and the product collapses.",
        help=words.glossary("σ_max(W_hh)", "φ'", "Pascanu bound", "||dh_T/dh_1||")
        + "  \ndL/dh_t = (dh_T/dh_t)^T dL/dh_T, and dh_T/dh_t = ∏ diag(φ'(a_k)) W_hh. Every quantity measured, "
        "per cell, is in docs/why-it-vanishes.md",  # off the screen in a talk
    )
    for r in runs:
        reading = findings.why(r, runs)
        if reading:
            st.markdown(reading)
        c1, c2 = st.columns(2)
        with c1:
            live.live_chart(f"why-chain-{r.id}", charts.why_chain, [r], one=True, style=style)
            if r.cfg.jacobian_examples == 0:
                st.caption(not_recorded(r))
        with c2:
            live.live_chart(f"why-slope-{r.id}", charts.tanh_slope, [r], one=True, style=style)
    if any(r.cfg.cell in charts.PATH_GATES for r in runs):
        live.live_chart("why-paths", charts.gate_paths, runs, style=style)


live.live(render)
