"""The command line: `rnnviz` (or `python -m rnnviz`) app|train|sweep|runs|sweeps|export|presets|stop|...
Each module adds its subcommands, each with its handler; this one orders them and turns errors into one line."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys

from .. import cluster
from ..config import ConfigError
from ..data import DataError
from ..store import StoreError
from . import app, runs, sweeps, training
from .common import Parser, config_from_args, flag

__all__ = ["build_parser", "config_from_args", "flag", "main", "run"]

# The subcommands in the order --help lists them.
COMMANDS = (
    training.add_train,
    sweeps.add_sweep,
    runs.add_listings,
    runs.add_export,
    runs.add_report,
    app.add_app,
    runs.add_presets,
    runs.add_stop_delete,
    training.add_resume,
    runs.add_data,
    sweeps.add_demo,
    sweeps.add_horizon,
)
# Started by the runner and the dashboard, not by people: listed in no help.
INTERNAL = (training.add_worker, training.add_standby)


def build_parser() -> Parser:
    parser = Parser(prog="rnnviz", description="Watch a vanilla RNN fail where an LSTM learns.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in COMMANDS:
        add(sub)
    # Without help= argparse lists no help line for a command, and the metavar names only the commands for
    # people (help=SUPPRESS printed "==SUPPRESS==" instead of hiding it).
    sub.metavar = "{" + ",".join(sub.choices) + "}"
    for add in INTERNAL:
        add(sub)
    return parser


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
        return args.handler(args)
    except BrokenPipeError:
        # The reader went away (`rnnviz runs | head`): stop quietly, with the status of a tool that SIGPIPE
        # ended. Python would print a second BrokenPipeError flushing stdout at exit, so stdout goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ConfigError as exc:
        refused = "; ".join(f"{flag(p.field)}: {p.message}" for p in exc.problems)
        print(f"rnnviz: error: {refused}", file=sys.stderr)
    except (DataError, StoreError, cluster.ClusterError) as exc:
        print(f"rnnviz: error: {exc}", file=sys.stderr)
    except sqlite3.Error as exc:
        print(f"rnnviz: error: the run store failed ({exc}); check the disk and the --store path", file=sys.stderr)
    return 2
