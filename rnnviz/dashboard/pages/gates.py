"""Gates page (LSTM and GRU runs): gate and cell-state histograms over training, per-step means, unit scatter."""

from __future__ import annotations

import streamlit as st

from rnnviz import views
from rnnviz.dashboard import layout, live, shown
from rnnviz.views import layouts


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    gated = [r for r in runs if views.gates_of(r)]
    if not gated:
        custom = " (a custom cell's gates are its own: rnnviz records the tanh its step names)"
        st.info(
            "None of the selected runs has gates: pick an LSTM or GRU run in the sidebar"
            + (custom if any(r.cfg.cell == "custom" for r in runs) else "")
            + "."
        )
        return
    run = st.selectbox("Run", gated, format_func=lambda r: r.label, key="gates-run")
    if not layouts.gate_probed([run]):
        st.info("No probe recorded yet.")
        return
    streams = views.layers.streams_in(run)
    if len(streams) > 1:  # a watched model's other layers and directions record no gates of their own
        layers = len({s.removesuffix("r") for s in streams})
        both = any(s.endswith("r") for s in streams)
        shape = f"{layers} layer{'s' if layers > 1 else ''}" + (", read in both directions" if both else "")
        st.caption(
            f"This model has {shape}: the gates below are its top layer's, read forward. The Gradient flow and "
            "Saturation pages draw every layer and direction."
        )
    layout.show(layouts.GATES, [run], style)
    cols = st.columns(2)
    for k, name in enumerate(views.histogrammed_gates(run)):
        with cols[k % 2]:
            layout.draw(layouts.GATE_HISTOGRAM, [run], style, {"name": name})


def main() -> None:
    """The page: its title and what it shows, then its charts, kept live."""
    st.title("Gates")
    st.caption(
        "What the LSTM does instead of saturating: gates that open and close. The scatter follows Karpathy et "
        "al. (2015): each dot is a unit, placed by how often its gate is shut (< 0.1) and wide open (> 0.9)."
    )
    live.live(render)


if __name__ == "__main__":
    main()
