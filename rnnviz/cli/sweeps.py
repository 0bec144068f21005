"""The commands that train many runs: sweep (a grid times seeds on Ray), horizon (the memory task over
lengths) and demo (the blog pair and the remedies, recorded once for a talk)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from .. import cluster, horizon, runner, sweeps, words
from .. import data as datamod
from ..config import ConfigError, Limits, RunConfig, cores, preset, remedies
from ..data import DataError
from ..store import Status, Store
from .common import add_config_flags, check_data_dir, config_from_args, store_arg

STOPPED_BEFORE = "rnnviz: stopped before the sweep started; nothing was recorded"


def add_sweep(sub: Any) -> None:
    p = sub.add_parser("sweep", help="train a sweep (a grid over settings, times seeds) on Ray, then print a JSON line")
    add_config_flags(p)
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="values of one setting to run, e.g. --grid lr=0.001,0.01 (repeat for more settings; sweeping chunk "
        "reads the digits in chunks)",
    )
    p.add_argument("--seeds", type=int, default=1, help="seeds per grid point, counted up from --seed (default: 1)")
    p.add_argument(
        "--ray-address",
        default=None,
        help="join the Ray cluster at this address (default: $RAY_ADDRESS, else a local Ray sized to this machine)",
    )
    p.add_argument("--cpus-per-run", type=float, default=1.0, help="CPUs Ray gives each run (default: 1)")
    p.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs Ray gives each run (default: 0)")
    store_arg(p)
    p.set_defaults(handler=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    spec = sweeps.SweepSpec(config_from_args(args), sweeps.parse_grid(args.grid), args.seeds)
    if not args.cpus_per_run > 0:
        raise ConfigError("cpus_per_run", f"must be above 0, got {args.cpus_per_run:g}")
    if not args.gpus_per_run >= 0:
        raise ConfigError("gpus_per_run", f"must be 0 or more, got {args.gpus_per_run:g}")
    spec.validate(Limits.from_env())  # every bad grid value is refused before Ray starts
    check_data_dir(spec.base)
    with Store(args.store) as store:
        try:
            sweep_id = cluster.run_sweep(
                spec,
                store,
                address=args.ray_address,
                cpus_per_run=args.cpus_per_run,
                gpus_per_run=args.gpus_per_run,
                report=cluster.progress_to_stderr,
            )
        except cluster.SweepStopped as stopped:  # its runs stopped and kept what they recorded: report them
            sweep_id = stopped.sweep_id
        except KeyboardInterrupt:
            print(STOPPED_BEFORE, file=sys.stderr)
            return 130
        outcome = sweeps.result(store, sweep_id)
    print(json.dumps({**outcome, "store": str(store.path)}), flush=True)
    return {Status.FINISHED: 0, Status.STOPPED: 130}.get(outcome["status"], 1)


def add_horizon(sub: Any) -> None:
    p = sub.add_parser(
        "horizon",
        help="how long can each cell remember? RNN, LSTM (and more) over a range of lengths of a memory task, "
        "several seeds each, as a sweep on Ray; prints each cell's memory horizon and a JSON line",
    )
    which = p.add_mutually_exclusive_group()
    q, f = horizon.QUICK, horizon.FULL
    which.add_argument(
        "--quick",
        action="store_true",
        help=f"the talk's horizon (the default): {', '.join(q.variants)} on the adding problem at T = "
        f"{', '.join(map(str, q.lengths))}, {q.seeds} seeds, {q.steps} steps of {q.hidden_size} units; timed on 2 "
        "cores in bench/README.md",
    )
    which.add_argument(
        "--full",
        action="store_true",
        help=f"for a cluster: {', '.join(f.variants)} at T = {', '.join(map(str, f.lengths))}, {f.seeds} seeds, "
        f"{f.steps} steps of {f.hidden_size} units",
    )
    p.add_argument("--task", choices=list(horizon.LENGTH_FIELD), help="adding (default) or delayed")
    p.add_argument("--lengths", help="comma-separated lengths T (adding) or delays D (delayed), e.g. 10,20,40")
    p.add_argument("--cells", help=f"comma-separated, of {', '.join(horizon.VARIANTS)}")
    p.add_argument("--seeds", type=int, help="seeds per cell and length")
    p.add_argument("--steps", type=int, help="training steps of every run")
    p.add_argument("--hidden-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--data-dir", default="", help="delayed task: directory holding the MNIST IDX files")
    p.add_argument("--k", type=int, default=0, help="seeds that must beat the task at a length (default: a majority)")
    p.add_argument("--again", action="store_true", help="run it anew even if the store holds this horizon")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (default: $RAY_ADDRESS, else local)")
    store_arg(p)
    p.set_defaults(handler=cmd_horizon)


def horizon_spec(args: argparse.Namespace) -> horizon.HorizonSpec:
    """The horizon the flags ask for: --quick (the default) or --full, with any of its settings changed."""
    spec = horizon.FULL if args.full else horizon.QUICK
    changes: dict[str, Any] = {}
    try:
        if args.lengths:
            changes["lengths"] = tuple(int(v) for v in args.lengths.split(","))
    except ValueError:
        raise ConfigError("lengths", f"give whole numbers separated by commas, got {args.lengths!r}") from None
    if args.cells:
        changes["variants"] = tuple(v.strip() for v in args.cells.split(","))
    for name in ("task", "seeds", "steps", "hidden_size", "lr"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.data_dir:
        changes["extra"] = {**spec.extra, "data_dir": args.data_dir}
    spec = dataclasses.replace(spec, **changes)
    if spec.seeds < 1:
        raise ConfigError("seeds", f"must be at least 1, got {spec.seeds}")
    if not 0 <= args.k <= spec.seeds:
        raise ConfigError("k", f"must be between 1 and the seeds ({spec.seeds}), got {args.k}")
    return spec


def cmd_horizon(args: argparse.Namespace) -> int:
    hspec = horizon_spec(args)
    hspec.sweep_spec().validate(Limits.from_env())  # every bad value is refused before Ray starts
    name = f"memory horizon ({'full' if args.full else 'quick' if not (args.lengths or args.cells) else 'custom'})"
    with Store(args.store) as store:
        try:
            sweep_id = horizon.run_and_wait(
                hspec, store, name, args.again, args.ray_address, report=cluster.progress_to_stderr
            )
        except cluster.SweepStopped as stopped:
            sweep_id = stopped.sweep_id
        except KeyboardInterrupt:
            print(STOPPED_BEFORE, file=sys.stderr)
            return 130
        outcome = horizon.summary(store, sweep_id, args.k or None)
        status = store.sweep(sweep_id)["status"]
    for line in horizon.findings_table(outcome):
        print(line, file=sys.stderr)
    print(json.dumps({**outcome, "status": status, "store": str(store.path)}), flush=True)
    return {Status.FINISHED: 0, Status.STOPPED: 130}.get(status, 1)


def add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="record the blog pair and the remedies set once (runs already recorded are reused), to replay "
        "offline in a talk",
    )
    p.add_argument("--steps", type=int, default=5000, help="training steps of every run (default: 5000)")
    p.add_argument("--clip", type=float, default=1.0, help="threshold of the clipping remedy (default: 1.0)")
    p.add_argument("--long", action="store_true", help="also the 112-step pair (long-rnn, long-lstm)")
    p.add_argument(
        "--jobs", type=int, default=cores(), help=f"runs training at once (default: one per core, {cores()} here)"
    )
    p.add_argument("--data-dir", default="", help="directory holding the MNIST IDX files (default: look up)")
    store_arg(p)
    p.set_defaults(handler=cmd_demo)


def demo_configs(args: argparse.Namespace) -> list[RunConfig]:
    if args.jobs < 1:
        raise ConfigError("jobs", f"must be >= 1, got {args.jobs}")
    common = dict(steps=args.steps, data_dir=args.data_dir)  # threads: the runner shares the cores
    configs = remedies(args.clip, **common)
    if args.long:
        configs += [preset("long-rnn", **common), preset("long-lstm", **common)]
    return [cfg.validate() for cfg in configs]


def cmd_demo(args: argparse.Namespace) -> int:
    configs = demo_configs(args)
    datamod.check_dir(args.data_dir)
    if not args.data_dir and datamod.locate("mnist") is None:
        raise DataError("MNIST is not on this machine: run `rnnviz data --download` first, or give --data-dir")
    # the trainers start the waiting runs themselves, under the same cap (runner passes it on to them)
    limits = dataclasses.replace(Limits.from_env(), active_runs=args.jobs)
    with Store(args.store) as store:
        try:
            ids = runner.launch_and_wait(configs, store, limits, report=lambda line: print(line, flush=True))
        except KeyboardInterrupt:
            return 130
        runs = store.runs().set_index("run_id").loc[ids]
    cols = ["name", "status", "step", "test_accuracy", "saturated_fraction"]
    for name in ("test_accuracy", "saturated_fraction"):
        runs[name] = ["-" if v is None or v != v else words.percent(v) for v in runs[name]]
    print(runs[cols].to_string())
    print(
        f"\nrecorded in {store.path}. Open it with `rnnviz app`: the Remedies page shows the set, and Replay in "
        "the sidebar plays any run back at the speed you pick."
    )
    return 0 if (runs["status"] == Status.FINISHED).all() else 1
