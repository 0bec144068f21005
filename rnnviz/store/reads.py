"""A run's records read back: scalars (every step, or summarised at a chart's width), arrays and histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import buckets
from . import levels
from .connection import Connection
from .schema import decode

# The names of records the store itself reads by name: the probe's ||dL/dh_t|| per time step (`grad_flow`),
# and the prefix of a histogram's counts, whose edges the `hist_edges` table holds (`histograms`).
GRAD_FLOW = "grad_h"
HIST = "hist/"


class Reads(Connection):
    """The reads of the UI, the CLI and notebooks; none writes, so a read-only store answers every one."""

    def scalars(
        self, run_id: int, names: list[str] | None = None, since: int = -1, steps: tuple[int, int] | None = None
    ) -> pd.DataFrame:
        """Tidy scalars (step, name, value) of a run, every step recorded: optionally only some names, after a
        step, or in a range of steps (first, last), both included."""
        self._require(run_id)
        first, last = steps if steps is not None else (since + 1, None)
        first = max(int(first), int(since) + 1)
        last = np.iinfo(np.int64).max if last is None else int(last)
        if self.version < 3:  # an older store read as it is
            q = "SELECT step, name, value FROM scalars WHERE run_id = ? AND step BETWEEN ? AND ?"
            params: list = [int(run_id), first, last]
            if names:
                q += f" AND name IN ({','.join('?' * len(names))})"
                params += list(names)
            return pd.read_sql_query(q + " ORDER BY step, name", self.conn, params=params)
        ids = self._ids_of(run_id, names)
        if not ids:
            return pd.DataFrame({"step": np.zeros(0, np.int64), "name": np.zeros(0, object), "value": np.zeros(0)})
        # the name ids listed, so that SQLite seeks each name's range of steps in the primary key
        df = pd.read_sql_query(
            f"SELECT s.step, n.name, s.value FROM scalars s JOIN scalar_names n ON n.id = s.name_id "
            f"WHERE s.run_id = ? AND s.name_id IN ({','.join('?' * len(ids))}) AND s.step BETWEEN ? AND ?",
            self.conn,
            params=[int(run_id), *ids.values(), first, last],
        )
        return df.sort_values(["step", "name"], kind="stable", ignore_index=True)

    def _ids_of(self, run_id: int, names: list[str] | None) -> dict[str, int]:
        """The ids of those of `names` (all by default) that the run recorded."""
        rows = self.conn.execute("SELECT name, id FROM scalar_names").fetchall()
        known = dict(rows) if names is None else {n: i for n, i in rows if n in set(names)}
        return {
            n: i
            for n, i in sorted(known.items())
            if self.conn.execute(
                "SELECT 1 FROM scalars WHERE run_id = ? AND name_id = ? LIMIT 1", (int(run_id), i)
            ).fetchone()
        }

    def scalar_names(self, run_id: int) -> list[str]:
        if self.version < 3:
            rows = self.conn.execute("SELECT DISTINCT name FROM scalars WHERE run_id = ?", (int(run_id),))
            return [r[0] for r in rows]
        return list(self._ids_of(run_id, None))

    def scalar_view(
        self, run_id: int, name: str, steps: tuple[int, int] | None = None, points: int = 400
    ) -> buckets.Buckets:
        """One scalar summarised in about `points` buckets over a range of steps (first, last; default: all it
        recorded): every step, exact, where the range has at most `points` steps. It reads about as many rows as
        it returns from the levels kept by `append`, whatever the run's length; an older store's scalars
        are summarised from every step in the range."""
        ids = self._ids_of(run_id, [name]) if self.version >= 3 else {name: -1}
        if not ids:
            return buckets.empty()
        if self.version < 3:
            rows = self.scalars(run_id, [name], steps=steps)
            first, last = (int(rows["step"].iloc[0]), int(rows["step"].iloc[-1])) if len(rows) else (0, 0)
            width = buckets.width_for(*(steps or (first, last)), points)
            return buckets.reduce(rows["step"].to_numpy(), rows["value"].to_numpy(dtype=float), width)
        name_id = ids[name]
        if steps is None:
            # one aggregate a query: SQLite seeks the primary key for a lone MIN or MAX, and scans for both
            first, last = (
                self.conn.execute(f"SELECT {end}(step) FROM scalars WHERE run_id = ? AND name_id = ?",
                                  (int(run_id), name_id)).fetchone()[0]
                for end in ("MIN", "MAX")
            )  # fmt: skip
        else:
            first, last = int(steps[0]), int(steps[1])
        return levels.view(self.conn, int(run_id), name_id, first, last, points)

    def series(self, run_id: int, name: str, until: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A recorded array over training: steps (P,) and values stacked (P, ...); up to step `until`, if given."""
        self._require(run_id)
        last = 2**62 if until is None else int(until)
        rows = self.conn.execute(
            "SELECT step, shape, data FROM arrays WHERE run_id = ? AND name = ? AND step <= ? ORDER BY step",
            (int(run_id), name, last),
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0,), np.float32)
        return np.array([r[0] for r in rows]), np.stack([decode(r[1], r[2]) for r in rows])

    def grad_flow(self, run_id: int) -> tuple[np.ndarray, np.ndarray]:
        """||dL/dh_t|| per probe step: steps (P,) and a (P, T) array."""
        return self.series(run_id, GRAD_FLOW)

    def array_names(self, run_id: int) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT name FROM arrays WHERE run_id = ? ORDER BY name", (int(run_id),)
            )
        ]

    def arrays_at(self, run_id: int, step: int) -> tuple[int | None, dict[str, np.ndarray]]:
        """Every array of the last probe at or before step: (that step, name -> array)."""
        self._require(run_id)
        row = self.conn.execute(
            "SELECT MAX(step) FROM arrays WHERE run_id = ? AND step <= ?", (int(run_id), int(step))
        ).fetchone()
        if row[0] is None:
            return None, {}
        rows = self.conn.execute(
            "SELECT name, shape, data FROM arrays WHERE run_id = ? AND step = ?", (int(run_id), row[0])
        ).fetchall()
        return int(row[0]), {n: decode(s, d) for n, s, d in rows}

    def hist_edges(self, run_id: int) -> dict[str, np.ndarray]:
        rows = self.conn.execute("SELECT name, edges FROM hist_edges WHERE run_id = ?", (int(run_id),)).fetchall()
        return {n: np.frombuffer(e, np.float32) for n, e in rows}

    def histograms(self, run_id: int, name: str, until: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One histogram over training: steps (P,), counts (P, bins), edges (bins + 1,); up to `until`, if given."""
        steps, counts = self.series(run_id, HIST + name, until)
        return steps, counts, self.hist_edges(run_id).get(name, np.zeros(0, np.float32))
