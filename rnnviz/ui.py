"""Streamlit helpers shared by the pages: cached store reads, the run picker, live refresh, chart output."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from . import figures, livechart
from .config import RunConfig
from .figures import Style
from .store import ACTIVE, Store, StoreError, default_path

REFRESH_S = 1.0
CHART_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}


def store_path() -> str:
    return str(os.environ.get("RNNVIZ_STORE") or default_path())


# Reads are cached briefly so that many tabs polling at 1 s share one query. Per-run reads are keyed by
# the run's `version` (its step and status): a finished run is read once, a live one once per new commit.
# A live run's older versions are never asked for again, so the per-run caches stay small.
@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def runs_table(path: str) -> pd.DataFrame:
    with Store(path) as store:
        return store.runs()


@st.cache_data(ttl=10, show_spinner=False)
def store_readonly(path: str) -> bool:
    with Store(path) as store:
        return store.readonly


class ScalarLog:
    """A run's scalars held in memory and topped up with only the rows committed since the last read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.last_step = 0
        self.version: tuple | None = None

    def update(self, path: str, run_id: int, version: tuple) -> None:
        with self.lock:
            if version == self.version:
                return
            with Store(path) as store:
                # from the last step read, inclusive: the final probe may rewrite that step's values
                new = store.scalars(run_id, since=self.last_step - 1)
            for name, rows in new.groupby("name"):
                steps, values = rows["step"].to_numpy(), rows["value"].to_numpy(dtype=float)
                if name in self.series:
                    old_steps, old_values = self.series[name]
                    keep = old_steps < steps[0]
                    steps = np.concatenate([old_steps[keep], steps])
                    values = np.concatenate([old_values[keep], values])
                self.series[name] = (steps, values)
            if len(new):
                self.last_step = max(self.last_step, int(new["step"].max()))
            self.version = version


@st.cache_resource(show_spinner=False)
def _scalar_logs() -> tuple[threading.Lock, dict]:
    return threading.Lock(), {}


def scalar_log(path: str, run_id: int, version: tuple) -> ScalarLog:
    """The shared, incrementally read scalars of a run (one per server, shared by every tab)."""
    lock, logs = _scalar_logs()
    with lock:
        log = logs.setdefault((path, run_id), ScalarLog())
    log.update(path, run_id, version)
    return log


@st.cache_data(max_entries=64, show_spinner=False)
def series(path: str, run_id: int, name: str, version: tuple) -> tuple[np.ndarray, np.ndarray]:
    with Store(path) as store:
        return store.series(run_id, name)


