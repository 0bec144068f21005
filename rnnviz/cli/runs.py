"""The commands that read or tidy what is recorded, and list what there is: runs, sweeps, export, report,
stop, delete, presets, data."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from .. import data as datamod
from .. import runner, words
from ..config import PRESET_HELP, PRESETS, RunConfig, preset
from ..store import EXPORT_FORMATS, UNFINISHED, Store, StoreError, export_run
from .common import store_arg


def add_listings(sub: Any) -> None:
    """runs and sweeps: a table, or a JSON list with --json."""
    for name, text, handler in (
        ("runs", "list the runs of a store", cmd_runs),
        ("sweeps", "list the sweeps of a store", cmd_sweeps),
    ):
        p = sub.add_parser(name, help=text)
        store_arg(p)
        p.add_argument("--json", action="store_true", help="a JSON list, newest first")
        p.set_defaults(handler=handler)


def add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="write a run's records as CSV or Parquet files, or TensorBoard event files")
    p.add_argument("run_id", type=int)
    p.add_argument("directory")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    store_arg(p)
    p.set_defaults(handler=cmd_export)


def add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="write runs as one self-contained HTML file (figures, settings, readings)")
    p.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--title", default="")
    store_arg(p)
    p.set_defaults(handler=cmd_report)


def add_presets(sub: Any) -> None:
    p = sub.add_parser("presets", help="list the named presets and their settings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_presets)


def add_stop_delete(sub: Any) -> None:
    for name, text, handler in (
        ("stop", "ask a background run to stop", cmd_stop),
        ("delete", "delete a run and its records", cmd_delete),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("run_id", type=int)
        store_arg(p)
        p.set_defaults(handler=handler)


def add_data(sub: Any) -> None:
    p = sub.add_parser("data", help="show where a dataset is found, or fetch it")
    p.add_argument("--dataset", default="mnist", choices=list(datamod.DATASETS))
    p.add_argument("--download", action="store_true", help="download into the cache (checked by MD5)")
    p.add_argument("--from", dest="source", metavar="DIR", help="copy a directory in MNIST layout into the cache")
    p.set_defaults(handler=cmd_data)


def cmd_sweeps(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        df = store.sweeps()
    cols = ["sweep_id", "name", "status", "runs", "finished", "engine", "ray_address"]
    if args.json:
        print(json.dumps([{**r, "spec": json.loads(r["spec"])} for r in df[[*cols, "spec"]].to_dict("records")]))
    elif df.empty:
        print("no sweeps yet; start one with `python -m rnnviz sweep --preset quick-rnn --seeds 3`")
    else:
        print(df[cols].to_string(index=False))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        df = store.runs()
    cols = ["run_id", "name", "status", "step", "total_steps", "test_accuracy", "saturated_fraction", "seconds"]
    cols += ["sweep_id"]
    if args.json:  # seconds: the whole run's training time, every segment of a resumed run; None while it trains
        df["seconds"] = df["elapsed"].where(~df["status"].isin(UNFINISHED))
        rows = [{k: (None if v != v else v) for k, v in r.items()} for r in df[cols].to_dict("records")]
        for r in rows:
            r["steps"] = r.pop("step")
            r["sweep_id"] = None if r["sweep_id"] is None else int(r["sweep_id"])
        print(json.dumps(rows))
    elif df.empty:
        print("no runs yet; start one with `python -m rnnviz train --preset quick-lstm`")
    else:
        df["sweep_id"] = ["-" if v is None or v != v else str(int(v)) for v in df["sweep_id"]]  # a set's id
        for name in ("test_accuracy", "saturated_fraction", "seconds"):  # a column of runs still training is None
            df[name] = df[name].astype(float)
        # the whole run's training time: every segment of a resumed one, so far for a run still training
        df["seconds"] = ["-" if v != v else f"{v:.1f}" for v in df["elapsed"].astype(float)]
        for name in ("test_accuracy", "saturated_fraction"):  # shares as percentages, as the dashboard writes them
            df[name] = ["-" if v != v else words.percent(v) for v in df[name]]
        print(df[cols].to_string(index=False, na_rep="-"))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    full = {name: dataclasses.asdict(preset(name)) for name in PRESETS}
    if args.json:
        print(json.dumps(full, indent=2))
        return 0
    default = dataclasses.asdict(RunConfig())
    for name, values in full.items():
        changed = ", ".join(f"{k}={v}" for k, v in values.items() if v != default[k] and k != "name")
        print(f"{name:14s} {PRESET_HELP[name]}\n{'':14s} {changed}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        for path in export_run(store, args.run_id, args.directory, args.format):
            print(path)
        if args.format == "tensorboard":
            print(f"open it with: tensorboard --logdir {Path(args.directory).expanduser()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..api import Run
    from ..report import write_report

    with Store(args.store) as store:
        try:
            out = write_report([Run(store, i) for i in args.run_ids], args.output, args.title)
        except (ValueError, OSError) as exc:
            raise StoreError(str(exc)) from None
    print(out)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        runner.stop(store, args.run_id)
    print(f"asked run {args.run_id} to stop")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        store.delete_run(args.run_id)
    print(f"deleted run {args.run_id}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    if args.source:
        print(datamod.install_from(args.source, args.dataset))
        return 0
    found = datamod.locate(args.dataset)
    if found is None and args.download:
        found = datamod.download(args.dataset)
    if found is None:
        print(
            f"{args.dataset}: not found in "
            + ", ".join(map(str, datamod.candidate_dirs(args.dataset)))
            + "; fetch it with --download or copy it in with --from DIR"
        )
        return 1
    train_split, test_split = datamod.load_dir(found)
    print(f"{args.dataset}: {found} ({len(train_split.labels)} train, {len(test_split.labels)} test)")
    return 0
