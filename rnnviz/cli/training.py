"""The commands that train one run: train and resume in the foreground, and the background worker and warm
standby the dashboard's runner starts."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import runner
from ..config import ConfigError, Limits
from ..store import Status, Store, StoreError, default_path
from ..trainer import RunResult, train, warm_up
from .common import Parser, add_config_flags, check_data_dir, config_from_args, stop_on_signals, store_arg


def add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train one run in the foreground, then print a JSON line")
    add_config_flags(p)
    store_arg(p)
    p.set_defaults(handler=cmd_train)


def add_resume(sub: Any) -> None:
    p = sub.add_parser(
        "resume", help="continue a stopped, failed or interrupted run from its last checkpoint, in the foreground"
    )
    p.add_argument("run_id", type=int)
    store_arg(p)
    p.set_defaults(handler=cmd_resume)


def add_worker(sub: Any) -> None:
    """A background run, started by the runner (listed in no help: see build_parser)."""
    p = sub.add_parser("worker")
    p.add_argument("--run-id", type=int, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch threads, the launcher's share of the cores")
    p.add_argument("--active-runs", type=int, default=0, help="the launcher's cap on runs training at once")
    store_arg(p)
    p.set_defaults(handler=cmd_worker)


def add_standby(sub: Any) -> None:
    """A warm trainer, started by the dashboard, waiting to become a worker."""
    p = sub.add_parser("standby")
    p.add_argument("--launcher", type=int, required=True, help="the dashboard's pid: it waits only while that lives")
    store_arg(p)
    p.set_defaults(handler=cmd_standby)


def _finished(result: RunResult, store: Store) -> int:
    """A foreground run's JSON line on stdout, its error on stderr, and the exit status."""
    print(json.dumps({**result.to_dict(), "store": str(store.path)}), flush=True)
    if result.error:
        print(f"rnnviz: run {result.run_id} {result.status}: {result.error}", file=sys.stderr)
    return 1 if result.status == Status.FAILED else 0


def cmd_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    check_data_dir(cfg)
    stop = stop_on_signals()
    with Store(args.store) as store:
        result = train(cfg, store, progress=True, should_stop=lambda: stop[0])
    return _finished(result, store)


def cmd_resume(args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    with Store(args.store) as store:
        runner.check_resumable(store, args.run_id)
        result = train(
            store.config(args.run_id),
            store,
            run_id=args.run_id,
            progress=True,
            should_stop=lambda: stop[0],
            resume=True,
        )
    return _finished(result, store)


def cmd_worker(args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    with Store(args.store) as store:
        cfg = store.config(args.run_id)
        if args.threads:  # an execution detail: the stored config keeps what the user asked for
            cfg = cfg.replace(threads=args.threads)
        result = train(cfg, store, run_id=args.run_id, should_stop=lambda: stop[0], resume=args.resume)
        try:
            limits = Limits.from_env()
            if args.active_runs:  # the cap the set was launched under
                limits = dataclasses.replace(limits, active_runs=args.active_runs)
            runner.start_waiting(store, limits)  # this run's slot is free: the next of its set
        except (StoreError, ConfigError) as exc:
            print(f"rnnviz: could not start the next waiting run: {exc}", file=sys.stderr)
    print(json.dumps(result.to_dict()), flush=True)
    return 1 if result.status == Status.FAILED else 0


def cmd_standby(args: argparse.Namespace) -> int:
    job = runner.stand_by(Path(args.store).expanduser() if args.store else default_path(), warm_up, args.launcher)
    if job is None:
        return 0
    out = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # where a spawned worker writes
    os.dup2(out, sys.stdout.fileno())
    os.dup2(out, sys.stderr.fileno())
    parser = Parser(prog="rnnviz")  # the worker's flags, read as `rnnviz worker` reads them
    add_worker(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    return cmd_worker(parser.parse_args(["worker", *job["flags"]]))
