"""Overview page: loss, test accuracy and saturation of the selected runs, overlaid, with a plain reading."""

from __future__ import annotations

import streamlit as st

from rnnviz import figures, ui
from rnnviz.findings import run_findings

st.title("Overview")
st.caption("Training loss and test accuracy of the runs picked in the sidebar, updating live while they train.")


def render(runs: list[ui.RunView]) -> None:
    style = ui.style()
    st.markdown(
        "  \n".join(f"`{r.label}` {r.row['status']}, step {r.row['step']} of {r.row['total_steps']}" for r in runs)
    )
    loss = [(r.label, *r.scalar("loss")) for r in runs]
    acc = [(r.label, *r.scalar("test_accuracy")) for r in runs]
    sat = [(r.label, *r.scalar("saturated")) for r in runs]
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(figures.lines(loss, "Training loss", "cross-entropy", "overview-loss", style), "overview-loss")
    with c2:
        ui.chart(figures.lines(acc, "Test accuracy", "accuracy", "overview-acc", style, markers=True), "overview-acc")
    ui.chart(
        figures.lines(
            sat, "Saturated hidden activations (|h| > threshold), all time steps", "fraction", "overview-sat", style
        ),
        "overview-sat",
    )
    st.subheader("Reading")
    for r in runs:
        flow = r.series("grad_h")[1]
        st.markdown(
            run_findings(
                r.label,
                r.scalars("saturated", "test_accuracy", "accuracy"),
                flow,
                r.row["status"],
                r.cfg.saturation,
                r.row["error"],
            )
        )


ui.live(render)
