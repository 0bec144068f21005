"""A run's records written by its one writer: scalars with their levels, arrays, histogram edges, checkpoints."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .. import checkpoints
from .connection import Connection
from .levels import LEVELS, relevel
from .schema import encode
from .status import Status

if TYPE_CHECKING:
    import sqlite3

    import torch


class Records(Connection):
    """What a run's writer (`WriteBuffer`, through `RunStore`) commits, and what a resume forgets."""

    def set_hist_edges(self, run_id: int, edges: dict[str, np.ndarray]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO hist_edges VALUES (?, ?, ?)",
                [(run_id, k, np.asarray(v, np.float32).tobytes()) for k, v in edges.items()],
            )

    def append(
        self,
        run_id: int,
        step: int,
        scalars: list[tuple[int, str, float]],
        arrays: list[tuple[int, str, np.ndarray]],
        summary: dict[str, float | None],
    ) -> bool:
        """Commit a batch of records in one transaction, the levels of its scalars with them; returns whether a
        stop was requested."""
        with self.transaction() as c:
            names = {n for _, n, _ in scalars}
            ids = self._name_ids(c, names)
            c.executemany(
                "INSERT OR REPLACE INTO scalars VALUES (?, ?, ?, ?)", [(run_id, ids[n], s, v) for s, n, v in scalars]
            )
            if scalars:  # each name's buckets over the batch's steps: a batch is a few hundred steps
                steps = [s for s, _, _ in scalars]
                relevel(c, run_id, (ids[n] for n in names), min(steps), max(steps))
            c.executemany(
                "INSERT OR REPLACE INTO arrays VALUES (?, ?, ?, ?, ?)",
                [(run_id, s, n, *encode(a)) for s, n, a in arrays],
            )
            c.execute(
                "UPDATE runs SET step = ?, heartbeat = ?, test_accuracy = COALESCE(?, test_accuracy), "
                "saturated_fraction = COALESCE(?, saturated_fraction), total_steps = COALESCE(?, total_steps) "
                "WHERE id = ?",
                (step, time.time(), summary.get("test_accuracy"), summary.get("saturated_fraction"),
                 summary.get("total_steps"), run_id),
            )  # fmt: skip
            return bool(c.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()[0])

    def _name_ids(self, c: sqlite3.Connection, names: set[str]) -> dict[str, int]:
        """Each name's id, new names given one; inside the caller's transaction."""
        new = sorted(names - self.names.keys())
        if new:
            c.executemany("INSERT OR IGNORE INTO scalar_names (name) VALUES (?)", [(n,) for n in new])
            marks = ",".join("?" * len(new))
            # kept only once the transaction commits: a rolled-back id may be given to another name
            self._pending = dict(c.execute(f"SELECT name, id FROM scalar_names WHERE name IN ({marks})", new))
        return {**self.names, **self._pending}

    def save_checkpoint(self, run_id: int, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        checkpoints.save(self.checkpoint_path(run_id), step, model, opt)

    def load_checkpoint(self, run_id: int) -> dict | None:
        """The run's last checkpoint, or None when it has none."""
        path = self.checkpoint_path(run_id)
        return checkpoints.load(path) if path.exists() else None

    def truncate(self, run_id: int, step: int) -> None:
        """Forget a run's records after a step and make it runnable again (resuming from a checkpoint)."""
        run_id, step = int(run_id), int(step)
        with self.transaction() as c:
            for table in ("scalars", "arrays"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))
            # a level's buckets past the step go; the one that holds it is recomputed from what is left
            c.execute("DELETE FROM scalar_levels WHERE run_id = ? AND bucket * size > ?", (run_id, step))
            top = "SELECT DISTINCT name_id FROM scalar_levels WHERE run_id = ? AND size = ?"
            name_ids = [r for (r,) in c.execute(top, (run_id, LEVELS[-1]))]
            relevel(c, run_id, name_ids, step, step)
            c.execute(
                "UPDATE runs SET status = ?, step = ?, ended = NULL, error = NULL, stop_requested = 0 WHERE id = ?",
                (Status.QUEUED, int(step), int(run_id)),
            )
