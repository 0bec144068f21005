"""A run's writer: records buffered in memory and committed in one transaction every FLUSH_S seconds."""

from __future__ import annotations

import time

import numpy as np

from .database import Store

FLUSH_S = 0.5  # commit at least this often, so a watching page lags by well under a second


class WriteBuffer:
    """The one writer of a run's records (the trainer's, or `rnnviz.watch`'s): scalars and arrays are held
    until `flush` commits them together with the run's summary and step."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self.scalars: list[tuple[int, str, float]] = []
        self.arrays: list[tuple[int, str, np.ndarray]] = []
        self.summary: dict[str, float | None] = {}
        self.last_flush = time.monotonic()
        self.stop_requested = False

    def scalar(self, step: int, values: dict[str, float]) -> None:
        self.scalars += [(step, k, float(v)) for k, v in values.items()]

    def array(self, step: int, values: dict[str, np.ndarray]) -> None:
        self.arrays += [(step, k, v) for k, v in values.items()]

    def flush(self, step: int, force: bool = False) -> bool:
        """Commit if due (or forced); returns whether a stop has been requested."""
        if force or time.monotonic() - self.last_flush >= FLUSH_S:
            self.stop_requested |= self.store.append(self.run_id, step, self.scalars, self.arrays, self.summary)
            self.scalars, self.arrays = [], []
            self.last_flush = time.monotonic()
        return self.stop_requested