@st.cache_data(max_entries=64, show_spinner=False)
def histograms(path: str, run_id: int, name: str, version: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with Store(path) as store:
        return store.histograms(run_id, name)


@st.cache_data(max_entries=64, show_spinner=False)
def config(path: str, run_id: int) -> RunConfig:
    with Store(path) as store:
        return store.config(run_id)


class RunView:
    """A selected run as the pages see it: its row in the runs table and cached accessors."""

    def __init__(self, path: str, row: pd.Series) -> None:
        self.path, self.row = path, row
        self.id = int(row["run_id"])
        self.version = (int(row["step"]), str(row["status"]))
        self.label = f"{self.id} · {row['name']}"
        self.cfg = config(path, self.id)

    @property
    def active(self) -> bool:
        return self.row["status"] in ACTIVE

    def scalar_names(self) -> list[str]:
        return sorted(scalar_log(self.path, self.id, self.version).series)

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of one recorded scalar (empty arrays if none yet)."""
        series = scalar_log(self.path, self.id, self.version).series
        return series.get(name, (np.zeros(0, np.int64), np.zeros(0)))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return series(self.path, self.id, name, self.version)

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return histograms(self.path, self.id, name, self.version)


def run_label(runs: pd.DataFrame, run_id: int) -> str:
    row = runs.set_index("run_id").loc[run_id]
    return f"{run_id} · {row['name']} ({row['status']})"


def sidebar() -> None:
    """Store location, the run picker shared by every page, and the large-fonts switch."""
    path = store_path()
    try:
        runs = runs_table(path)
    except StoreError as exc:
        st.sidebar.error(str(exc))
        st.stop()
    ids = runs["run_id"].tolist()
    if "select_next" in st.session_state:  # set by the Train page after starting runs
        st.session_state["selected_runs"] = st.session_state.pop("select_next")
    elif "selected_runs" not in st.session_state:
        st.session_state["selected_runs"] = ids[:2][::-1]
    st.session_state["selected_runs"] = [r for r in st.session_state["selected_runs"] if r in ids]
    st.sidebar.multiselect(
        "Runs shown",
        ids,
        key="selected_runs",
        format_func=lambda r: run_label(runs, r),
        help="The runs every page plots. Finished runs of earlier sessions are here too.",
    )
    chosen = runs[runs["run_id"].isin(st.session_state["selected_runs"])]
    last = int(chosen["total_steps"].max()) if len(chosen) else 0
    window = st.session_state.get("step_window")
    if window is None or tuple(window) == (0, st.session_state.get("step_window_last")) or window[1] > last:
        st.session_state["step_window"] = (0, last)  # all steps, also after the runs picked change
    st.session_state["step_window_last"] = last
    if last > 1:
        st.sidebar.slider(
            "Training steps shown",
            0,
            last,
            step=max(1, last // 200),
            key="step_window",
            help="Zoom every training-step axis; unlike a zoom made in a chart, it holds through live updates.",
        )
    st.sidebar.toggle(
        "Live updates",
        value=True,
        key="live",
        help="Redraw every second while a picked run trains. Pause to zoom into a chart: "
        "a redraw with new data resets the zoom.",
    )
    st.sidebar.toggle("Large fonts (for talks)", key="large_fonts")
    st.sidebar.caption(f"Store: `{path}`")
    # Streamlit fades every element while a fragment reruns; once a second that repaints every chart.
    st.html(
        "<style>[data-stale] { opacity: 1 !important; transition: none !important; }"
        "[data-testid=stStatusWidget] { display: none; }</style>"
    )
    if st.session_state.get("large_fonts"):
        st.html("<style>html, .stMarkdown, p, label { font-size: 22px !important; }</style>")


def style() -> Style:
    return Style.for_talks(bool(st.session_state.get("large_fonts")))


def selected_runs() -> list[RunView]:
    path = store_path()
    runs = runs_table(path).set_index("run_id", drop=False)
    return [RunView(path, runs.loc[r]) for r in st.session_state.get("selected_runs", []) if r in runs.index]


def live(render: Callable[[list[RunView]], None], empty_hint: str = "") -> None:
    """Render with the selected runs, re-rendering every second while any of them trains."""
    runs = selected_runs()
    if not runs:
        st.info(empty_hint or "No run selected. Start one on the **Train** page, or pick runs in the sidebar.")
        return
    polling = any(r.active for r in runs) and st.session_state.get("live", True)

    @st.fragment(run_every=REFRESH_S if polling else None)
    def body() -> None:
        fresh = selected_runs()
        render(fresh)
        if polling and not any(r.active for r in fresh):
            st.rerun(scope="app")  # every run ended: redraw once more without polling

    body()


def step_slider(steps_of_runs: list[np.ndarray], label: str, key: str) -> int | None:
    """A slider over every probe step of the given runs, starting at the latest."""
    options = sorted({int(s) for steps in steps_of_runs for s in steps})
    if not options:
        return None
    if len(options) == 1:
        return options[0]
    return st.select_slider(label, options, value=options[-1], key=key)


def step_window() -> tuple[int, int] | None:
    """The training steps picked in the sidebar, or None when all are shown."""
    window = st.session_state.get("step_window")
    return None if window is None or tuple(window) == (0, st.session_state.get("step_window_last")) else window


def chart(fig: go.Figure, key: str) -> None:
    window = step_window()
    if window:
        figures.step_window(fig, window)
    livechart.show(fig, key, CHART_CONFIG)
