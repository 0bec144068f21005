"""Gates page (LSTM and GRU runs): gate and cell-state histograms over training, per-step means, unit scatter."""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnnviz import figures, ui
from rnnviz.models import GATES

st.title("Gates")
st.caption(
    "What the LSTM does instead of saturating: gates that open and close. The scatter follows Karpathy et "
    "al. (2015): each dot is a unit, placed by how often its gate is shut (< 0.1) and wide open (> 0.9)."
)

GATE_NAMES = {
    "i": "input",
    "f": "forget",
    "g": "candidate (tanh)",
    "o": "output",
    "r": "reset",
    "z": "update",
    "n": "candidate (tanh)",
}


def render(runs: list[ui.RunView]) -> None:
    style = ui.style()
    gated = [r for r in runs if r.cfg.cell in ("lstm", "gru")]
    if not gated:
        st.info("None of the selected runs has gates: pick an LSTM or GRU run in the sidebar.")
        return
    run = st.selectbox("Run", gated, format_func=lambda r: r.label, key="gates-run")
    gates = GATES[run.cfg.cell]
    hists = {g: run.histograms(f"gate_{g}") for g in gates}
    steps = hists[gates[0]][0]
    if len(steps) == 0:
        st.info("No probe recorded yet.")
        return
    at = ui.step_slider([steps], "Training step", "gates-step")
    j = ui.probe_index(steps, at)
    means = [
        (
            f"{g} ({GATE_NAMES[g]})",
            np.arange(1, 1 + run.series(f"gate_mean_t/{g}")[1].shape[1]),
            run.series(f"gate_mean_t/{g}")[1][j],
        )
        for g in gates
    ]
    scatter = {g: run.series(f"unit_sat/{g}")[1][j] for g in gates if g not in ("g", "n")}
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(
            figures.lines(
                means,
                f"Mean gate value per time step (step {int(steps[j])})",
                "mean activation",
                "gates-mean",
                style,
                xtitle="time step t",
            ),
            "gates-mean",
        )
    with c2:
        ui.chart(
            figures.unit_saturation_scatter(
                scatter, f"Gate saturation per unit (step {int(steps[j])})", "gates-scatter", style
            ),
            "gates-scatter",
        )
    names = [*gates, "c"] if run.cfg.cell == "lstm" else list(gates)
    cols = st.columns(2)
    for k, g in enumerate(names):
        s, counts, edges = run.histograms("c") if g == "c" else hists[g]
        title = "Cell state c" if g == "c" else f"Gate {g} ({GATE_NAMES[g]})"
        with cols[k % 2]:
            ui.chart(
                figures.histogram_over_training(s, counts, edges, f"{title} over training", f"gates-h-{g}", style),
                f"gates-h-{g}",
            )


ui.live(render)
