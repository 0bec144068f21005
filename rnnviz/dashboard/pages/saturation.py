"""Saturation page: hidden-activation histograms at the step shown, saturation over training and per time step."""

from __future__ import annotations

import streamlit as st

from rnnviz import views
from rnnviz.dashboard import layout, live, shown
from rnnviz.views import layouts


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    which = st.radio(
        "Hidden state h",
        ["h_all", "h_last"],
        horizontal=True,
        key="sat-which",
        format_func=lambda n: views.hidden_label(n),
    )
    hists = [(r, *r.histograms(which)) for r in runs]
    hists = [h for h in hists if len(h[1])]
    if not hists:
        st.info("No probe recorded yet; the first arrives with the run's first step.")
        return
    edges = hists[0][3]
    options = sorted({round(float(e), 4) for e in edges if 0.5 <= e < 1.0})
    default = min(options, key=lambda e: abs(e - runs[0].cfg.saturation)) if options else 0.99
    threshold = st.select_slider("Saturation threshold |h| >", options or [0.99], value=default, key="sat-thr")
    layout.show(layouts.SATURATION, runs, style, which=which, threshold=threshold)
    for r in layouts.custom(runs):  # its pre-activations are its own: the tanh its step names instead
        st.caption(
            f"`{r.label}` is a custom cell: rnnviz records the saturation of h and of each tanh its step names "
            "with `rnnviz.tanh(a, 'name')`."
        )
        layout.show(layouts.SATURATION_NAMED, [r], style)
    # a watched model's layers and directions (the charts above: the top layer, forward)
    layout.show(layouts.SATURATION_LAYERS, runs, style, name="sat_t")
    # A switch, not an expander: a chart drawn inside a closed expander is laid out with no room for its text.
    if st.toggle("Animation over training (for talks)", key="sat-anim"):
        cols = st.columns(len(hists))
        for col, (r, *_) in zip(cols, hists):
            with col:
                live.chart(views.saturation_animation(r, which, style), f"sat-anim-{r.id}")


def main() -> None:
    """The page: its title and what it shows, then its charts, kept live."""
    st.title("Saturation")
    st.caption(
        "A tanh unit near ±1 passes almost no gradient (its slope is 1 − h²). Watch the RNN's activations pile up "
        "at the edges while the LSTM's stay inside."
    )
    live.live(render)


if __name__ == "__main__":
    main()
