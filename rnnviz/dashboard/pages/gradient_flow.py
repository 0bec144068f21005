"""Gradient flow page: log10 ||dL/dh_t|| over time steps and training, per-parameter and global norms, and
why it vanishes (the chain of Jacobians, its bound, the tanh slopes, the LSTM's cell-state path)."""

from __future__ import annotations

import streamlit as st

from rnnviz import findings, views, words
from rnnviz.config import WATCHED
from rnnviz.dashboard import layout, live, reads, shown
from rnnviz.views import layouts


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


def chart_note(r: shown.ShownRun, _runs: list[shown.ShownRun]) -> str | None:
    """A reading's second part, live.readings' way: the probe its run's chart draws (findings.chart_note)."""
    return findings.chart_note(r)


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    # Cut at an earlier step (the scrubber, a replay), the heatmap keeps the whole runs' colour scale.
    whole = shown.runs_now(reads.store_path(), [r.id for r in runs]) if shown.shown_step() is not None else None
    zrange = views.gradient_scale(whole) if whole else None
    layout.show(layouts.GRADIENT_FLOW, runs, style, zrange=zrange)
    layers_and_outputs(runs, style)
    xspan = views.shared_span(runs, style)  # each run's charts over training: the furthest run's steps
    for r in runs:
        layout.show(layouts.GRADIENT_FLOW_NORMS, [r], style, xspan=xspan)
        share = views.clipped_share(r)
        if share is not None:
            st.caption(f"Clipping at {r.cfg.clip:g} fired on {words.percent(share)} of steps.")
    st.subheader("Why it vanishes")
    st.caption(
        "The gradient reaching t = 1 is a product of one factor per step. In a vanilla RNN each factor is at most "
        "σ_max(W_hh) × the steepest tanh slope φ' (the dashed Pascanu bound): where tanh saturates, its slope is "
        "near 0 and the product collapses. Each reading below quotes the median of its run's last "
        f"{findings.RECENT} probes, which holds still while a run trains, and then the one probe its chart draws "
        "(the step in the chart's title), whose numbers can differ from the median by decades.",
        help=words.glossary("σ_max(W_hh)", "φ'", "Pascanu bound", "||dh_T/dh_1||")
        + "  \ndL/dh_t = (dh_T/dh_t)^T dL/dh_T, and dh_T/dh_t = ∏ diag(φ'(a_k)) W_hh. Every quantity measured, "
        "per cell, is in docs/why-it-vanishes.md",  # off the screen in a talk
    )
    notes = live.readings(runs, chart_note)
    for r, reading, note in zip(runs, live.readings(runs, findings.why_reading), notes, strict=True):
        if reading:
            st.markdown(f"{reading} {note or ''}")
        # drawn with the reading above it, from the same records: fed, the chart ran a probe or two ahead of the
        # text quoting it while the run trained ("step 2,600" over a chart of step 2,800: a fresh-eyes walk)
        layout.show(layouts.WHY_OF_RUN, [r], style, fed=False, xspan=xspan)
        if r.cfg.jacobian_examples == 0:
            st.caption(not_recorded(r))
    layout.show(layouts.WHY_PATHS, runs, style)


def layers_and_outputs(runs: list[shown.ShownRun], style) -> None:
    """For watched models with several layers or directions, or an output at every step: depth and time together,
    and the gradient split by where it comes from; each run these do not apply to says so."""
    layered, parted = layouts.layered(runs), layouts.parted(runs)
    if not layered and not parted:
        return
    st.subheader("Layers, directions and outputs")
    st.caption(
        "The charts above show the layer the head reads (the top one, forward); here every layer and direction, "
        "counted from 1 at the input. A backward direction runs on its own time axis: its t = 1 reads the "
        "sequence's last position."
    )
    for r in runs:
        if r in layered:  # the page's width: a row per layer and direction, and a line each
            layout.show(layouts.GRADIENT_FLOW_LAYERS, [r], style)
        else:
            st.caption(f"`{r.label}`: {views.ONE_STREAM}.")
    if parted:
        st.caption(
            "With an output and a loss at every step, the gradient reaching h_t is mostly the loss at t itself; "
            "the part from later steps, and the loss at the last step alone (||dL_T/dh_t||), are the long-range "
            "gradient that vanishes."
        )
        layout.show(layouts.GRADIENT_FLOW_PARTS, parted, style)
    for r in runs:
        if r not in parted:
            st.caption(f"`{r.label}`: {views.LAST_ONLY}, so there are no parts to tell apart.")


def main() -> None:
    """The page: its title and what it shows, then its charts, kept live."""
    st.title("Gradient flow")
    st.caption(
        "How much of the loss's gradient reaches each time step t. Dark at the bottom (t = 1) means the "
        "first rows of the digit no longer influence learning: the vanishing gradient. The colours span 6 decades "
        "below the largest gradient; grey is further below, black exactly 0 (underflowed)."
    )
    live.live(render)


if __name__ == "__main__":
    main()
