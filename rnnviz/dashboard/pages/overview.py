"""Overview page: loss, test accuracy and saturation of the selected runs, overlaid, with a plain reading."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, findings
from rnnviz.dashboard import live, shown

# Presenter mode hides the sidebar, so its caption does not send the room there; and it gives the chart the
# screen: the run lines go under it, and the chart grows to the fold (three panels of ~85 px were cramped).
PRESENTER_HEIGHT = 680  # px: the chart starts ~200 px down, under the title and caption, and ends above 900
st.title("Overview")
if shown.presenting():
    st.caption("Training loss, test accuracy and saturation, updating live while the runs train.")
else:
    st.caption("Training loss and test accuracy of the runs picked in the sidebar, updating live while they train.")


def status_line(r: shown.ShownRun) -> str:
    if r.until is not None:  # the step scrubber or a replay shows an earlier step
        return f"`{r.label}` {r.row['status']}; showing step {r.row['step']:,} of {r.row['total_steps']:,}"
    return f"`{r.label}` {r.row['status']}, step {r.row['step']} of {r.row['total_steps']}"


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    if shown.presenting():
        live.live_chart("overview", charts.overview, runs, style=style, height=PRESENTER_HEIGHT)
        st.markdown("  \n".join(status_line(r) for r in runs))
    else:
        st.markdown("  \n".join(status_line(r) for r in runs))
        overview_or_groups(runs, style)
    st.subheader("Reading")
    for r in runs:
        st.markdown(findings.of(r))


def overview_or_groups(runs: list[shown.ShownRun], style) -> None:
    """The Overview's chart, or, with the switch on, each group of seeds as its mean with a band."""
    if live.group_switch(runs, "ov-grouped"):
        cols = st.columns(2)
        for k, name in enumerate(("test_accuracy", "saturated", "loss")):
            with cols[k % 2]:
                live.live_chart(f"ov-{name}", charts.group_metric, runs, name=name, style=style)
    else:
        live.live_chart("overview", charts.overview, runs, style=style)


live.live(render)
