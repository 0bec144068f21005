"""Real-browser helpers: a Streamlit server on a free port with its own store, and headless Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    store: Path, data_root: Path, port: int | None = None, command: list[str] | None = None
) -> Iterator[str]:
    """The dashboard with its live-chart feeds (`rnnviz/dashboard/web/server.py`, or another command that takes
    Streamlit's flags) on localhost with a given store and data root; yields the base URL."""
    port = port or free_port()
    command = command or [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "rnnviz" / "dashboard" / "web" / "server.py"),
    ]
    env = dict(os.environ, RNNVIZ_STORE=str(store), RNNVIZ_DATA_DIR=str(data_root), PYTHONUNBUFFERED="1")
    # this checkout's rnnviz, also where the environment's editable install points at another checkout
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MALLOC_ARENA_MAX", "2")  # as `rnnviz app` sets it
    log = open(store.parent / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [
            *command,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a server started in a terminal
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log.name}") from None
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def data_root(tmp: Path, mnist_dir: Path) -> Path:
    """A $RNNVIZ_DATA_DIR whose mnist/ is the given directory."""
    root = tmp / "data"
    root.mkdir(exist_ok=True)
    link = root / "mnist"
    if not link.exists():
        link.symlink_to(mnist_dir.resolve(), target_is_directory=True)
    return root


@contextlib.contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def server_pid(url: str) -> int:
    """The process id of the Streamlit server behind a URL that streamlit_server started."""
    port = url.rsplit(":", 1)[1].encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(args) and port in args:
                return int(proc.name)
    raise LookupError(f"no streamlit server on port {port.decode()}")


# What a tab says of a replay at one instant, read in one call in the browser (no time passes between its
# parts): the step above the charts, each sidebar line's, the scrubber's thumb, the live charts drawn and on
# the page, and the "Replay in" box.
REPLAY_READING = """() => {
  const main = document.querySelector('[data-testid=stMain]')?.innerText || '';
  const side = document.querySelector('[data-testid=stSidebar]')?.innerText || '';
  const header = main.match(/Replay: step ([\\d,]+) of/);
  const lines = [...side.matchAll(/replaying, step ([\\d,]+) of/g)].map(m => +m[1].replace(/,/g, ''));
  const thumb = document.querySelector('[data-testid=stSidebar] [data-testid=stSliderThumbValue]');
  const frames = [...document.querySelectorAll("iframe[title='rnnviz.dashboard.livechart.livechart']")];
  const drawn = frames.filter(f => { try { return f.contentDocument.querySelector('.main-svg'); }
                                      catch (e) { return false; } }).length;
  const box = [...document.querySelectorAll('[data-testid=stSidebar] [data-testid=stSelectbox]')]
    .filter(b => b.innerText.includes('Replay in'))
    .map(b => b.querySelector('input')?.value || b.querySelector('[data-baseweb=select]')?.innerText)[0] || null;
  return {header: header ? +header[1].replace(/,/g, '') : null, lines, charts: frames.length, drawn, box,
          thumb: thumb && thumb.textContent ? +thumb.textContent.replace(/,/g, '') : null};
}"""


def replay_spread(reading: dict) -> int | None:
    """The largest difference between the steps one tab says at once (None where it says no replay step)."""
    steps = [n for n in [reading["header"], *reading["lines"], reading["thumb"]] if n is not None]
    return max(steps) - min(steps) if reading["header"] is not None else None


class Traffic:
    """What a tab receives over its connection to the server: bytes, and references to elements the server
    takes it to hold in its cache (one it does not hold shows "Connection error ... Cached ForwardMsg MISS")."""

    def __init__(self, page) -> None:
        self.bytes = self.refs = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self.received))

    def received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes):
            self.bytes += len(payload)
            self.refs += ForwardMsg.FromString(payload).WhichOneof("type") == "ref_hash"
