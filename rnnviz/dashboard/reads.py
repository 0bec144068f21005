"""Cached reads of the run store, shared by every page and tab: the runs table, and each run's records
topped up incrementally while it trains."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import streamlit as st

from ..config import RunConfig
from ..store import Store, default_path

REFRESH_S = 1.0  # how often a page polls the store while a picked run trains


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

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
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
