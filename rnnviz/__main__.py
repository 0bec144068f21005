"""The command line: `rnnviz` (or `python -m rnnviz`) app|train|sweep|runs|sweeps|export|presets|stop|..."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import signal
import sqlite3
import sys
import tomllib
from pathlib import Path
from typing import Any, NoReturn

from . import cluster, horizon, roles, runner, sets, share, words
from . import data as datamod
from .config import (
    PRESET_HELP,
    PRESETS,
    ConfigError,
    Limits,
    RunConfig,
    cores,
    named_for_changes,
    preset,
    remedies,
)
from .data import DataError
from .store import EXPORT_FORMATS, Status, Store, StoreError, default_path, export_run
from .trainer import train, warm_up


class Parser(argparse.ArgumentParser):
    """argparse that refuses bad input with one line, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"rnnviz: error: {message} (see `python -m {self.prog} --help`)\n")


# Settings whose flag is not their name: the adding problem's length reads as the literature writes it.
FLAGS = {"length": "seq-len"}


def _flag(name: str) -> str:
    return "--" + FLAGS.get(name, name.replace("_", "-"))


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=list(PRESETS), help="start from a named preset (see `presets`)")
    types = {"int": int, "float": float, "str": str}
    for f in dataclasses.fields(RunConfig):
        default = f.default
        if str(f.type) == "bool":
            p.add_argument(
                _flag(f.name),
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{f.metadata['help']} (default: {default})",
            )
        else:
            p.add_argument(
                _flag(f.name),
                dest=f.name,
                type=types[str(f.type)],
                default=None,
                metavar="{" + ",".join(f.metadata["rule"].choices) + "}"
                if f.metadata["rule"].choices
                else f.name.upper(),
                help=f"{f.metadata['help']} (default: {default!r})",
            )


def config_from_args(args: argparse.Namespace) -> RunConfig:
    overrides = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig) if getattr(args, f.name) is not None
    }
    if not args.preset:
        return RunConfig(**overrides).validate()
    cfg = preset(args.preset, **overrides)
    return (cfg if args.name else named_for_changes(cfg, preset(args.preset))).validate()


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, help="run store file (default: $RNNVIZ_STORE, else ~/.local/share/rnnviz/runs.sqlite)"
    )


