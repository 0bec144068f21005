"""`rnnviz app`: the dashboard under `streamlit run`, with rnnviz's settings, and `--share` for a room."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from .. import roles, share
from ..config import ConfigError
from ..store import default_path
from .common import store_arg

WEB = Path(__file__).parent.parent / "dashboard" / "web"


def add_app(sub: Any) -> None:
    p = sub.add_parser(
        "app",
        help="start the dashboard (extra arguments go to `streamlit run`, e.g. --server.port 8600)",
    )
    store_arg(p)
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
    p.set_defaults(handler=cmd_app)


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
    settings = tomllib.loads((WEB / "streamlit.toml").read_text())
    env = dict(os.environ)  # the server's: it finds the store in $RNNVIZ_STORE
    if args.store:
        env["RNNVIZ_STORE"] = str(Path(args.store).expanduser().resolve())
    if args.data_dir:
        env["RNNVIZ_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    # glibc gives each of the server's many threads its own malloc arena; their fragmentation grew the
    # server by ~25 MiB a minute under three watching tabs, two arenas by ~4 (bench/bench_load.py).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    cmd = [sys.executable, "-m", "streamlit", "run", str(WEB / "server.py"), *streamlit_flags(settings)]
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
        f"  Presenter (for you alone; valid until this server stops): {presenter}\n"
        + share.opening(Path(env["RNNVIZ_STORE"]) if env.get("RNNVIZ_STORE") else default_path()),
        flush=True,
    )
    # the port pinned: Streamlit moves to the next free port when its default is taken, and the links would lie
    return [f"--server.address={address}", f"--server.port={port}", f"--browser.serverAddress={address}"]
