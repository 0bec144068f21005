"""Overview page: loss, test accuracy and saturation of the selected runs, overlaid, with a plain reading."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, findings
from rnnviz.dashboard import live, shown

st.title("Overview")
st.caption("Training loss and test accuracy of the runs picked in the sidebar, updating live while they train.")


def status_line(r: shown.ShownRun) -> str:
    if r.until is not None:  # the step scrubber or a replay shows an earlier step
        return f"`{r.label}` {r.row['status']}; showing step {r.row['step']:,} of {r.row['total_steps']:,}"
    return f"`{r.label}` {r.row['status']}, step {r.row['step']} of {r.row['total_steps']}"


def render(runs: list[shown.ShownRun]) -> None:
    st.markdown("  \n".join(status_line(r) for r in runs))
    style = shown.style()
    if live.group_switch(runs, "ov-grouped"):
        cols = st.columns(2)
        for k, name in enumerate(("test_accuracy", "saturated", "loss")):
            with cols[k % 2]:
                live.live_chart(f"ov-{name}", charts.group_metric, runs, name=name, style=style)
    else:
        live.live_chart("overview", charts.overview, runs, style=style)
    st.subheader("Reading")
    for r in runs:
        st.markdown(findings.of(r))


live.live(render)