def build_parser() -> Parser:
    parser = Parser(prog="rnnviz", description="Watch a vanilla RNN fail where an LSTM learns.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train one run in the foreground, then print a JSON line")
    _add_config_flags(p)
    _store_arg(p)

    p = sub.add_parser(
        "sweep", help="train a set of runs (a grid over settings, times seeds) on Ray, then print a JSON line"
    )
    _add_config_flags(p)
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
    _store_arg(p)

    p = sub.add_parser("runs", help="list the runs of a store")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="a JSON list, newest first")

    p = sub.add_parser("sweeps", help="list the sets of runs of a store")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="a JSON list, newest first")

    p = sub.add_parser("export", help="write a run's records as CSV or Parquet files, or TensorBoard event files")
    p.add_argument("run_id", type=int)
    p.add_argument("directory")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    _store_arg(p)

    p = sub.add_parser("report", help="write runs as one self-contained HTML file (figures, settings, readings)")
    p.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--title", default="")
    _store_arg(p)

    p = sub.add_parser(
        "app",
        help="start the dashboard (extra arguments go to `streamlit run`, e.g. --server.port 8600)",
    )
    _store_arg(p)
    p.add_argument(
        "--data-dir",
        default="",
        help="where the dashboard's runs find MNIST: a folder of its four IDX files, or one holding mnist/ "
        "(sets $RNNVIZ_DATA_DIR; without it, ~/.cache/rnnviz/mnist, where the Train page's download puts it)",
    )
    p.add_argument(
        "--share",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="show the dashboard to a room: listen on this machine's network address (or ADDRESS) and print a "
        "viewer link (watch only) and a presenter link (acts; its secret is made for this server start)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the streamlit command instead of running it")

    p = sub.add_parser("presets", help="list the named presets and their settings")
    p.add_argument("--json", action="store_true")

    for name, text in (
        ("stop", "ask a background run to stop"),
        ("delete", "delete a run and its records"),
        ("resume", "continue a stopped, failed or interrupted run from its last checkpoint, in the foreground"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("run_id", type=int)
        _store_arg(p)

    p = sub.add_parser("data", help="show where a dataset is found, or fetch it")
    p.add_argument("--dataset", default="mnist", choices=list(datamod.DATASETS))
    p.add_argument("--download", action="store_true", help="download into the cache (checked by MD5)")
    p.add_argument("--from", dest="source", metavar="DIR", help="copy a directory in MNIST layout into the cache")

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
    _store_arg(p)

    p = sub.add_parser(
        "horizon",
        help="how long can each cell remember? RNN, LSTM (and more) over a range of lengths of a memory task, "
        "several seeds each, as a set on Ray; prints each cell's memory horizon and a JSON line",
    )
    which = p.add_mutually_exclusive_group()
    q, f = horizon.QUICK, horizon.FULL
    which.add_argument(
        "--quick",
        action="store_true",
        help=f"the talk's horizon (the default): {', '.join(q.variants)} on the adding problem at T = "
        f"{', '.join(map(str, q.lengths))}, {q.seeds} seeds, {q.steps} steps of {q.hidden_size} units; about 5 "
        "minutes on 2 cores",
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
    _store_arg(p)

    # A background run, started by the runner. Without help= argparse lists no help line for it, and the
    # metavar names only the commands for people (help=SUPPRESS printed "==SUPPRESS==" instead of hiding it).
    sub.metavar = "{" + ",".join(sub.choices) + "}"
    p = sub.add_parser("worker")
    p.add_argument("--run-id", type=int, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch threads, the launcher's share of the cores")
    p.add_argument("--active-runs", type=int, default=0, help="the launcher's cap on runs training at once")
    _store_arg(p)
    p = sub.add_parser("standby")  # a warm trainer, started by the dashboard, waiting to become a worker
    p.add_argument("--launcher", type=int, required=True, help="the dashboard's pid: it waits only while that lives")
    _store_arg(p)
    return parser


def _stop_on_signals() -> list[bool]:
    """SIGTERM and Ctrl-C end the run gracefully at the end of the current step."""
    flag = [False]

    def handler(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt  # asked twice: stop now
        flag[0] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return flag


def _check_data_dir(cfg: RunConfig) -> None:
    """A --data-dir that is not there is refused as a setting, before anything starts."""
    try:
        datamod.check_dir(cfg.data_dir)
    except DataError as exc:
        raise ConfigError("data_dir", str(exc)) from None


def cmd_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    _check_data_dir(cfg)
    flag = _stop_on_signals()
    with Store(args.store) as store:
        result = train(cfg, store, progress=True, should_stop=lambda: flag[0])
    print(json.dumps({**result.to_dict(), "store": str(store.path)}), flush=True)
    if result.error:
        print(f"rnnviz: run {result.run_id} {result.status}: {result.error}", file=sys.stderr)
    return 1 if result.status == Status.FAILED else 0


def cmd_worker(args: argparse.Namespace) -> int:
    flag = _stop_on_signals()
    with Store(args.store) as store:
        cfg = store.config(args.run_id)
        if args.threads:  # an execution detail: the stored config keeps what the user asked for
            cfg = cfg.replace(threads=args.threads)
        result = train(cfg, store, run_id=args.run_id, should_stop=lambda: flag[0], resume=args.resume)
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
    return cmd_worker(build_parser().parse_args(["worker", *job["flags"]]))


def cmd_resume(args: argparse.Namespace) -> int:
    flag = _stop_on_signals()
    with Store(args.store) as store:
        runner.check_resumable(store, args.run_id)
        result = train(
            store.config(args.run_id),
            store,
            run_id=args.run_id,
            progress=True,
            should_stop=lambda: flag[0],
            resume=True,
        )
    print(json.dumps({**result.to_dict(), "store": str(store.path)}), flush=True)
    if result.error:
        print(f"rnnviz: run {result.run_id} {result.status}: {result.error}", file=sys.stderr)
    return 1 if result.status == Status.FAILED else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    spec = sets.SetSpec(config_from_args(args), sets.parse_grid(args.grid), args.seeds)
    if not args.cpus_per_run > 0:
        raise ConfigError("cpus_per_run", f"must be above 0, got {args.cpus_per_run:g}")
    if not args.gpus_per_run >= 0:
        raise ConfigError("gpus_per_run", f"must be 0 or more, got {args.gpus_per_run:g}")
    spec.validate(Limits.from_env())  # every bad grid value is refused before Ray starts
    _check_data_dir(spec.base)
    with Store(args.store) as store:
        try:
            sweep_id = cluster.run_set(
                spec,
                store,
                address=args.ray_address,
                cpus_per_run=args.cpus_per_run,
                gpus_per_run=args.gpus_per_run,
                report=cluster.progress_to_stderr,
            )
        except cluster.SetStopped as stopped:  # its runs stopped and kept what they recorded: report them
            sweep_id = stopped.sweep_id
        except KeyboardInterrupt:
            print("rnnviz: stopped before the set started; nothing was recorded", file=sys.stderr)
            return 130
        outcome = sets.result(store, sweep_id)
    print(json.dumps({**outcome, "store": str(store.path)}), flush=True)
    return {Status.FINISHED: 0, Status.STOPPED: 130}.get(outcome["status"], 1)


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
    hspec.set_spec().validate(Limits.from_env())  # every bad value is refused before Ray starts
    name = f"memory horizon ({'full' if args.full else 'quick' if not (args.lengths or args.cells) else 'custom'})"
    with Store(args.store) as store:
        try:
            sweep_id = horizon.record(
                hspec, store, name, args.again, args.ray_address, report=cluster.progress_to_stderr
            )
        except cluster.SetStopped as stopped:
            sweep_id = stopped.sweep_id
        except KeyboardInterrupt:
            print("rnnviz: stopped before the set started; nothing was recorded", file=sys.stderr)
            return 130
        outcome = horizon.summary(store, sweep_id, args.k or None)
        status = store.sweep(sweep_id)["status"]
    for line in horizon.findings_table(outcome):
        print(line, file=sys.stderr)
    print(json.dumps({**outcome, "status": status, "store": str(store.path)}), flush=True)
    return {Status.FINISHED: 0, Status.STOPPED: 130}.get(status, 1)


def cmd_sweeps(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        df = store.sweeps()
    cols = ["sweep_id", "name", "status", "runs", "finished", "engine", "ray_address"]
    if args.json:
        print(json.dumps([{**r, "spec": json.loads(r["spec"])} for r in df[[*cols, "spec"]].to_dict("records")]))
    elif df.empty:
        print("no sets of runs yet; start one with `python -m rnnviz sweep --preset quick-rnn --seeds 3`")
    else:
        print(df[cols].to_string(index=False))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    with Store(args.store) as store:
        df = store.runs()
    cols = ["run_id", "name", "status", "step", "total_steps", "test_accuracy", "saturated_fraction", "seconds"]
    cols += ["sweep_id"]
    if args.json:
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
        seconds = df["seconds"].fillna(df["elapsed"])  # so far, for a run still training
        df["seconds"] = ["-" if v != v else f"{v:.1f}" for v in seconds]
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
    from .api import Run
    from .report import write_report

    with Store(args.store) as store:
        try:
            out = write_report([Run(store, i) for i in args.run_ids], args.output, args.title)
        except (ValueError, OSError) as exc:
            raise StoreError(str(exc)) from None
    print(out)
    return 0


def streamlit_flags(settings: dict[str, Any]) -> list[str]:
    """rnnviz's Streamlit settings (the same file as .streamlit/config.toml) as command-line flags."""
    flags = []
    for section, table in settings.items():
        for key, value in table.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def cmd_app(args: argparse.Namespace) -> int:
    """Replace this process with `streamlit run` on the packaged dashboard and its live-chart feeds (Ctrl-C
    reaches Streamlit)."""
    here = Path(__file__).parent
    settings = tomllib.loads((here / "dashboard" / "web" / "streamlit.toml").read_text())
    env = dict(os.environ)  # the server's: it finds the store in $RNNVIZ_STORE
    if args.store:
        env["RNNVIZ_STORE"] = str(Path(args.store).expanduser().resolve())
    if args.data_dir:
        env["RNNVIZ_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    # glibc gives each of the server's many threads its own malloc arena; their fragmentation grew the
    # server by ~25 MiB a minute under three watching tabs, two arenas by ~4 (bench/bench_load.py).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(here / "dashboard" / "web" / "server.py"),
        *streamlit_flags(settings),
    ]
    cmd += args.streamlit_args
    if args.share is not None:
        cmd += _share(args, env)
    else:
        address = share.streamlit_option(args.streamlit_args, "server.address") or env.get("STREAMLIT_SERVER_ADDRESS")
        if share.exposed(address):
            print(share.exposure_warning(str(address)), file=sys.stderr, flush=True)
    if args.dry_run:
        print(shlex.join([f"{k}={env[k]}" for k in ("RNNVIZ_STORE", "RNNVIZ_DATA_DIR", roles.ENV) if k in env] + cmd))
        return 0
    os.execve(sys.executable, cmd, env)


def _share(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """`app --share`: the secret in the server's environment (rnnviz.roles), the two links printed, and the
    Streamlit flags that listen on the address and port the links name."""
    if share.streamlit_option(args.streamlit_args, "server.address") is not None:
        raise ConfigError("share", "give the address to --share (`--share 192.168.1.20`), not --server.address")
    address = share.check_address(args.share) if args.share else share.network_address()
    port_text = share.streamlit_option(args.streamlit_args, "server.port") or str(share.DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError("share", f"--server.port must be a port number, got {port_text!r}")
    port = int(port_text)
    env[roles.ENV] = share.new_key()
    viewer, presenter = share.links(address, port, env[roles.ENV])
    print(
        f"Sharing the dashboard on {share.base_url(address, port)} (plain HTTP: see docs/security.md).\n"
        f"  Viewers (they watch, follow you, and cannot start, stop or delete anything): {viewer}\n"
        f"  Presenter (for you alone; valid until this server stops): {presenter}",
        flush=True,
    )
    # the port pinned: Streamlit moves to the next free port when its default is taken, and the links would lie
    return [f"--server.address={address}", f"--server.port={port}", f"--browser.serverAddress={address}"]


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
            ids = runner.record(configs, store, limits, report=lambda line: print(line, flush=True))
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


COMMANDS = {
    "train": cmd_train,
    "worker": cmd_worker,
    "standby": cmd_standby,
    "runs": cmd_runs,
    "sweep": cmd_sweep,
    "horizon": cmd_horizon,
    "sweeps": cmd_sweeps,
    "presets": cmd_presets,
    "export": cmd_export,
    "stop": cmd_stop,
    "delete": cmd_delete,
    "data": cmd_data,
    "resume": cmd_resume,
    "app": cmd_app,
    "report": cmd_report,
    "demo": cmd_demo,
}


def run() -> None:
    """The `rnnviz` console script."""
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "app":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.streamlit_args = extra
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader went away (`rnnviz runs | head`): stop quietly, with the status of a tool that SIGPIPE
        # ended. Python would print a second BrokenPipeError flushing stdout at exit, so stdout goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ConfigError as exc:
        refused = "; ".join(f"{_flag(p.field)}: {p.message}" for p in exc.problems)
        print(f"rnnviz: error: {refused}", file=sys.stderr)
    except (DataError, StoreError, cluster.ClusterError) as exc:
        print(f"rnnviz: error: {exc}", file=sys.stderr)
    except sqlite3.Error as exc:
        print(f"rnnviz: error: the run store failed ({exc}); check the disk and the --store path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
