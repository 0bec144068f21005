"""Sweeps: a base config, a grid over its fields and seeds; their runs grouped over seeds and summed up.

Running a sweep is Ray's work (`cluster.py`); this module is what a sweep is and how its results read.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import EXECUTION_ONLY, FIELDS, ConfigError, Limits, RunConfig, value_text
from .store import Status, Store

COLLAPSED = 0.2  # a final test accuracy below this is a collapse (chance is 0.1)
# Not swept: what a run is called, where its data lives and how it is computed change none of its numbers,
# and seeds have their own count.
NOT_SWEPT = ("name", "seed", "data_dir", *EXECUTION_ONLY)
SUMMED = ("test_accuracy", "saturated_fraction", "grad_h_ratio")


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`--grid lr=0.001,0.003` flags to {field: values}, each value of its field's type; a bad one raises
    ConfigError naming it."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip().replace("-", "_")
        name = "length" if name == "seq_len" else name  # the flag's name (--seq-len) for the adding problem's length
        if not sep or not values.strip():
            raise ConfigError("grid", f"{item!r}: write a field and its values, e.g. lr=0.001,0.003,0.01")
        if name not in FIELDS:
            raise ConfigError("grid", f"{name!r} is not a setting; `rnnviz train --help` lists them")
        if name in NOT_SWEPT:
            why = "give the number of seeds with --seeds" if name == "seed" else "it changes no result"
            raise ConfigError("grid", f"{name} cannot be swept: {why}")
        if name in grid:
            raise ConfigError("grid", f"{name} is given twice; put all its values in one --grid {name}=a,b")
        kind = PARSERS[str(FIELDS[name].type)]
        parsed = []
        for text in values.split(","):
            try:
                parsed.append(kind(text.strip()))
            except ValueError:
                raise ConfigError(name, f"grid value {text.strip()!r} is not a {FIELDS[name].type}") from None
        if len(set(parsed)) < len(parsed):
            raise ConfigError(name, f"grid values repeat: {values}")
        grid[name] = parsed
    return grid


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "on", "yes"):
        return True
    if text.lower() in ("0", "false", "off", "no"):
        return False
    raise ValueError(text)


PARSERS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": _bool, "str": str}


@dataclass
class SweepSpec:
    """A sweep: every point of the grid (its fields' values crossed) times `seeds` seeds, counted up
    from the base config's seed; with `variants` (named changes to the base, such as cells that differ in
    several settings), the grid is run for each of them."""

    base: RunConfig
    grid: dict[str, list[Any]] = field(default_factory=dict)
    seeds: int = 1
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def grid_points(self) -> list[dict[str, Any]]:
        """The grid's points, the first field varying slowest. Sweeping chunk reads the digits in chunks."""
        points: list[dict[str, Any]] = [{}]
        for name, values in self.grid.items():
            points = [{**p, name: v} for p in points for v in values]
        if "chunk" in self.grid:
            points = [{**p, "view": "chunks"} for p in points]
        return points

    def named_points(self) -> list[tuple[str, dict[str, Any]]]:
        """Every point of the sweep with its variant's name ('' without variants): the variant's changes and the
        grid point's values together, variants varying slowest."""
        variants = self.variants or {"": {}}
        # each variant says every setting that any of them changes, so that its runs are told apart by them
        changed = {k: getattr(self.base, k) for changes in variants.values() for k in changes}
        return [(name, {**changed, **changes, **p}) for name, changes in variants.items() for p in self.grid_points()]

    def points(self) -> list[dict[str, Any]]:
        return [point for _, point in self.named_points()]

    def configs(self) -> list[RunConfig]:
        """Every run of the sweep, named for its variant (else the base), grid point and seed: blog-rnn (lr
        0.003, seed 1). What the base changed from its preset is in the sweep's name."""
        stem = self.base.display_name.split(" (")[0]
        runs = []
        for variant, point in self.named_points():
            for k in range(self.seeds):
                cfg = self.base.replace(**point, seed=self.base.seed + k)
                shown = [f"{name.replace('_', ' ')} {value_text(point[name])}" for name in self.grid]
                runs.append(cfg.replace(name=f"{variant or stem} ({', '.join([*shown, f'seed {cfg.seed}'])})"))
        return runs

    def validate(self, limits: Limits) -> SweepSpec:
        """Refuse the whole sweep before anything starts if one of its runs would be refused."""
        if self.seeds < 1:
            raise ConfigError("seeds", f"must be at least 1, got {self.seeds}")
        found: dict[tuple[str, str], ConfigError] = {}
        for cfg in self.configs():
            for problem in cfg.problems() or limits.problems(cfg):
                where = ", ".join(f"{k}={getattr(cfg, k)}" for k in self.grid) or "the base config"
                found.setdefault(
                    (problem.field, problem.message),
                    ConfigError(problem.field, f"{problem.message} (in the grid point {where})"),
                )
        if found:
            raise ConfigError.of(list(found.values()))
        return self

    def to_json(self) -> str:
        values = {"base": dataclasses.asdict(self.base), "grid": self.grid, "seeds": self.seeds}
        return json.dumps({**values, "variants": self.variants} if self.variants else values)

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        values = json.loads(text)
        return cls(RunConfig.from_dict(values["base"]), values["grid"], values["seeds"], values.get("variants", {}))


def group_key(cfg: RunConfig) -> str:
    """What runs of one group share: every setting but the seed, the name and how it was computed."""
    values = dataclasses.asdict(cfg)
    return json.dumps({k: v for k, v in values.items() if k not in NOT_SWEPT}, sort_keys=True)


