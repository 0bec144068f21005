"""Streamlit helpers shared by the pages: cached store reads, runs as the pages show them (at the step
shown or replayed), live refresh, chart output."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from . import livechart
from .config import RunConfig
from .figures import Style
from .livefeed import FEEDS, PREFIX, version_tag
from .store import UNFINISHED, Store, default_path

REFRESH_S = 1.0
# While the server feeds live charts (rnnviz/livefeed.py) they update themselves each second; the rest of a
# page (status lines, readings, tables) reruns this often, which costs a tab a rerun every 5 s, not every 1 s.
FED_REFRESH_S = 5.0
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


class Series:
    """One scalar's (steps, values), appended to in place: buffers grow by doubling, so a live refresh
    costs the rows it adds, not the run's length (a 10-minute run has 60,000 steps per scalar)."""

    def __init__(self) -> None:
        self.steps = np.zeros(1024, np.int64)
        self.values = np.zeros(1024)
        self.n = 0

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Append rows from steps[0] on, replacing any held at or after it (steps are sorted)."""
        self.n = int(np.searchsorted(self.steps[: self.n], steps[0]))
        end = self.n + len(steps)
        if end > len(self.steps):
            size = max(end, 2 * len(self.steps))
            self.steps = np.resize(self.steps, size)
            self.values = np.resize(self.values, size)
        self.steps[self.n : end], self.values[self.n : end] = steps, values
        self.n = end

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.steps[: self.n], self.values[: self.n]


class ScalarLog:
    """A run's scalars held in memory and topped up with only the rows committed since the last read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.series: dict[str, Series] = {}
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
                self.series.setdefault(str(name), Series()).extend(
                    rows["step"].to_numpy(), rows["value"].to_numpy(dtype=float)
                )
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


def _upto(steps: np.ndarray, until: int | None) -> slice:
    """The leading slice of sorted steps at or before `until` (all of them for None)."""
    return slice(None) if until is None else slice(int(np.searchsorted(steps, until, side="right")))


class RunView:
    """A selected run as the pages see it, as it was at training step `until` (None: as it is now): its row
    in the runs table and cached accessors. Cached reads hold every step; the cut is made here, so moving
    the step scrubber or a replay costs no store read."""

    def __init__(self, path: str, row: pd.Series, until: int | None = None) -> None:
        self.path = path
        self.id = int(row["run_id"])
        self.version = (int(row["step"]), str(row["status"]))
        self.until = until if until is not None and until < int(row["step"]) else None
        self.label = f"{self.id} · {row['name']}"
        self.cfg = config(path, self.id)
        self.row = row if self.until is None else self._row_at(row, self.until)

    def _row_at(self, row: pd.Series, step: int) -> pd.Series:
        """The row's summary numbers as they stood at `step`."""
        row = row.copy()
        acc = self.scalar("test_accuracy")[1]
        sat = self.series("sat_t")[1]
        row["step"] = step
        row["test_accuracy"] = float(acc[-1]) if len(acc) else np.nan
        row["saturated_fraction"] = float(sat[-1].mean()) if len(sat) else np.nan
        row["error"] = None
        return row

    @property
    def active(self) -> bool:
        return self.row["status"] in UNFINISHED

    def scalar_names(self) -> list[str]:
        return sorted(scalar_log(self.path, self.id, self.version).series)

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of one recorded scalar (empty arrays if none yet)."""
        held = scalar_log(self.path, self.id, self.version).series.get(name)
        steps, values = held.view() if held else (np.zeros(0, np.int64), np.zeros(0))
        cut = _upto(steps, self.until)
        return steps[cut], values[cut]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        steps, values = series(self.path, self.id, name, self.version)
        cut = _upto(steps, self.until)
        return steps[cut], values[cut]

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps, counts, edges = histograms(self.path, self.id, name, self.version)
        cut = _upto(steps, self.until)
        return steps[cut], counts[cut], edges


def run_label(runs: pd.DataFrame, run_id: int) -> str:
    row = runs.set_index("run_id").loc[run_id]
    return f"{run_id} · {row['name']} ({row['status']})"


@dataclass
class Replay:
    """A recorded run played back as if live: step 0 to `last` in `seconds` of wall time, from the moment the
    page's charts are on screen (`start`), so that a room sees it from its first step: a cold page takes
    seconds to load its charts, and a clock started at the click had played a third of a 10 s replay by
    then. A page whose charts never report (a browser that blocks them) starts it after WAIT_S anyway."""

    last: int
    seconds: float
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(8))

    WAIT_S = 10.0

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    @property
    def waiting(self) -> bool:
        if self.started is None and time.monotonic() - self.created > self.WAIT_S:
            self.start()
        return self.started is None

    def step(self) -> int:
        if self.waiting or self.started is None:  # (waiting implies the second; mypy cannot see it)
            return 0
        return min(self.last, int(self.last * (time.monotonic() - self.started) / self.seconds))

    @property
    def done(self) -> bool:
        return self.step() >= self.last


REPLAY_REFRESH_S = 0.5


def view_step() -> int | None:
    """The training step every chart shows: the replay's, the scrubber's, or None for the latest."""
    replay = st.session_state.get("replay")
    if replay is not None:
        return replay.step()
    return st.session_state.get("pinned_step")


def presenting() -> bool:
    return bool(st.session_state.get("present"))


def style() -> Style:
    return Style.for_talks(bool(st.session_state.get("large_fonts")) or presenting())


def runs_now(path: str, ids: Iterable[int], until: int | None = None) -> list[RunView]:
    """The runs with these ids (those that exist) as they are now, or as they were at step `until`."""
    table = runs_table(path).set_index("run_id", drop=False)
    return [RunView(path, table.loc[i], until) for i in ids if i in table.index]


def selected_runs() -> list[RunView]:
    return runs_now(store_path(), st.session_state.get("selected_runs", []), view_step())


def live(
    render: Callable[[list[RunView]], None],
    empty_hint: str = "",
    pick: Callable[[], list[RunView]] = selected_runs,
) -> None:
    """Render with the picked runs (those selected in the sidebar), re-rendering every second while any of
    them trains or a replay plays."""
    runs = pick()
    if not runs:
        st.info(empty_hint or "No run selected. Start one on the **Train** page, or pick runs in the sidebar.")
        return
    replaying = st.session_state.get("replay") is not None
    polling = any(r.active for r in runs) and st.session_state.get("live", True)
    every = REPLAY_REFRESH_S if replaying else (FED_REFRESH_S if feeding() else REFRESH_S) if polling else None

    @st.fragment(run_every=every)
    def body() -> None:
        fresh = pick()
        replay = st.session_state.get("replay")
        if replay is not None:
            step = replay.step()
            st.progress(step / max(replay.last, 1), text=f"Replay: step {step:,} of {replay.last:,}")
        st.session_state.pop("charts_shown", None)
        render(fresh)
        if replay is not None and replay.waiting and not st.session_state.get("charts_shown"):
            replay.start()  # nothing on this page to wait for
        if replay is not None and replay.done:
            st.session_state.pop("replay")
            st.rerun(scope="app")  # the replay reached the end: the scrubber and the URL catch up
        if polling and not any(r.active for r in fresh):
            st.rerun(scope="app")  # every run ended: redraw once more without polling

    body()


def _show(fig: go.Figure, key: str, feed: str | None = None, version: str | None = None, progress=None) -> None:
    """Draw a chart; while a replay waits for the page's charts, the chart says once it has drawn, and the
    first to say so starts the replay's clock."""
    replay = st.session_state.get("replay")
    ready = replay.token if replay is not None and replay.waiting else None
    st.session_state["charts_shown"] = True
    if livechart.show(fig, key, CHART_CONFIG, feed, version, progress, ready=ready) == ready and replay and ready:
        replay.start()


