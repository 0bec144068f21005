"""A run written out for other tools: CSV or Parquet tables, or TensorBoard event files. Every step recorded
is written; nothing is written outside the directory given."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .connection import StoreError
from .database import Store
from .reads import GRAD_FLOW, HIST

EXPORT_FORMATS = ("csv", "parquet", "tensorboard")


def export_dir(directory: str | os.PathLike) -> Path:
    """A directory typed by a user for exported files, resolved and created; a file there is refused."""
    out = Path(directory).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise StoreError(f"{out}: exists and is not a directory; give a directory to export into")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{out}: cannot create the export directory ({exc.strerror or exc})") from None
    return out


def export_run(store: Store, run_id: int, directory: str | os.PathLike, fmt: str = "csv") -> list[Path]:
    """Write a run into `directory` and return the files (for TensorBoard, its event directory): CSV or
    Parquet files of its config, scalars (one column per name), per-time-step arrays and histograms (one
    row per probe step), or TensorBoard event files; nothing is written outside it."""
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "tensorboard":
        return [export_tensorboard(store, run_id, directory)]
    run = store.run(run_id)
    out = export_dir(directory)

    def write(df: pd.DataFrame, name: str) -> Path:
        path = out / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name.replace('/', '__'))}.{fmt}"  # never leaves `out`
        if fmt == "csv":
            df.to_csv(path)
        else:
            df.to_parquet(path)
        return path

    (out / "config.json").write_text(json.dumps(json.loads(run["config"]), indent=2) + "\n")
    written = [out / "config.json"]
    written.append(write(store.scalars(run_id).pivot(index="step", columns="name", values="value"), "scalars"))
    edges = store.hist_edges(run_id)
    for name in store.array_names(run_id):
        steps, values = store.series(run_id, name)
        flat = values.reshape(len(steps), -1)
        if name.startswith(HIST):
            e = edges[name.removeprefix(HIST)]
            columns = [f"[{lo:.4g},{hi:.4g})" for lo, hi in zip(e[:-1], e[1:])]
        else:
            columns = [str(i) for i in range(flat.shape[1])]
        written.append(write(pd.DataFrame(flat, index=pd.Index(steps, name="step"), columns=columns), name))
    return written


def export_tensorboard(store: Store, run_id: int, logdir: str | os.PathLike) -> Path:
    """Write a run's scalars and histograms as TensorBoard event files under logdir/run<ID>-<name>/ and
    return that directory (`tensorboard --logdir LOGDIR` shows it). Needs the tensorboard package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise StoreError("exporting to TensorBoard needs the tensorboard package: pip install tensorboard") from None
    row = store.run(run_id)
    root = export_dir(logdir)
    out = export_dir(root / f"run{run_id}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', row['name']).strip('-')}")  # in root
    writer = SummaryWriter(log_dir=str(out))
    try:
        config = json.dumps(json.loads(row["config"]), indent=2)
        writer.add_text("config", "    " + config.replace("\n", "\n    "), 0)
        tidy = store.scalars(run_id)
        for name, rows in tidy.groupby("name"):
            for step, value in zip(rows["step"].tolist(), rows["value"].tolist()):
                writer.add_scalar(str(name), value, step)
        steps, flow = store.grad_flow(run_id)
        for step, per_t in zip(steps.tolist(), flow):
            writer.add_scalar(f"{GRAD_FLOW}/t=1", float(per_t[0]), step)
            writer.add_scalar(f"{GRAD_FLOW}/t={len(per_t)}", float(per_t[-1]), step)
        for name, edges in store.hist_edges(run_id).items():
            steps, counts = store.series(run_id, HIST + name)
            centres = (edges[:-1] + edges[1:]).astype(np.float64) / 2
            for step, c in zip(steps.tolist(), counts.astype(np.float64)):
                if c.sum() == 0:
                    continue
                writer.add_histogram_raw(
                    HIST + name,
                    min=float(edges[0]),
                    max=float(edges[-1]),
                    num=int(c.sum()),
                    sum=float((centres * c).sum()),
                    sum_squares=float((centres**2 * c).sum()),
                    bucket_limits=edges[1:].astype(np.float64).tolist(),
                    bucket_counts=c.tolist(),
                    global_step=step,
                )
    finally:
        writer.close()
    return out
