"""The runs and sweeps: created, queued, claimed, running, stopped, finished; their dead processes reaped."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time

import numpy as np
import pandas as pd

from .. import roles
from ..config import RunConfig
from .connection import Connection, StoreError
from .liveness import proc_start, process_alive
from .status import ACTIVE, UNFINISHED, Status

# A run that was queued this long ago and never got a process has lost its launcher.
QUEUE_GRACE_S = 60.0

# `seconds` is a run's training time over its segments (a resume starts a new one): while it trains, the
# segments before; once it ends, all of them. A segment's seconds (the parameter) are added where the run was in
# one (not already ended: a resume that failed before it started trains nothing)...
_ADDED = (
    f"CASE WHEN ? IS NULL OR status NOT IN ({', '.join(repr(s.value) for s in UNFINISHED)}) "
    "THEN seconds ELSE COALESCE(seconds, 0) + ? END"
)
# ...and a segment whose trainer died, up to its last commit.
_TO_HEARTBEAT = (
    f"CASE WHEN status = '{Status.RUNNING.value}' AND started IS NOT NULL "
    "THEN COALESCE(seconds, 0) + MAX(COALESCE(heartbeat, started) - started, 0) ELSE seconds END"
)


class Queue(Connection):
    """The `runs` and `sweeps` tables of a store: a run's state from created to ended, and the listings of
    both, after marking runs whose process died as interrupted."""

    def create_run(self, cfg: RunConfig, status: Status = Status.QUEUED, sweep_id: int | None = None) -> int:
        roles.require("start runs", StoreError)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO runs (name, config, status, created, total_steps, host, sweep_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cfg.display_name, cfg.to_json(), status, time.time(), cfg.steps, socket.gethostname(), sweep_id),
            )
            assert cur.lastrowid is not None
        # a checkpoint left by a store deleted from this path (its run ids start at 1 again) is not this run's:
        # a resume or the inspector would read another run's weights
        self.checkpoint_path(cur.lastrowid).unlink(missing_ok=True)
        return cur.lastrowid

    def create_sweep(self, name: str, spec: str, engine: str, ray_address: str | None) -> int:
        """Record a set of runs and the process that drives it (this one)."""
        pid = os.getpid()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO sweeps (name, spec, status, created, engine, ray_address, host, pid, pid_start) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, spec, Status.RUNNING, time.time(), engine, ray_address, socket.gethostname(), pid,
                 proc_start(pid)),
            )  # fmt: skip
            assert cur.lastrowid is not None
            return cur.lastrowid

    def finish_sweep(self, sweep_id: int, status: Status) -> None:
        with self.transaction() as c:
            c.execute("UPDATE sweeps SET status = ?, ended = ? WHERE id = ?", (status, time.time(), sweep_id))

    def set_process(self, run_id: int, pid: int) -> None:
        """Record the process that will train this run."""
        with self.transaction() as c:
            c.execute(
                "UPDATE runs SET pid = ?, pid_start = ?, host = ? WHERE id = ?",
                (pid, proc_start(pid), socket.gethostname(), run_id),
            )

    def mark_running(self, run_id: int, pid: int, host: str | None = None, pid_start: str | None = None) -> None:
        """The run's trainer has started: its process, on this machine unless `host` (and the process's start
        time there) is given."""
        now = time.time()
        if host is None:
            host, pid_start = socket.gethostname(), proc_start(pid)
        with self.transaction() as c:
            c.execute(
                "UPDATE runs SET status = ?, started = ?, heartbeat = ?, pid = ?, pid_start = ?, host = ? WHERE id = ?",
                (Status.RUNNING, now, now, pid, pid_start, host, run_id),
            )

    def finish(self, run_id: int, status: Status, error: str | None = None, seconds: float | None = None) -> None:
        """The run's trainer ended it after `seconds` of this segment. `seconds` holds the whole run's training
        time: a resumed run's earlier segments, then this one added (a stopped run resumed counted its last
        segment alone, and the Train page's estimates from its speed dropped to 'about 20 seconds')."""
        with self.transaction() as c:
            c.execute(
                f"UPDATE runs SET status = ?, error = ?, ended = ?, seconds = {_ADDED} WHERE id = ?",
                (status, error, time.time(), seconds, seconds, run_id),
            )

    def request_stop(self, run_id: int) -> None:
        """A trainer honours the flag within about a second; a waiting run is stopped before it starts."""
        roles.require("stop runs", StoreError)
        self._require(run_id)
        with self.transaction() as c:
            c.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run_id,))
            c.execute(
                "UPDATE runs SET status = ?, ended = ? WHERE id = ? AND status = ?",
                (Status.STOPPED, time.time(), run_id, Status.WAITING),
            )

    def claim_waiting(self, slots: int) -> list[int]:
        """Move the oldest waiting runs to queued while fewer than `slots` runs are queued or running; one
        transaction, so two launchers at once never start the same run or pass the cap."""
        roles.require("start runs", StoreError)
        self.reap()
        with self.transaction() as c:
            (busy,) = c.execute("SELECT COUNT(*) FROM runs WHERE status IN (?, ?)", ACTIVE).fetchone()
            ids = [
                r
                for (r,) in c.execute(
                    # a sweep's runs wait for Ray, which starts them (cluster.py)
                    "SELECT id FROM runs WHERE status = ? AND sweep_id IS NULL ORDER BY id LIMIT ?",
                    (Status.WAITING, max(slots - busy, 0)),
                )
            ]
            c.executemany(
                "UPDATE runs SET status = ?, created = ? WHERE id = ?", [(Status.QUEUED, time.time(), r) for r in ids]
            )
        return ids

    def delete_run(self, run_id: int) -> None:
        roles.require("delete runs", StoreError)
        self._require(run_id)
        with self.transaction() as c:
            for table, key in (("scalars", "run_id"), ("scalar_levels", "run_id"), ("arrays", "run_id"),
                               ("hist_edges", "run_id"), ("runs", "id")):  # fmt: skip
                c.execute(f"DELETE FROM {table} WHERE {key} = ?", (run_id,))
        self.checkpoint_path(run_id).unlink(missing_ok=True)

    def reap(self) -> list[int]:
        """Mark runs whose trainer process is gone as interrupted; returns their ids."""
        host = socket.gethostname()
        rows = self.conn.execute(
            "SELECT id, status, pid, pid_start, host, created FROM runs WHERE status IN (?, ?)", ACTIVE
        ).fetchall()
        dead = []
        for run_id, status, pid, start, run_host, created in rows:
            if run_host not in (None, host):
                continue  # another machine's process; cannot judge it from here
            if pid is None:
                if status == Status.QUEUED and time.time() - created > QUEUE_GRACE_S:
                    dead.append(run_id)
            elif not process_alive(pid, start):
                dead.append(run_id)
        dead += self._reap_sweeps()
        if dead and not self.readonly:  # a read-only store is shown with these marked, not changed
            with self.transaction() as c:
                c.executemany(  # a segment that trained counts up to its last commit
                    f"UPDATE runs SET status = ?, ended = COALESCE(heartbeat, created), seconds = {_TO_HEARTBEAT}, "
                    "error = COALESCE(error, 'the trainer process ended without finishing the run') "
                    "WHERE id = ? AND status IN (?, ?)",
                    [(Status.INTERRUPTED, r, *ACTIVE) for r in dead],
                )
        return dead

    def _reap_sweeps(self) -> list[int]:
        """The unfinished runs of sweeps whose driver process (on this machine) is gone: Ray ends a driver's
        tasks with it, wherever they ran. The sweeps are marked interrupted; returns the runs' ids."""
        if self.version < 2:
            return []
        host = socket.gethostname()
        rows = self.conn.execute("SELECT id, pid, pid_start FROM sweeps WHERE status = ? AND host = ?",
                                 (Status.RUNNING, host)).fetchall()  # fmt: skip
        gone = [sweep_id for sweep_id, pid, start in rows if not process_alive(pid, start)]
        if not gone:
            return []
        marks = ",".join("?" * len(gone))
        runs = [
            r
            for (r,) in self.conn.execute(
                f"SELECT id FROM runs WHERE sweep_id IN ({marks}) AND status IN (?, ?, ?)",
                (*gone, *ACTIVE, Status.WAITING),
            )
        ]
        if not self.readonly:
            with self.transaction() as c:
                c.execute(
                    f"UPDATE sweeps SET status = ?, ended = ? WHERE id IN ({marks}) AND status = ?",
                    (Status.INTERRUPTED, time.time(), *gone, Status.RUNNING),
                )
                c.execute(
                    f"UPDATE runs SET status = ?, ended = COALESCE(heartbeat, created), error = COALESCE(error, "
                    f"'the set it belongs to stopped before it finished') WHERE sweep_id IN ({marks}) AND status = ?",
                    (Status.INTERRUPTED, *gone, Status.WAITING),
                )
        return runs

    def sweeps(self) -> pd.DataFrame:
        """Every set of runs, newest first, with how many of its runs have finished."""
        if self.version < 2:
            return pd.DataFrame(columns=["sweep_id", "name", "status", "created", "ended", "engine",
                                         "ray_address", "spec", "runs", "finished"])  # fmt: skip
        self.reap()
        return pd.read_sql_query(
            "SELECT s.id AS sweep_id, s.name, s.status, s.created, s.ended, s.engine, s.ray_address, s.spec, "
            "COUNT(r.id) AS runs, SUM(r.status = 'finished') AS finished "
            "FROM sweeps s LEFT JOIN runs r ON r.sweep_id = s.id GROUP BY s.id ORDER BY s.id DESC",
            self.conn,
        )

    def sweep(self, sweep_id: int) -> dict:
        """One set's row as a dict."""
        self.conn.row_factory = sqlite3.Row
        try:
            row = self.conn.execute("SELECT * FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
        finally:
            self.conn.row_factory = None
        if row is None:
            raise StoreError(f"no set of runs {sweep_id} in {self.path}; `python -m rnnviz sweeps` lists them")
        return dict(row)

    def runs(self) -> pd.DataFrame:
        """Every run, newest first, after reaping runs whose process died."""
        dead = self.reap()
        df = pd.read_sql_query(
            "SELECT id AS run_id, name, status, step, total_steps, test_accuracy, saturated_fraction, "
            "created, started, ended, heartbeat, seconds, error, pid, host, config, "
            f"{'sweep_id' if self.version >= 2 else 'NULL AS sweep_id'} FROM runs ORDER BY id DESC",
            self.conn,
        )
        training = df["status"] == Status.RUNNING  # in a segment: what it trained before, and this one so far
        df.loc[df["run_id"].isin(dead), "status"] = Status.INTERRUPTED.value
        segment = np.where(df["status"] == Status.RUNNING, time.time(), df["heartbeat"]) - df["started"]
        before = df["seconds"].where(df["seconds"].notna(), 0.0)
        ended = df["seconds"].where(df["seconds"].notna(), df["ended"] - df["started"])  # a store's older runs
        df["elapsed"] = np.where(training, before + segment, ended)
        df["progress"] = (df["step"] / df["total_steps"]).clip(0, 1)
        df["cell"] = [json.loads(c)["cell"] for c in df["config"]]
        return df

    def run(self, run_id: int) -> dict:
        """One run's row as a dict (status after reaping)."""
        dead = self.reap()
        row = dict(self._require(run_id))
        if row["id"] in dead:
            row["status"] = Status.INTERRUPTED.value
        return row

    def config(self, run_id: int) -> RunConfig:
        return RunConfig.from_dict(json.loads(self._require(run_id)["config"]))