def chart(fig: go.Figure, key: str) -> None:
    """A chart that changes only when the page reruns."""
    _show(fig, key)


def feeding() -> bool:
    """Whether live charts can feed themselves: the server mounts the feed route at the site's root, so not
    under a base URL path."""
    return FEEDS.serving and not st.get_option("server.baseUrlPath")


def live_chart(key: str, view: Callable[..., go.Figure], runs: list[RunView], /, one: bool = False, **options) -> None:
    """The figure `view(runs, **options)` (`view(runs[0], ...)` with `one`), which, while any of the runs
    trains and the page shows the latest step, refreshes itself from the server every second."""
    fig = view(runs[0] if one else runs, **options)
    feed = version = progress = None
    if feeding() and st.session_state.get("live", True) and any(r.active for r in runs) and view_step() is None:
        path, ids = runs[0].path, tuple(r.id for r in runs)

        def source() -> tuple[tuple, int, Callable[[], str]]:
            now = runs_now(path, ids)

            def build() -> str:
                return view(now[0] if one else now, **options).to_json()

            return tuple(r.version for r in now), progress_of(now), build

        # One token per chart and recipe: a chart whose runs or options change gets a new feed, which tells its
        # frame to draw the page's figure instead of leaving the updates to the feed.
        recipe = (view.__module__, view.__qualname__, path, ids, one, tuple(sorted(options.items())))
        token = st.session_state.setdefault("feed_tokens", {}).setdefault((key, recipe), secrets.token_urlsafe(16))
        FEEDS.register(token, recipe, source)
        feed, version = PREFIX + token, version_tag((recipe, tuple(r.version for r in runs)))
        progress = progress_of(runs)
    _show(fig, key, feed, version, progress)


def progress_of(runs: list[RunView]) -> int:
    """How far a set of runs has got, a number that grows with every committed step and when a run ends: a
    live chart draws a figure only if it is ahead of the one it shows (web/livechart.html)."""
    return sum(2 * int(r.row["step"]) + (not r.active) for r in runs)
