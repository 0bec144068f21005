"""What the subcommands share: the parser that refuses in one line, a flag for every RunConfig field, --store,
and the graceful stop on signals."""

from __future__ import annotations

import argparse
import dataclasses
import signal
from typing import Any, NoReturn

from .. import data as datamod
from ..config import PRESETS, ConfigError, RunConfig, named_for_changes, preset
from ..data import DataError


class Parser(argparse.ArgumentParser):
    """argparse that refuses bad input with one line, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"rnnviz: error: {message} (see `python -m {self.prog} --help`)\n")


# Settings whose flag is not their name: the adding problem's length reads as the literature writes it.
FLAGS = {"length": "seq-len"}


def flag(name: str) -> str:
    """The command-line flag of a setting: hidden_size -> --hidden-size."""
    return "--" + FLAGS.get(name, name.replace("_", "-"))


def add_config_flags(p: argparse.ArgumentParser, config: type = RunConfig) -> None:
    """--preset, and one flag for every field of `config`, its help and choices read from the field's
    description; a flag left out is None, so the preset's value stands."""
    p.add_argument("--preset", choices=list(PRESETS), help="start from a named preset (see `presets`)")
    types = {"int": int, "float": float, "str": str}
    for f in dataclasses.fields(config):
        default = f.default
        if str(f.type) == "bool":
            p.add_argument(
                flag(f.name),
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{f.metadata['help']} (default: {default})",
            )
        else:
            p.add_argument(
                flag(f.name),
                dest=f.name,
                type=types[str(f.type)],
                default=None,
                metavar="{" + ",".join(f.metadata["rule"].choices) + "}"
                if f.metadata["rule"].choices
                else f.name.upper(),
                help=f"{f.metadata['help']} (default: {default!r})",
            )


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run the flags ask for: a preset with the flags given over it (named for what they change, unless
    --name is given), or the defaults with them; validated."""
    overrides = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig) if getattr(args, f.name) is not None
    }
    if not args.preset:
        return RunConfig(**overrides).validate()
    cfg = preset(args.preset, **overrides)
    return (cfg if args.name else named_for_changes(cfg, preset(args.preset))).validate()


def store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, help="run store file (default: $RNNVIZ_STORE, else ~/.local/share/rnnviz/runs.sqlite)"
    )


def stop_on_signals() -> list[bool]:
    """SIGTERM and Ctrl-C end the run gracefully at the end of the current step."""
    stop = [False]

    def handler(signum: int, frame: Any) -> None:
        if stop[0]:
            raise KeyboardInterrupt  # asked twice: stop now
        stop[0] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def check_data_dir(cfg: RunConfig) -> None:
    """A --data-dir that is not there is refused as a setting, before anything starts."""
    try:
        datamod.check_dir(cfg.data_dir)
    except DataError as exc:
        raise ConfigError("data_dir", str(exc)) from None
