"""The Python API for notebooks and scripts.

import rnnviz
run = rnnviz.train("quick-lstm", data_dir="...")      # in-process, with a progress bar
run = rnnviz.open_run("runs.sqlite", 3)               # or any recorded run
run.config, run.scalars(), run.gradient_flow(), run.histograms("h_all")
run.figure("gradient_flow")                            # the dashboard's own figures
sweep = rnnviz.sweep("quick-rnn", grid={"lr": [0.001, 0.01]}, seeds=3)   # a sweep: a grid times seeds, on Ray
sweep.table()                                          # per grid point: mean, min and max over seeds
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import buckets, findings, sweeps, views
from .config import RunConfig, named_for_changes, preset
from .figures import MAX_POINTS, Style
from .store import Store, export_run
from .streams import DIRECTIONS, array_name, streams_of


def _store(store: str | os.PathLike | Store | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


class Run:
    """One recorded run: its settings, records and figures, read from the store when asked."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.id = int(run_id)
        self.refresh()

    def refresh(self) -> Run:
        """Re-read the run's row (status, step) from the store, e.g. while it trains elsewhere."""
        self.row: dict[str, Any] = self.store.run(self.id)
        self.cfg: RunConfig = self.store.config(self.id)
        self.label = f"{self.id} · {self.row['name']}"
        return self

    @property
    def config(self) -> RunConfig:
        return self.cfg

    @property
    def status(self) -> str:
        return str(self.row["status"])

    def __repr__(self) -> str:
        return f"<rnnviz.Run {self.label}: {self.status}, step {self.row['step']} of {self.row['total_steps']}>"

    # readers (the same ones the dashboard's charts use)
    def scalar_names(self) -> list[str]:
        return sorted(self.store.scalar_names(self.id))

    def scalar_view(
        self, name: str, steps: tuple[int, int] | None = None, points: int = MAX_POINTS // 2
    ) -> buckets.Buckets:
        """One scalar over a range of steps (first, last; default: every step) in at most `points` buckets of
        steps, each with its count, min, max, mean and last value: exact, one bucket a step, where the range
        has at most `points` steps. Costs about `points` rows, whatever the run's length."""
        return self.store.scalar_view(self.id, name, steps, points)

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """One scalar as charts draw it: every step of a run of up to 400 steps; else each of 200 buckets' min
        and max, at the steps they were reached. Every step: `scalars(name)`."""
        return self.scalar_view(name).line()

    def scalars(self, *names: str, steps: tuple[int, int] | None = None, points: int | None = None) -> pd.DataFrame:
        """Recorded scalars (all of them by default), indexed by training step: every step, one column per name,
        in the range `steps` (first, last) if given. With `points`, each name in at most that many buckets of
        steps instead, indexed by each bucket's first step, with columns (name, statistic) for the statistics
        count, min, max, mean and last: `run.scalars("loss", steps=(0, 10_000), points=400)["loss"]["max"]`."""
        if points is None:
            tidy = self.store.scalars(self.id, list(names) or None, steps=steps)
            return tidy.pivot(index="step", columns="name", values="value").rename_axis(columns=None)
        frames = {}
        for name in names or self.scalar_names():
            v = self.scalar_view(name, steps, points)
            stats = {"count": v.n, "min": v.min, "max": v.max, "mean": v.mean, "last": v.last}
            frames[name] = pd.DataFrame(stats, index=pd.Index(v.start, name="step"))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, axis=1).rename_axis(columns=["name", "statistic"])

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A per-probe array over training: steps (P,) and values (P, ...); see `array_names()`."""
        return self.store.series(self.id, name)

    def array_names(self) -> list[str]:
        return self.store.array_names(self.id)

    def gradient_flow(
        self, layer: int | None = None, direction: str = "forward", part: str = "total"
    ) -> tuple[np.ndarray, np.ndarray]:
        """||dL/dh_t|| per probe: steps (P,) and a (P, T) array, of the layer the head reads (the top one,
        forward) by default. A watched stacked or bidirectional model has one per `layer` (0 is the first, as torch
        numbers them) and `direction` ("forward" or "backward", on its own time axis: its t = 1 reads the
        sequence's last position); `streams()` lists them. With an output at every step, `part` "local" is the
        gradient from the output at t itself, "later" the part that travelled back from later steps, "last" the
        one from the loss at the last step alone (||dL_T/dh_t||)."""
        return self.series(array_name(streams_of(self.array_names()), layer, direction, part))

    def streams(self) -> list[tuple[int, str]]:
        """The (layer, direction) pairs a watched stacked or bidirectional model recorded; [] for one layer read
        one way (its quantities are under the plain names)."""
        return [(int(s[1:].rstrip("r")), DIRECTIONS[s.endswith("r")]) for s in streams_of(self.array_names())]

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A histogram over training ("h_all", "h_last", "preact", "c", "gate_f", ...): steps, counts, edges."""
        return self.store.histograms(self.id, name)

    def findings(self) -> str:
        """The plain-language reading the Overview page shows."""
        return findings.of(self)

    def figure(self, name: str, *others: Run, large_fonts: bool = False, **options: Any) -> go.Figure:
        """A dashboard figure of this run (and `others` on the same axes). Names: see `rnnviz.VIEWS`;
        options are the view's, e.g. figure("saturation", at=500, threshold=0.9)."""
        return figure(name, [self, *others], large_fonts=large_fonts, **options)

    def report(self, path: str | os.PathLike, *others: Run, title: str = "") -> Path:
        """This run (and `others`) as one self-contained HTML file: figures, settings, readings."""
        from .report import write_report

        return write_report([self, *others], path, title)

    def export(self, directory: str | os.PathLike, fmt: str = "csv") -> list[Path]:
        """Write the run as CSV or Parquet files, or TensorBoard event files ("tensorboard"): see
        `rnnviz.store.export_run`."""
        return export_run(self.store, self.id, directory, fmt)


def figure(name: str, runs: list[Run], large_fonts: bool = False, **options: Any) -> go.Figure:
    """A named dashboard figure of several runs."""
    if name not in views.VIEWS:
        raise ValueError(f"unknown figure {name!r}; choose one of: {', '.join(views.VIEWS)}")
    return views.VIEWS[name](runs, style=Style.for_talks(large_fonts), **options)


def open_run(store: str | os.PathLike | Store | None = None, run_id: int | None = None) -> Run:
    """A recorded run (the newest one when run_id is None) of a store (default: the dashboard's)."""
    s = _store(store)
    if run_id is None:
        ids = s.runs()["run_id"]
        if ids.empty:
            raise LookupError(f"{s.path} holds no runs yet; train one first")
        run_id = int(ids.iloc[0])
    return Run(s, run_id)


def runs(store: str | os.PathLike | Store | None = None) -> pd.DataFrame:
    """Every run of a store, newest first (the Train page's table)."""
    return _store(store).runs()


def train(
    config: RunConfig | str = "quick-lstm",
    store: str | os.PathLike | Store | None = None,
    progress: bool = True,
    **changes: Any,
) -> Run:
    """Train a run in this process (a RunConfig, or a preset name plus changed fields, named for the changes
    unless `name` is one of them) and return it.
    The progress bar is a notebook widget under Jupyter and text elsewhere; Ctrl-C / interrupt stops the
    run cleanly and keeps what it recorded."""
    from .trainer import train as train_run

    if isinstance(config, str):
        cfg = preset(config, **changes)
        cfg = cfg if "name" in changes else named_for_changes(cfg, preset(config))
    else:
        cfg = dataclasses.replace(config, **changes)
    cfg.validate()
    s = _store(store)
    result = train_run(cfg, s, progress=progress)
    return Run(s, result.run_id)


class Sweep:
    """A recorded sweep: its spec, its runs and the summary over seeds of each grid point."""

    def __init__(self, store: Store, sweep_id: int) -> None:
        self.store = store
        self.id = int(sweep_id)
        row = store.sweep(self.id)
        self.spec = sweeps.SweepSpec.from_json(row["spec"])
        self.status = row["status"]

    def __repr__(self) -> str:
        return f"<Sweep {self.id} {self.status}: {len(self.runs)} runs over {', '.join(self.spec.grid) or 'seeds'}>"

    @property
    def runs(self) -> list[Run]:
        df = self.store.runs()
        return [Run(self.store, int(i)) for i in sorted(df.loc[df["sweep_id"] == self.id, "run_id"])]

    def table(self) -> pd.DataFrame:
        """One row per grid point: its values, runs, and the mean, min and max over seeds of test accuracy,
        saturated fraction and gradient ratio, with a reading of how many seeds agree."""
        return sweeps.summary(self.store, self.id)

    def result(self) -> dict[str, Any]:
        """What `rnnviz sweep` prints as its JSON line."""
        return sweeps.result(self.store, self.id)


def sweep(
    config: RunConfig | str = "quick-rnn",
    grid: dict[str, list[Any]] | None = None,
    seeds: int = 1,
    store: str | os.PathLike | Store | None = None,
    ray_address: str | None = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    **changes: Any,
) -> Sweep:
    """Train a sweep on Ray (a local one unless `ray_address` or $RAY_ADDRESS names a cluster): every
    point of `grid` ({field: values}) times `seeds` seeds, from a RunConfig or a preset name plus changes.
    Waits for every run and returns the sweep."""
    from . import cluster

    cfg = preset(config, **changes) if isinstance(config, str) else dataclasses.replace(config, **changes)
    s = _store(store)
    spec = sweeps.SweepSpec(cfg.validate(), {k: list(v) for k, v in (grid or {}).items()}, seeds)
    sweep_id = cluster.run_sweep(spec, s, address=ray_address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    return Sweep(s, sweep_id)


def open_sweep(store: str | os.PathLike | Store | None = None, sweep_id: int | None = None) -> Sweep:
    """A recorded sweep (the newest when sweep_id is None)."""
    s = _store(store)
    if sweep_id is None:
        ids = s.sweeps()["sweep_id"]
        if ids.empty:
            raise LookupError(f"{s.path} holds no sweeps yet; start one with rnnviz.sweep(...)")
        sweep_id = int(ids.iloc[0])
    return Sweep(s, sweep_id)
