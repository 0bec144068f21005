"""Runs as the pages show them: now, at the step the scrubber pins, or as a replay plays them back."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from ..figures import Style
from ..store import UNFINISHED, Status
from . import state
from .reads import config, histograms, runs_table, scalar_log, series, store_path


def _upto(steps: np.ndarray, until: int | None) -> slice:
    """The leading slice of sorted steps at or before `until` (all of them for None)."""
    return slice(None) if until is None else slice(int(np.searchsorted(steps, until, side="right")))


class ShownRun:
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
        steps, values = held.arrays() if held else (np.zeros(0, np.int64), np.zeros(0))
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


# A run's status in the pages' words, the same on every page (the store and the CLI keep Status's names).
STATUS_WORDS = {Status.WAITING: "waiting for a slot", Status.QUEUED: "starting", Status.RUNNING: "training"}


def status_text(status: str) -> str:
    return STATUS_WORDS.get(Status(status), str(status))


def run_label(runs: pd.DataFrame, run_id: int) -> str:
    row = runs.set_index("run_id").loc[run_id]
    return f"{run_id} · {row['name']} ({status_text(row['status'])})"


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

    WAIT_S = 30.0  # a loaded 2-core machine took 20-40 s to draw a cold presenter page

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    @property
    def waiting(self) -> bool:
        if self.started is None and time.monotonic() - self.created > self.WAIT_S:
            self.start()
        return self.started is None

    def step(self) -> int:
        if self.waiting or self.started is None:
            return 0
        return min(self.last, int(self.last * (time.monotonic() - self.started) / self.seconds))

    @property
    def done(self) -> bool:
        return self.step() >= self.last


def shown_step() -> int | None:
    """The training step every chart shows: the replay's, the scrubber's, or None for the latest."""
    replay = state.replay()
    if replay is not None:
        return replay.step()
    return state.pinned()


def presenting() -> bool:
    return bool(st.session_state.get(state.PRESENT))


def style() -> Style:
    large = bool(st.session_state.get(state.LARGE_FONTS)) or presenting()
    return Style.for_talks(large, samples=bool(st.session_state.get(state.SAMPLES)))


def runs_now(path: str, ids: Iterable[int], until: int | None = None) -> list[ShownRun]:
    """The runs with these ids (those that exist) as they are now, or as they were at step `until`."""
    table = runs_table(path).set_index("run_id", drop=False)
    return [ShownRun(path, table.loc[i], until) for i in ids if i in table.index]


def selected_runs() -> list[ShownRun]:
    return runs_now(store_path(), state.selected(), shown_step())
