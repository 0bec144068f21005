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
    panels = [
        ("training loss", [(r.label, *r.scalar("loss")) for r in runs], False),
        ("test accuracy", [(r.label, *r.scalar("test_accuracy")) for r in runs], True),
        ("saturated |h|", [(r.label, *r.scalar("saturated")) for r in runs], False),
    ]
    title = "Training loss, test accuracy and saturated hidden activations (all time steps)"
    ui.chart(figures.stacked_panels(panels, title, "overview", style), "overview")
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
