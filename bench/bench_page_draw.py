"""How long a page takes to draw its charts in real headless Chromium: plotly.js as the charts load it now (the
cartesian bundle, from `rnnviz app`'s cached route: livechart/script.py) against the old path measured in the
same run (each chart's iframe loading the plotly package's full bundle from beside its page, which Streamlit
serves uncached and gzips anew on every request).

Two servers on the same store, both the dashboard of this checkout: `rnnviz app`'s (rnnviz/dashboard/web/
server.py), and one without the plotly route whose chart frames load the full bundle eagerly, as index.html did
before (the old path). For each repeat, in turn on each server, a new browser context (an empty cache: a viewer
who just opened the link) opens Gradient flow with the blog pair picked, then Saturation and Gradient flow again
(the cache warm). A page is drawn when every live chart on it has drawn its figure and no new one has appeared
for 2 s. Printed: each load's seconds, the server's CPU seconds over the three loads and the MB the charts'
frames fetched; then the medians over repeats and the ratio old / new of each.

    python bench/bench_page_draw.py [--store STORE] [--repeats 3] [--steps 5000]

Without --store, the blog pair is trained first into a temporary store (--steps each; 2-3 minutes at 5,000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import runner  # noqa: E402
from rnnviz.config import Limits, preset  # noqa: E402
from rnnviz.store import UNFINISHED, Store  # noqa: E402
from tests.browser import ROOT, chromium, data_root, server_pid, streamlit_server  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist-10k"
# The server as it was before the plotly route: the same app and feed route, without SCRIPT.route(), and the
# chart frames served from a folder holding the page with its old eager <script> tag and the full bundle.
OLD_SERVER = """from functools import cache
from pathlib import Path
import streamlit as st
import streamlit.components.v1 as components
from rnnviz.dashboard import livechart
from rnnviz.dashboard.livechart.feed import FEEDS
from rnnviz.share import presenter_route

@cache
def old_component(kind="livechart"):
    return components.declare_component(kind, path={old!r} if kind == "livechart" else str(livechart.FRONTEND))

livechart._component = old_component
app = st.App(Path({app!r}), routes=[FEEDS.route(), presenter_route()])
"""
PLOTLY_TAG = '<script src="plotly.min.js"></script>'


def old_frontend(directory: Path) -> Path:
    """The chart component's folder as it was: the page loading the plotly package's full bundle in its head."""
    import plotly

    from rnnviz.dashboard import livechart

    directory.mkdir()
    page = livechart.PAGE.read_text()
    (directory / "index.html").write_text(page.replace("</head>", PLOTLY_TAG + "\n</head>", 1))
    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", directory / "plotly.min.js")
    return directory


# Per chart frame: how many figures it has drawn, and the bytes it fetched (its page and plotly.js).
FRAMES = """() => Array.from(document.querySelectorAll("iframe[title$='.livechart']"))
  .map((f) => { try {
    const c = f.contentDocument.getElementById('chart'), p = f.contentWindow.performance;
    const fetched = p.getEntriesByType('navigation').concat(p.getEntriesByType('resource'))
      .reduce((n, e) => n + (e.transferSize || 0), 0);
    return [c ? Number(c.dataset.updates || 0) : 0, fetched];
  } catch (e) { return [0, 0]; } })"""


def trained_pair(directory: Path, steps: int) -> Path:
    """A store holding the blog pair trained to its end (runs 1 and 2)."""
    path = directory / "pair.sqlite"
    configs = [preset(n, steps=steps, data_dir=str(MNIST)) for n in ("blog-rnn", "blog-lstm")]
    with Store(path) as store:
        ids = runner.launch(configs, store, Limits.from_env())
        print(f"training the blog pair ({steps:,} steps each) into {path} ...", flush=True)
        while any(store.run(i)["status"] in UNFINISHED for i in ids):
            time.sleep(1)
    return path


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drawn(page, url: str, timeout_s: float = 180.0) -> tuple[float, int]:
    """Open a page and wait until all its charts have drawn (none new for 2 s): (seconds, bytes fetched)."""
    t0 = time.monotonic()
    page.goto(url)
    done_at, count = None, -1
    while time.monotonic() - t0 < timeout_s:
        frames = page.evaluate(FRAMES)
        now = time.monotonic() - t0
        if frames and all(n >= 1 for n, _ in frames):
            if len(frames) != count:
                done_at, count = now, len(frames)
            elif now - done_at > 2.0:
                return done_at, sum(b for _, b in frames)
        else:
            done_at, count = None, -1
        time.sleep(0.05)
    raise TimeoutError(f"{url}: not every chart drew within {timeout_s:.0f} s")


def measure(url: str, browser, pid: int) -> dict[str, float]:
    """One viewer: Gradient flow from an empty cache, then Saturation and Gradient flow with it warm."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    before = cpu_s(pid)
    out: dict[str, float] = {}
    fetched = 0
    for name, path in (("flow, cold", "gradient_flow"), ("saturation", "saturation"), ("flow, warm", "gradient_flow")):
        seconds, n = drawn(page, f"{url}/{path}?runs=1,2")
        out[name] = seconds
        fetched += n
    out["server CPU s"] = cpu_s(pid) - before
    out["MB fetched"] = fetched / 1e6
    context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, help="a store whose runs 1 and 2 are the blog pair (default: train it)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5000, help="steps of each run when the pair is trained here")
    args = ap.parse_args()
    os.environ["RNNVIZ_STANDBY"] = "0"  # no warm trainers: nothing but the pages on the CPU
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = args.store or trained_pair(work, args.steps)
        old = work / "old_server.py"
        app = ROOT / "rnnviz" / "dashboard" / "web" / "app.py"
        old.write_text(OLD_SERVER.format(old=str(old_frontend(work / "old_frontend")), app=str(app)))
        results: dict[str, list[dict[str, float]]] = {"new": [], "old": []}
        data = data_root(work, MNIST)
        with (
            streamlit_server(store, data) as new_url,
            streamlit_server(store, data, command=[sys.executable, "-m", "streamlit", "run", str(old)]) as old_url,
            chromium() as browser,
        ):
            servers = {"new": (new_url, server_pid(new_url)), "old": (old_url, server_pid(old_url))}
            for k in range(args.repeats):
                for name in ("old", "new") if k % 2 == 0 else ("new", "old"):
                    url, pid = servers[name]
                    results[name].append(measure(url, browser, pid))
                    print(name, {m: round(v, 2) for m, v in results[name][-1].items()}, flush=True)
        load = os.getloadavg()[0]
    print(f"\nmedians over {args.repeats} repeats (load average {load:.1f} at the end):")
    for metric in results["new"][0]:
        old_m = statistics.median(r[metric] for r in results["old"])
        new_m = statistics.median(r[metric] for r in results["new"])
        ratio = old_m / new_m if new_m else float("inf")
        print(f"  {metric:14s} old path {old_m:8.2f}   plotly route {new_m:8.2f}   old / new {ratio:5.2f}x")


if __name__ == "__main__":
    main()