def group_label(run_name: str) -> str:
    """A run's name without its seed, to name its group: 'blog-rnn (lr 0.01, seed 2)' -> 'blog-rnn (lr 0.01)'."""
    return re.sub(r" \(seed \d+\)$", "", re.sub(r", seed \d+\)$", ")", run_name))


def seed_groups(runs: list) -> list[tuple[str, list]]:
    """Runs (anything with `cfg` and `row`) that differ only in their seed, as (group label, runs), for the
    groups of more than one run, in the order of their first run."""
    by_key: dict[str, list] = {}
    for r in runs:
        by_key.setdefault(group_key(r.cfg), []).append(r)
    return [(group_label(str(members[0].row["name"])), members) for members in by_key.values() if len(members) > 1]


def band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band of curves over seeds, (n, P) -> three (P,): min to max, or the interquartile range when
    there are 5 or more seeds (one outlier then does not set the band). NaN (no record) is left out."""
    with np.errstate(all="ignore"):
        mean = np.nanmean(values, 0)
        if len(values) >= 5:
            lo, hi = np.nanpercentile(values, [25, 75], 0)
        else:
            lo, hi = np.nanmin(values, 0), np.nanmax(values, 0)
    return mean, lo, hi


def band_name(n: int) -> str:
    return "interquartile range" if n >= 5 else "min to max"


def groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs (a `Store.runs` frame) with their group: `group` (the key), `group_seeds` (runs in it)."""
    out = runs.copy()
    out["group"] = [group_key(RunConfig.from_dict(json.loads(c))) for c in out["config"]]
    out["group_seeds"] = out.groupby("group")["run_id"].transform("count")
    return out


def agreement(accuracies: list[float | None]) -> str:
    """How many seeds agree on the outcome, from each seed's final test accuracy (None: not finished):
    'collapsed below 20% in 4 of 6 seeds'."""
    done = [a for a in accuracies if a is not None and a == a]
    if not done:
        return "no seed has finished yet"
    low, n = sum(a < COLLAPSED for a in done), len(done)
    mean = f"mean {np.mean(done):.1%}, range {min(done):.1%} to {max(done):.1%}"
    said = (
        f"collapsed below {COLLAPSED:.0%} in {low} of {n} seeds"
        if low
        else f"above {COLLAPSED:.0%} in {n} of {n} seeds"
    )
    left = len(accuracies) - n
    return f"{said} ({mean})" + (f"; {left} of {len(accuracies)} seeds not finished" if left else "")


def final_accuracy(row) -> float | None:
    """A run's final test accuracy, None until it has finished (a run's latest evaluation is not its end)."""
    return row["test_accuracy"] if row["status"] == Status.FINISHED else None


def summary(store: Store, sweep_id: int) -> pd.DataFrame:
    """One row per grid point of a sweep: its swept values, runs, seeds finished, and the mean, min and max over
    seeds of each of `SUMMED` (the gradient ratio at the last probe)."""
    spec = SweepSpec.from_json(store.sweep(sweep_id)["spec"])
    runs = store.runs()
    runs = runs[runs["sweep_id"] == sweep_id].sort_values("run_id")
    cfgs = {int(r): RunConfig.from_dict(json.loads(c)) for r, c in zip(runs["run_id"], runs["config"])}
    ratios = {r: _last(store, r, "grad_h_ratio") for r in cfgs}
    rows = []
    for variant, point in spec.named_points():
        ids = [r for r, cfg in cfgs.items() if all(getattr(cfg, k) == v for k, v in point.items())]
        mine = runs[runs["run_id"].isin(ids)]
        row: dict[str, Any] = {"variant": variant} if spec.variants else {}
        row.update({k: point[k] for k in spec.grid})
        row["runs"] = ids
        row["finished"] = int((mine["status"] == Status.FINISHED).sum())
        row["statuses"] = ", ".join(sorted(set(mine["status"])))
        values = {
            "test_accuracy": mine["test_accuracy"].tolist(),
            "saturated_fraction": mine["saturated_fraction"].tolist(),
            "grad_h_ratio": [ratios[r] for r in ids],
        }
        for name in SUMMED:
            got = [float(v) for v in values[name] if v is not None and v == v]
            row[f"{name}_mean"] = float(np.mean(got)) if got else None
            row[f"{name}_min"] = min(got) if got else None
            row[f"{name}_max"] = max(got) if got else None
        row["reading"] = agreement([final_accuracy(r) for _, r in mine.iterrows()])
        rows.append(row)
    return pd.DataFrame(rows)


def _last(store: Store, run_id: int, name: str) -> float | None:
    df = store.scalars(run_id, [name])
    return float(df["value"].iloc[-1]) if len(df) else None


def result(store: Store, sweep_id: int) -> dict[str, Any]:
    """The sweep as `rnnviz sweep` reports it in its one JSON line."""
    row = store.sweep(sweep_id)
    table = summary(store, sweep_id)
    spec = SweepSpec.from_json(row["spec"])
    configs = []
    for rec in table.to_dict("records"):
        entry: dict[str, Any] = {"config": {k: rec[k] for k in spec.grid}, "runs": rec["runs"]}
        for name in ("test_accuracy", "saturated_fraction"):
            entry[name] = {stat: rec[f"{name}_{stat}"] for stat in ("mean", "min", "max")}
        entry["reading"] = rec["reading"]
        configs.append(entry)
    return {
        "sweep_id": sweep_id,
        "engine": row["engine"],
        "ray_address": row["ray_address"],
        "runs": [r for rec in configs for r in rec["runs"]],
        "status": row["status"],
        "configs": configs,
    }
