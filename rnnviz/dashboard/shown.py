"""Runs as the pages show them: now, at the step the scrubber pins, or as a replay plays them back."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from ..buckets import Buckets
from ..figures import Style
from ..store import UNFINISHED, Status
from . import state
from .reads import (
    VIEW_POINTS,
    array_names,
    config,
    histograms,
    run_row,
    scalar_names,
    scalar_view,
    series,
    store_path,
)


def _upto(steps: np.ndarray, until: int | None) -> slice:
    """The leading slice of sorted steps at or before `until` (all of them for None)."""
    return slice(None) if until is None else slice(int(np.searchsorted(steps, until, side="right")))


class ShownRun:
    """A selected run as the pages see it, as it was at training step `until` (None: as it is now), its scalars
    over the `window` of steps a zoomed chart shows (None: all of them): its row in the runs table and cached
    accessors. Scalars are read at the resolution charts draw them (reads.scalar_view); arrays, one per probe,
    are held whole and cut here, so moving the step scrubber or a replay costs no store read for them."""

    def __init__(
        self,
        path: str,
        row: pd.Series,
        until: int | None = None,
        window: tuple[int, int] | None = None,
        samples: bool = False,
    ) -> None:
        """`window` is in training steps, or with `samples` in samples seen (a chart's x axis counts either)."""
        self.path = path
        self.id = int(row["run_id"])
        self.version = (int(row["step"]), str(row["status"]))
        self.until = until if until is not None and until < int(row["step"]) else None
        self.label = f"{self.id} · {row['name']}"
        self.cfg = config(path, self.id)
        if window is not None and samples:
            window = (window[0] // self.cfg.batch_size, -(-window[1] // self.cfg.batch_size))
        self.window = window
        self.row = row if self.until is None else self._row_at(row, self.until)

    def _row_at(self, row: pd.Series, step: int) -> pd.Series:
        """The row's summary numbers as they stood at `step`."""
        row = row.copy()
        acc = self.scalar_view("test_accuracy", points=1).last
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
        return scalar_names(self.path, self.id, self.version)

    def scalar_view(self, name: str, steps: tuple[int, int] | None = None, points: int = VIEW_POINTS) -> Buckets:
        """One scalar in at most `points` buckets over `steps` (default: the chart's window, else every step),
        up to `until`."""
        steps = steps or self.window
        if self.until is not None:
            steps = (steps[0] if steps else 0, min(steps[1], self.until) if steps else self.until)
        return scalar_view(self.path, self.id, name, self.version, steps, points)

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of one recorded scalar as a chart draws it (empty arrays if none yet): every step
        of a short run or a zoomed window, else each bucket's min and max (Buckets.line)."""
        return self.scalar_view(name).line()

    def array_names(self) -> list[str]:
        return array_names(self.path, self.id, self.version)

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


def status_of(r: ShownRun) -> str:
    """A shown run's status in the pages' words, as of the step shown: cut at an earlier step (the scrubber, a
    replay), how it ended is not given away ("finished" beside "step 1,500" read as finished there)."""
    if r.until is not None:
        return "replaying" if state.replay() is not None else "scrubbed back"
    return status_text(r.row["status"])


def run_label(runs: pd.DataFrame, run_id: int) -> str:
    row = runs.set_index("run_id").loc[run_id]
    return f"{run_id} · {row['name']} ({status_text(row['status'])})"


@dataclass
class Replay:
    """A recorded run played back as if live: step 0 to `last` in `seconds` of wall time, from the moment the
    page's charts are all on screen (`start`), so that a room sees it from its first step: a cold page takes
    seconds to load its charts, and a clock started at the click had played a third of a 10 s replay by
    then. A page whose charts never report (a browser that blocks them) starts it after WAIT_S anyway.

    The clock moves in frames of FRAME_S: every reading within a frame is the same step, in every tab on the
    same clock (a following viewer's is the presenter's), so two tabs that have drawn the same frame say the
    same step, and a tab redraws only when a new frame begins (dashboard/sidebar.py)."""

    last: int
    seconds: float
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    # The step shown, read off the clock once a run of the tab (`tick`) and written from here everywhere: read
    # anew at each place, the progress bar, the scrubber and a status line said 1,529, 1,527 and 1,472 at once.
    at: int | None = None

    WAIT_S = 30.0  # a loaded 2-core machine took 20-40 s to draw a cold presenter page
    FRAME_S = 0.5  # the page reran every 0.5 s during a replay before the clock had frames

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    @property
    def waiting(self) -> bool:
        if self.started is None and time.monotonic() - self.created > self.WAIT_S:
            self.start()
        return self.started is None

    def clock(self) -> int:
        """The step the replay has reached by now: that of the frame now playing."""
        if self.waiting or self.started is None:
            return 0
        frames = (time.monotonic() - self.started) // self.FRAME_S
        return min(self.last, int(self.last * frames * self.FRAME_S / self.seconds))

    def tick(self) -> int:
        """Read the clock: the step this run of the tab shows (the sidebar reads it first in a run of the app)."""
        self.at = self.clock()
        return self.at

    def for_page(self) -> int:
        """The step a page's body shows: the one the sidebar read last. A new frame is drawn by a run of the
        whole tab (the sidebar's pacer asks for it), so the body never says a step the sidebar does not."""
        return self.tick() if self.at is None else self.at

    def step(self) -> int:
        """The step shown: the last reading of the clock (`tick`)."""
        return self.clock() if self.at is None else self.at

    @property
    def length(self) -> float:
        """Its seconds as the Replay in box lists them: 60, not 60.0."""
        return int(self.seconds) if self.seconds == int(self.seconds) else self.seconds

    @property
    def moved(self) -> bool:
        """Whether a new frame has begun since the tab last read the clock."""
        return self.at is not None and self.clock() != self.at

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


def runs_now(
    path: str,
    ids: Iterable[int],
    until: int | None = None,
    window: tuple[int, int] | None = None,
    samples: bool = False,
) -> list[ShownRun]:
    """The runs with these ids (those that exist) as they are now, or as they were at step `until`; their
    scalars over a window of steps (of samples seen, with `samples`), if given."""
    rows = [run_row(path, i) for i in ids]
    return [ShownRun(path, row, until, window, samples) for row in rows if row is not None]


def selected_runs() -> list[ShownRun]:
    return runs_now(store_path(), state.selected(), shown_step())
