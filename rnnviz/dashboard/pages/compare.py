"""Compare page: any recorded metric of two or more runs on the same axes, and their settings side by side."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from rnnviz import findings, views, words
from rnnviz.api import Run
from rnnviz.config import EXECUTION_ONLY, TEST_HEADS, RunConfig
from rnnviz.dashboard import layout, live, reads, shown
from rnnviz.figures import MISSING
from rnnviz.report import html_report
from rnnviz.store import Store
from rnnviz.views import layouts


def latest(run: shown.ShownRun, name: str) -> str:
    """A scalar's latest value as a percentage, or a dash."""
    values = run.scalar(name)[1]
    return words.percent(values[-1]) if len(values) else MISSING


def settings_table(runs: list[shown.ShownRun]) -> pd.DataFrame:
    """The settings in which the runs differ, in words (a dash where a run does not read one, as an RNN its
    forget-gate bias), and how each run ended."""
    names = [f.name for f in dataclasses.fields(RunConfig) if f.name not in EXECUTION_ONLY]
    df = pd.DataFrame({r.label: [words.setting_value(r.cfg, n) for n in names] for r in runs}, index=names)
    out = df[df.nunique(axis=1) > 1]
    out.index = [words.setting(n) for n in out.index]
    out.loc["status"] = [shown.status_of(r) for r in runs]
    out.loc["step reached"] = [words.step(r.row["step"]) for r in runs]
    out.loc["test accuracy"] = [words.percent(r.row["test_accuracy"]) for r in runs]
    for k in TEST_HEADS:
        out.loc[f"test accuracy, first {k} digits"] = [latest(r, f"test_accuracy_{k}") for r in runs]
    out.loc["validation accuracy"] = [latest(r, "validation_accuracy") for r in runs]
    out.loc["saturated (|h| > threshold)"] = [words.percent(findings.saturated(r)) for r in runs]
    return out


def report_bytes(path: str, run_ids: list[int]) -> bytes:
    """Built only when the button is clicked (Streamlit's deferred download)."""
    with Store(path) as store:
        return html_report([Run(store, i) for i in run_ids]).encode()


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    st.dataframe(settings_table(runs), height="content")  # every row: "auto" shows ten and cut the rest
    ids = [r.id for r in runs]
    st.download_button(
        "Download as an HTML report",
        data=lambda: report_bytes(reads.store_path(), ids),
        file_name=f"rnnviz-runs-{'-'.join(map(str, ids))}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
        help="One file with these runs' figures (interactive), settings and readings; opens with no server "
        "and no network",
    )
    names = sorted(set().union(*(r.scalar_names() for r in runs)))
    defaults = [n for n in (findings.evaluated(runs[0]), "saturated", "grad_h_ratio") if n in names]
    chosen = st.multiselect(
        "Metrics",
        names,
        default=defaults,
        key="cmp-metrics",
        format_func=lambda name: views.metric_titles(name, runs[0].cfg)[0],  # in words, as the charts title them
    )
    grouped = live.group_switch(runs, "cmp-grouped")
    slot = layouts.COMPARE_GROUPED if grouped else layouts.COMPARE_METRIC
    cols = st.columns(2)
    for k, name in enumerate(chosen):
        with cols[k % 2]:
            layout.draw(slot, runs, style, {"name": name})
    layout.show(layouts.COMPARE_FLOW, runs, style, key="cmp-flow")


def main() -> None:
    """The page: its title and what it shows, then its charts, kept live."""
    st.title("Compare")
    st.caption("Runs picked in the sidebar, from this session or earlier ones, on the same axes.")
    live.live(render, "Pick two or more runs in the sidebar to compare them.")


if __name__ == "__main__":
    main()
