"""Gradient flow page: log10 ||dL/dh_t|| over time steps and training, per-parameter and global norms."""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnnviz import figures, ui

st.title("Gradient flow")
st.caption(
    "How much of the loss's gradient reaches each time step t. Dark at the bottom (t = 1) means the "
    "first rows of the digit no longer influence learning: the vanishing gradient."
)


def render(runs: list[ui.RunView]) -> None:
    style = ui.style()
    flows = [(r.label, *r.series("grad_h")) for r in runs]
    ui.chart(figures.gradient_heatmaps(flows, "gf-heat", style), "gf-heat")

    at = ui.step_slider([steps for _, steps, _ in flows], "Training step for the curve", "gf-step")
    if at is not None:
        curves = []
        for label, steps, flow in flows:
            if len(steps) == 0:
                continue
            j = ui.probe_index(steps, at)
            curves.append((f"{label} (step {int(steps[j])})", np.arange(1, flow.shape[1] + 1), flow[j]))
        ui.chart(
            figures.lines(
                curves,
                "||dL/dh_t|| against time step",
                "||dL/dh_t||",
                "gf-curve",
                style,
                log_y=True,
                xtitle="time step t",
            ),
            "gf-curve",
        )

    for r in runs:
        params = [n for n in r.scalar_names() if n.startswith("grad_norm/") and n != "grad_norm/global"]
        per = [(n.removeprefix("grad_norm/"), *r.scalar(n)) for n in params]
        c1, c2 = st.columns(2)
        with c1:
            ui.chart(
                figures.lines(
                    per, f"{r.label}: gradient norm per parameter", "||dL/dθ||", f"gf-param-{r.id}", style, log_y=True
                ),
                f"gf-param-{r.id}",
            )
        with c2:
            steps, norm = r.scalar("grad_norm/global")
            _, clipped = r.scalar("clipped")
            n = min(len(norm), len(clipped))
            ui.chart(
                figures.norm_with_clipping(
                    r.label, steps[:n], norm[:n], clipped[:n], r.cfg.clip, f"gf-global-{r.id}", style
                ),
                f"gf-global-{r.id}",
            )
            if r.cfg.clip > 0 and n:
                st.caption(f"Clipping at {r.cfg.clip:g} fired on {np.nanmean(clipped[:n]):.1%} of steps.")


ui.live(render)
