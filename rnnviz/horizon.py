"""The memory horizon: cells (and the remedies that matter for memory) trained on a memory task over a range of
lengths, several seeds each, as a sweep on Ray; how far each cell remembers, in numbers and in words.

A cell beats the task at a length in a seed when its final test result is clearly better than knowing nothing
(tasks.beats); its horizon is the longest length up to which, at every length tried, at least k of its n seeds
beat it (k: a majority, unless asked).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import sweeps, tasks
from .config import ConfigError, RunConfig
from .store import Status, Store

# The cells and remedies, each a change to the base run; they all say cell, nonlinearity, init and forget bias.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "rnn": ("tanh RNN", {"cell": "rnn"}),
    "lstm": ("LSTM (forget bias 1)", {"cell": "lstm", "forget_bias": 1.0}),
    "gru": ("GRU", {"cell": "gru"}),
    "orthogonal": ("tanh RNN, orthogonal W_hh", {"cell": "rnn", "init": "orthogonal"}),
    "irnn": ("IRNN (relu, identity W_hh)", {"cell": "rnn", "nonlinearity": "relu", "init": "identity"}),
    "clip": ("tanh RNN, clipped at 1", {"cell": "rnn", "clip": 1.0}),
}
# the swept field of each task, and how its value reads
LENGTH_FIELD = {"adding": "length", "delayed": "delay"}
LENGTH_TITLE = {"adding": "sequence length T", "delayed": "delay D (blank steps after the digit)"}


@dataclass(frozen=True)
class HorizonSpec:
    """A memory horizon: `variants` x `lengths` x `seeds` runs of `task`, each `steps` steps."""

    task: str = "adding"
    lengths: tuple[int, ...] = (10, 20, 40, 80)
    variants: tuple[str, ...] = ("rnn", "lstm")
    seeds: int = 3
    steps: int = 600
    hidden_size: int = 32
    lr: float = 0.01
    batch_size: int = 50
    extra: dict[str, Any] = field(default_factory=dict)  # any other settings of the base run

    def sweep_spec(self) -> sweeps.SweepSpec:
        """The sweep that measures it (refused with a ConfigError naming a bad value)."""
        if self.task not in LENGTH_FIELD:
            raise ConfigError("task", f"the memory horizon runs on adding or delayed, not {self.task}")
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ConfigError("cells", f"unknown {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
        if len(self.lengths) < 1 or len(set(self.lengths)) < len(self.lengths):
            raise ConfigError("lengths", f"give distinct lengths, got {', '.join(map(str, self.lengths))}")
        base = RunConfig(
            name="horizon",
            task=self.task,
            hidden_size=self.hidden_size,
            lr=self.lr,
            batch_size=self.batch_size,
            steps=self.steps,
            probe_every=max(self.steps // 6, 1),
            eval_every=max(self.steps // 6, 1),
            checkpoint_every=self.steps,
            **self.extra,
        )
        grid = {LENGTH_FIELD[self.task]: sorted(self.lengths)}
        variants = {v: VARIANTS[v][1] for v in self.variants}
        return sweeps.SweepSpec(base, grid, self.seeds, variants)


# Timed on 2 cores in bench/README.md (the Train page says this machine's time, measured from its store): the
# RNN's horizon is short, the LSTM's beyond the last length.
QUICK = HorizonSpec()
# For a cluster: the lengths of Arjovsky et al. (2016) with 128 units, every cell and remedy.
FULL = HorizonSpec(
    lengths=(25, 50, 100, 200, 400, 750),
    variants=tuple(VARIANTS),
    seeds=3,
    steps=5000,
    hidden_size=128,
    lr=0.001,
    batch_size=50,
)


def is_horizon(spec: sweeps.SweepSpec) -> bool:
    """Whether a sweep measures a memory horizon (its runs vary in the length of a memory task, by variant)."""
    return bool(spec.variants) and list(spec.grid) == [LENGTH_FIELD.get(spec.base.task, "")]


def table(store: Store, sweep_id: int) -> pd.DataFrame:
    """One row per variant and length: its runs, seeds finished, how many beat the task, and the mean, min and
    max over seeds of the score (the test MSE of the adding problem, a classifier's test accuracy)."""
    spec = sweeps.SweepSpec.from_json(store.sweep(sweep_id)["spec"])
    swept = next(iter(spec.grid))
    runs = store.runs()
    runs = runs[runs["sweep_id"] == sweep_id]
    cfgs = {int(r): RunConfig.from_dict(json.loads(c)) for r, c in zip(runs["run_id"], runs["config"])}
    rows = []
    for variant, point in spec.named_points():
        ids = sorted(r for r, cfg in cfgs.items() if all(getattr(cfg, k) == v for k, v in point.items()))
        scores, by_seed = [], {}
        for r in ids:
            row = runs[runs["run_id"] == r].iloc[0]
            if row["status"] != Status.FINISHED:
                continue
            loss = _final(store, r, "test_loss")
            accuracy = row["test_accuracy"] if row["test_accuracy"] == row["test_accuracy"] else None
            scores.append(loss if spec.base.task == "adding" else accuracy)
            by_seed[cfgs[r].seed] = bool(tasks.beats(cfgs[r], loss, accuracy))
        beat = sum(by_seed.values())
        got = [s for s in scores if s is not None and s == s]
        rows.append(
            {
                "variant": variant,
                "label": VARIANTS.get(variant, (variant,))[0],
                "length": point[swept],
                "runs": ids,
                "finished": len(scores),
                "beat": beat,
                "seed_beat": by_seed,  # seed -> whether it beat the task (finished seeds only)
                "mean": float(np.mean(got)) if got else math.nan,
                "min": min(got) if got else math.nan,
                "max": max(got) if got else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _final(store: Store, run_id: int, name: str) -> float | None:
    df = store.scalars(run_id, [name])
    return float(df["value"].iloc[-1]) if len(df) else None


def majority(n: int) -> int:
    return n // 2 + 1


# A horizon that is not even the shortest length tried (which may be a delay of 0, so 0 cannot say it).
NOWHERE = -1


def horizon(rows: pd.DataFrame, k: int) -> int | None:
    """The longest length up to which every length tried has at least k seeds that beat the task, of one
    variant's rows; NOWHERE when it fails at the shortest, None until the shortest has k finished seeds."""
    reached = NOWHERE
    for _, row in rows.sort_values("length").iterrows():
        if row["beat"] >= k:
            reached = int(row["length"])
        elif row["finished"] - row["beat"] > len(row["runs"]) - k:  # k can no longer be reached here
            return reached
        else:
            return None if reached == NOWHERE else reached
    return reached


def settled(rows: pd.DataFrame, k: int) -> bool:
    """Whether one variant's horizon (`horizon`) is final: no length its seeds still train at could change it."""
    for _, row in rows.sort_values("length").iterrows():
        if row["beat"] >= k:
            continue
        return bool(row["finished"] - row["beat"] > len(row["runs"]) - k)  # k can no longer be reached: final
    return True


def seed_horizons(rows: pd.DataFrame) -> dict[int, int]:
    """Each finished seed's own horizon, of one variant's rows: the longest length up to which it beat the task
    at every length (NOWHERE: not even the shortest); a seed not finished at every length is left out."""
    out = {}
    seeds = set().union(*(set(b) for b in rows["seed_beat"])) if len(rows) else set()
    for seed in sorted(seeds):
        reached = NOWHERE
        for _, row in rows.sort_values("length").iterrows():
            if seed not in row["seed_beat"]:
                break
            if not row["seed_beat"][seed]:
                out[seed] = reached
                break
            reached = int(row["length"])
        else:
            out[seed] = reached
    return out


def compared(df: pd.DataFrame, first: str, other: str) -> str | None:
    """Seed by seed, how often `first`'s horizon is below `other`'s (same seed, same data): a sentence, or None
    when no seed has finished both."""
    mine = seed_horizons(df[df["variant"] == first])
    theirs = seed_horizons(df[df["variant"] == other])
    both = sorted(set(mine) & set(theirs))
    if not both:
        return None
    below = sum(mine[s] < theirs[s] for s in both)
    a, b = (VARIANTS.get(v, (v,))[0] for v in (first, other))
    shown = {NOWHERE: "none"}
    pairs = ", ".join(f"seed {s}: {shown.get(mine[s], mine[s])} vs {shown.get(theirs[s], theirs[s])}" for s in both)
    return f"The {a}'s horizon is below the {b}'s in {below} of {len(both)} seeds ({pairs})."


def summary(store: Store, sweep_id: int, k: int | None = None) -> dict[str, Any]:
    """The horizon as `rnnviz horizon` prints it: the task, its baseline, each variant's horizon and its counts."""
    spec = sweeps.SweepSpec.from_json(store.sweep(sweep_id)["spec"])
    df = table(store, sweep_id)
    k = k or majority(spec.seeds)
    cells = []
    for variant, rows in df.groupby("variant", sort=False):
        cells.append(
            {
                "variant": variant,
                "label": rows["label"].iloc[0],
                "horizon": horizon(rows, k),
                "beat": {int(r["length"]): f"{r['beat']} of {len(r['runs'])}" for _, r in rows.iterrows()},
                "seed_horizons": seed_horizons(rows),
                "mean": {
                    int(r["length"]): None if r["mean"] != r["mean"] else round(r["mean"], 4)
                    for _, r in rows.iterrows()
                },  # fmt: skip
            }
        )
    return {
        "sweep_id": sweep_id,
        "task": spec.base.task,
        "steps": spec.base.steps,
        "hidden_size": spec.base.hidden_size,
        "seeds": spec.seeds,
        "k": k,
        "score": "test MSE" if spec.base.task == "adding" else "test accuracy",
        "baseline": tasks.ADDING_BASELINE if spec.base.task == "adding" else tasks.CHANCE,
        "cells": cells,
        "findings": findings(df, spec, k),
    }


def findings(df: pd.DataFrame, spec: sweeps.SweepSpec, k: int) -> list[str]:
    """The horizon in plain words, one sentence per variant, with the seeds that agree."""
    task = spec.base.task
    unit = "T" if task == "adding" else "D"
    beating = (
        "beats the baseline (test MSE below half of predicting 1's 0.167)"
        if task == "adding"
        else "tells the digit (test accuracy above 20%, twice chance)"
    )
    out = []
    for _, rows in df.groupby("variant", sort=False):
        rows = rows.sort_values("length")
        label = rows["label"].iloc[0]
        counts = ", ".join(
            f"{unit} = {int(r['length'])}: {r['beat']} of {len(r['runs'])}"
            + (f" ({r['finished']} finished)" if r["finished"] < len(r["runs"]) else "")
            for _, r in rows.iterrows()
        )  # "0 of 3" of seeds still training read as three that failed (a fresh-eyes walk)
        reach = horizon(rows, k)
        last = int(rows["length"].iloc[-1])
        if reach is None:
            said = "has no result yet"
        elif reach == NOWHERE:
            first = int(rows["length"].iloc[0])
            verb = beating.split(" (")[0].replace("beats", "beat").replace("tells", "tell")
            said = f"does not {verb} in {k} of {spec.seeds} seeds at any length tried, not even {unit} = {first}"
        elif reach == last:
            said = f"{beating} at every length tried: its horizon exceeds {unit} = {last}"
        else:
            said = f"{beating} up to {unit} = {reach}: its memory horizon"
        agree = "" if reach in (NOWHERE, None) else f", in at least {k} of {spec.seeds} seeds"
        if reach is not None and not settled(rows, k):  # a longer length's seeds still train: it may grow
            said = f"so far {said}"
        out.append(f"{label}: {said}{agree} ({counts}).")
    variants = list(dict.fromkeys(df["variant"]))
    for other in variants[1:]:
        sentence = compared(df, variants[0], other) if "seed_beat" in df else None
        if sentence:
            out.append(sentence)
    return out


def recorded(store: Store, spec: sweeps.SweepSpec) -> int | None:
    """The latest finished sweep of this very spec in the store (a horizon recorded beforehand), or None."""
    listed = store.sweeps()
    done = listed[(listed["spec"] == spec.to_json()) & (listed["status"] == Status.FINISHED)]
    return int(done["sweep_id"].max()) if len(done) else None


def latest(store: Store) -> int | None:
    """The newest sweep in the store that measures a memory horizon, or None."""
    listed = store.sweeps().sort_values("sweep_id", ascending=False)
    for sweep_id, text in zip(listed["sweep_id"], listed["spec"]):
        if is_horizon(sweeps.SweepSpec.from_json(text)):
            return int(sweep_id)
    return None


def run_and_wait(
    hspec: HorizonSpec,
    store: Store,
    name: str,
    again: bool = False,
    address: str | None = None,
    report: Any = print,
) -> int:
    """Run the horizon's sweep on Ray (cluster.run_sweep), waiting for it, and return its id; a sweep of the same
    spec recorded before is reused unless `again`."""
    from . import cluster

    spec = hspec.sweep_spec()
    done = None if again else recorded(store, spec)
    if done is not None:
        report(f"sweep {done} already holds this horizon; reusing it (--again runs it anew)")
        return done
    return cluster.run_sweep(spec, store, name=name, address=address, report=report)


def findings_table(outcome: dict[str, Any]) -> list[str]:
    """`summary`'s outcome as lines for a terminal: cell x length (seeds that beat the task, mean score), each
    cell's horizon, the findings, and the published results beside (their budgets differ)."""
    from .published import ADDING

    unit = "T" if outcome["task"] == "adding" else "D"
    lengths = sorted({int(t) for c in outcome["cells"] for t in c["beat"]})
    width = max([len(c["label"]) for c in outcome["cells"]] + [4])
    head = f"{'cell':{width}s}  " + "  ".join(f"{unit}={t:<14d}" for t in lengths) + "  horizon"
    lines = [
        f"memory horizon of sweep {outcome['sweep_id']}: {outcome['task']}, {outcome['steps']} steps of "
        f"{outcome['hidden_size']} units, {outcome['seeds']} seeds; each cell: seeds that beat it, mean "
        f"{outcome['score']} (baseline {outcome['baseline']:.3g})",
        head,
    ]
    for c in outcome["cells"]:
        cells = []
        for t in lengths:
            mean = c["mean"].get(t)
            cells.append(f"{c['beat'].get(t, '-'):6s} {'-' if mean is None else f'{mean:.3g}':7s}")
        reach = c["horizon"]
        said = "-" if reach is None else "none" if reach == NOWHERE else str(reach)
        said = f"> {reach} (all)" if reach and reach == lengths[-1] else said
        lines.append(f"{c['label']:{width}s}  " + "  ".join(cells) + f"  {said}")
    lines += outcome["findings"]
    if outcome["task"] == "adding":
        lines.append("Published (their budgets differ from ours):")
        for r in ADDING:
            beat = ", ".join(map(str, r.beat)) or "none"
            lost = ", ".join(map(str, r.not_beat)) or "none"
            lines.append(f"  {r.model}: beat the baseline at T = {beat}; not at T = {lost} ({r.source}; {r.budget})")
    return lines


def chart(store: Store, sweep_id: int, style: Any = None) -> Any:
    """The horizon's figure (figures.horizon.memory_horizon) from the store: each variant's score against
    length over its finished seeds, and for the adding problem the published RNN and LSTM that stayed at
    the baseline."""
    from .figures import DEFAULT_STYLE, run_color
    from .figures.horizon import Cell, Reference, memory_horizon
    from .published import ADDING

    spec = sweeps.SweepSpec.from_json(store.sweep(sweep_id)["spec"])
    task = spec.base.task
    df = table(store, sweep_id)
    cells = []
    for variant, rows in df.groupby("variant", sort=False):
        rows = rows.sort_values("length")
        cell = spec.variants.get(str(variant), {}).get("cell", spec.base.cell)
        cells.append(
            Cell(
                rows["label"].iloc[0],
                # its role's colour (the plain cell in its own shade, a remedy in another), as on every page
                run_color(cell, "" if variant == cell else str(variant)),
                rows["length"].to_numpy(float),
                rows["mean"].to_numpy(float),
                rows["min"].to_numpy(float),
                rows["max"].to_numpy(float),
                [f"{b}/{len(r)}" for b, r in zip(rows["beat"], rows["runs"])],
                list(rows["runs"]),
            )
        )
    regression = task == "adding"
    baseline = tasks.ADDING_BASELINE if regression else tasks.CHANCE
    references = tuple(
        Reference(f"{r.model} at the baseline (Arjovsky et al. 2016, 128 units, their budget)", r.not_beat, baseline)
        for r in ADDING
        if regression and r.not_beat
    )
    return memory_horizon(
        cells,
        regression,
        baseline,
        baseline / 2 if regression else 2 * tasks.CHANCE,
        LENGTH_TITLE[task],
        f"horizon-{sweep_id}",
        references,
        style or DEFAULT_STYLE,
    )
