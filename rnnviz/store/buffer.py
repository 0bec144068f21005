"""A run's writer: records buffered in memory and committed in one transaction every FLUSH_S seconds."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..config import RunConfig
from .status import Status

if TYPE_CHECKING:
    import torch

FLUSH_S = 0.5  # commit at least this often, so a watching page lags by well under a second


class RunStore(Protocol):
    """What a trainer writes through: the store itself (`Store`), or, for a run of a sweep on Ray, a proxy to
    the sweep's single writer (`rnnviz.cluster.WriterClient`)."""

    def create_run(self, cfg: RunConfig) -> int: ...
    def mark_running(self, run_id: int, pid: int) -> None: ...
    def set_hist_edges(self, run_id: int, edges: dict[str, np.ndarray]) -> None: ...
    def append(
        self,
        run_id: int,
        step: int,
        scalars: list[tuple[int, str, float]],
        arrays: list[tuple[int, str, np.ndarray]],
        summary: dict[str, float | None],
    ) -> bool: ...
    def truncate(self, run_id: int, step: int) -> None: ...
    def finish(self, run_id: int, status: Status, error: str | None = None, seconds: float | None = None) -> None: ...
    def run(self, run_id: int) -> dict: ...
    def save_checkpoint(self, run_id: int, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None: ...
    def load_checkpoint(self, run_id: int) -> dict | None: ...


class WriteBuffer:
    """The one writer of a run's records (the trainer's, or `rnnviz.watch`'s): scalars and arrays are held
    until `flush` commits them together with the run's summary and step."""

    def __init__(self, store: RunStore, run_id: int) -> None:
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

    def due(self) -> bool:
        """Whether the next `flush` commits: FLUSH_S has passed since the last."""
        return time.monotonic() - self.last_flush >= FLUSH_S

    def flush(self, step: int, force: bool = False) -> bool:
        """Commit if due (or forced); returns whether a stop has been requested."""
        if force or self.due():
            self.stop_requested |= self.store.append(self.run_id, step, self.scalars, self.arrays, self.summary)
            self.scalars, self.arrays = [], []
            self.last_flush = time.monotonic()
        return self.stop_requested
