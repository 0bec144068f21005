"""Overview page: loss, test accuracy and saturation of the selected runs, overlaid, with a plain reading."""

from __future__ import annotations

import streamlit as st

from rnnviz import ui, views
from rnnviz.findings import reading

st.title("Overview")
st.caption("Training loss and test accuracy of the runs picked in the sidebar, updating live while they train.")


def render(runs: list[ui.RunView]) -> None:
    st.markdown(
        "  \n".join(f"`{r.label}` {r.row['status']}, step {r.row['step']} of {r.row['total_steps']}" for r in runs)
    )
    ui.chart(views.overview(runs, ui.style()), "overview")
    st.subheader("Reading")
    for r in runs:
        st.markdown(reading(r))


ui.live(render)
