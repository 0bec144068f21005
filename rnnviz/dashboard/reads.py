"""Cached reads of the run store, shared by every page and tab: the runs table, and each run's records at the
resolution the charts draw them, read again at each new commit while it trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ..buckets import Buckets
from ..config import RunConfig
from ..figures import MAX_POINTS
from ..store import Store, default_path

REFRESH_S = 1.0  # how often a page polls the store while a picked run trains


def store_path() -> str:
    return str(default_path())


# Reads are cached briefly so that many tabs polling at 1 s share one query. Per-run reads are keyed by
# the run's `version` (its step and status): a finished run is read once, a live one once per new commit.
# A live run's older versions are never asked for again, so the per-run caches stay small.
SNAPSHOT_S = 0.25


@st.cache_resource(ttl=SNAPSHOT_S, show_spinner=False)
def runs_table(path: str) -> pd.DataFrame:
    """The runs table as the store held it at most SNAPSHOT_S ago: one read shared by every session and thread,
    the same object for all, so callers only read it (pandas' copy-on-write keeps what they derive from it
    their own). Why not st.cache_data: it hands every caller its own unpickled copy, and a room of 50 tabs'
    fragments, each rereading the table every second, unpickled it 100 times a second (bench/bench_room.py)."""
    with Store(path) as store:
        return store.runs()


@st.cache_resource(ttl=SNAPSHOT_S, max_entries=512, show_spinner=False)
def run_row(path: str, run_id: int) -> pd.Series | None:
    """One run's row of the runs table (runs_table's snapshot), None for a run not in the store: each tab's
    status lines and sidebar read their runs' rows every second, and pandas' indexing of the whole table
    each time cost more than the read itself."""
    table = runs_table(path)
    hit = np.flatnonzero(table["run_id"].to_numpy() == run_id)
    return table.iloc[int(hit[0])] if len(hit) else None


@st.cache_data(ttl=10, show_spinner=False)
def store_readonly(path: str) -> bool:
    with Store(path) as store:
        return store.readonly


# A chart draws at most this many buckets a line (two points each: min and max), so a run's scalars cost the
# server the same whatever its length: each cached view holds at most VIEW_POINTS buckets.
VIEW_POINTS = MAX_POINTS // 2
VIEWS = 256  # cached views in all: a live run's older versions are never asked for again and age out


@st.cache_data(max_entries=VIEWS, show_spinner=False)
def scalar_view(
    path: str, run_id: int, name: str, version: tuple, steps: tuple[int, int] | None, points: int = VIEW_POINTS
) -> Buckets:
    """One scalar of a run over a range of steps (all of them for None), in at most `points` buckets, read from
    the store's levels: about `points` rows, whatever the run's length (Store.scalar_view)."""
    with Store(path) as store:
        return store.scalar_view(run_id, name, steps, points)


@st.cache_data(max_entries=64, show_spinner=False)
def scalar_names(path: str, run_id: int, version: tuple) -> list[str]:
    with Store(path) as store:
        return sorted(store.scalar_names(run_id))


@st.cache_data(max_entries=64, show_spinner=False)
def array_names(path: str, run_id: int, version: tuple) -> list[str]:
    with Store(path) as store:
        return store.array_names(run_id)


@st.cache_data(max_entries=64, show_spinner=False)
def series(path: str, run_id: int, name: str, version: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Kept per run version (step, status), and read up to its step: every array a page reads of one version is
    of the same probes. Read whole, an array read a moment after another had the next probe, and a chart titled
    with one's latest step drew the other's ("step 3,800" over step 3,700's Jacobians: a fresh-eyes walk)."""
    with Store(path) as store:
        return store.series(run_id, name, until=int(version[0]))


@st.cache_data(max_entries=64, show_spinner=False)
def histograms(path: str, run_id: int, name: str, version: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with Store(path) as store:
        return store.histograms(run_id, name, until=int(version[0]))  # as `series`


@st.cache_resource(max_entries=256, show_spinner=False)
def config(path: str, run_id: int) -> RunConfig:
    """A run's settings, one object shared by every session (the pages only read it)."""
    with Store(path) as store:
        return store.config(run_id)
