"""How soon Gradient flow's first screen of charts draws in real headless Chromium: chart frames below the first
screen waiting to load plotly.js until it has drawn (livechart/frontend/index.html, given their height from the
start: livechart.show) against every frame loading it at once, as before, measured in the same run.

Two servers on the same store (the test fixtures' blog pair, tests/outcomes.py), both `rnnviz app`'s routes and
this checkout's dashboard: one as it is, and one whose chart frames load plotly.js as soon as they get their
figure and start at no height (the old path: the page with its wait taken out, the `height` argument dropped).
For each repeat, in turn on each server (the order alternating), a new browser context at 1440x900 opens
Gradient flow with the pair picked (11 charts). Printed per load, in seconds from the navigation as the tab's
own clock has it: when Streamlit made the first chart frame (the page's own rendering, the same for both),
when every chart on the first screen (its top above the viewport's bottom) had drawn its figure, and when all
had, and the first screen's time from the frames' making; then the medians over repeats and the ratio old / new
of each.

    python bench/bench_first_screen.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import ROOT, chromium, data_root, streamlit_server  # noqa: E402
from tests.outcomes import BY_OUTCOME, writable_copy  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist-10k"
VIEWPORT = {"width": 1440, "height": 900}
PAGE = f"gradient_flow?runs={BY_OUTCOME['rnn-learned']['run_id']},{BY_OUTCOME['lstm']['run_id']}"
WAIT = "  function myTurn() {\n"  # the old page's: every chart's turn at once
OLD_SERVER = """from functools import cache
from pathlib import Path
import streamlit as st
import streamlit.components.v1 as components
from rnnviz.dashboard import livechart
from rnnviz.dashboard.livechart.feed import FEEDS
from rnnviz.dashboard.livechart.script import SCRIPT
from rnnviz.share import presenter_route

@cache
def old_component(kind="livechart"):
    declared = components.declare_component(kind, path={old!r} if kind == "livechart" else str(livechart.FRONTEND))
    return lambda height=None, **args: declared(**args)

livechart._component = old_component
app = st.App(Path({app!r}), routes=[FEEDS.route(), SCRIPT.route(), presenter_route()])
"""
# Per chart frame, in seconds since the tab's navigation began: when the frame was made, and when it first drew
# (index.html's drawnAt; 0 for a chart not drawn yet); and where its top is on the page.
FRAMES = """() => Array.from(document.querySelectorAll("iframe[title$='.livechart']")).map((f) => {
  let made = 0, at = 0;
  try {
    made = (f.contentWindow.performance.timeOrigin - performance.timeOrigin) / 1000;
    at = Number(f.contentDocument.getElementById('chart').dataset.drawnAt || 0);
  } catch (e) {}
  return [made, at ? (at - performance.timeOrigin) / 1000 : 0, f.getBoundingClientRect().top];
})"""
CHARTS = 11


def old_frontend(directory: Path) -> Path:
    """The chart component's folder as it was: its page without the wait for the first screen."""
    from rnnviz.dashboard import livechart

    page = livechart.PAGE.read_text()
    assert WAIT in page, "index.html no longer has the wait this benchmark takes out"
    directory.mkdir()
    (directory / "index.html").write_text(page.replace(WAIT, WAIT + "    return Promise.resolve();\n", 1))
    shutil.copyfile(livechart.plotly_js(), directory / "plotly.min.js")  # the fallback: the route serves it
    return directory


def load(browser, url: str, timeout_s: float = 120.0) -> dict[str, float]:
    """Open the page in a new context: seconds from navigation until its first screen drew, and all its charts.
    Taken inside the tab, so that a main thread busy with plotly.js does not delay the reading."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{url}/{PAGE}")
    page.wait_for_function(f"() => {{ const f = ({FRAMES})(); return f.length >= {CHARTS} && f.every((c) => c[1]); }}",
                           timeout=timeout_s * 1000)  # fmt: skip
    frames = page.evaluate(FRAMES)
    context.close()
    made = min(m for m, _, _ in frames)
    first = max(at for _, at, top in frames if top < VIEWPORT["height"])
    return {
        "frames made": made,
        "first screen": first,
        "all charts": max(at for _, at, _ in frames),
        "first screen after the frames were made": first - made,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    os.environ["RNNVIZ_STANDBY"] = "0"  # no warm trainers: nothing but the pages on the CPU
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = writable_copy(work / "store")
        old = work / "old_server.py"
        app = ROOT / "rnnviz" / "dashboard" / "web" / "app.py"
        old.write_text(OLD_SERVER.format(old=str(old_frontend(work / "old_frontend")), app=str(app)))
        data = data_root(work, MNIST)
        results: dict[str, list[dict[str, float]]] = {"new": [], "old": []}
        loads = []
        with (
            streamlit_server(store, data) as new_url,
            streamlit_server(store, data, command=[sys.executable, "-m", "streamlit", "run", str(old)]) as old_url,
            chromium() as browser,
        ):
            urls = {"new": new_url, "old": old_url}
            for name in urls:  # a first load of each, not counted: the servers' caches warm
                load(browser, urls[name])
            for k in range(args.repeats):
                for name in ("old", "new") if k % 2 == 0 else ("new", "old"):
                    results[name].append(load(browser, urls[name]))
                    loads.append(os.getloadavg()[0])
                    shown = {m: round(v, 2) for m, v in results[name][-1].items()}
                    print(name, shown, f"load {loads[-1]:.1f}", flush=True)
    print(f"\nmedians over {args.repeats} repeats (load average {min(loads):.1f}-{max(loads):.1f}):")
    for metric in results["new"][0]:
        old_m = statistics.median(r[metric] for r in results["old"])
        new_m = statistics.median(r[metric] for r in results["new"])
        ratio = old_m / new_m
        print(f"  {metric:40s} all at once {old_m:6.2f} s  first screen first {new_m:6.2f} s  old / new {ratio:5.2f}x")


if __name__ == "__main__":
    main()
