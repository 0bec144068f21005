"""Live Plotly charts that keep the user's zoom.

`st.plotly_chart` gives a chart a new identity whenever its figure changes, so every live refresh
mounts a new chart: the zoom is lost and the browser rebuilds the plot each second. This component
is mounted once per key; new figures reach it as arguments and it applies them with `Plotly.react`,
which keeps zoom and pan under the figure's `layout.uirevision` and redraws only what changed.

The page (`frontend/index.html`) loads plotly.js from beside it, so the dashboard needs no network:
plotly.js's cartesian bundle (scatter, bar, heatmap and the other 2D traces; every trace rnnviz draws),
the same plotly.js version as the `plotly` package's full bundle and a third of its size. Each chart is
an iframe that evaluates plotly.js on its own: with the full bundle, 11 charts took a loaded 2-core
machine's browser 5.2 s, with this one 2.2 s (bench/README.md, bench_page_draw.py). Its version is
checked against the `plotly` package's in tests/test_livechart.py.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "frontend"
PAGE = FRONTEND / "index.html"
DEFAULT_HEIGHT = 450  # Plotly's, and index.html's for a figure that sets none


def plotly_js() -> Path:
    """plotly.js's cartesian bundle, from npm's plotly.js-cartesian-dist-min (its licence: PLOTLY-LICENSE)."""
    return FRONTEND / "plotly.min.js"


def component_dir() -> Path:
    """The directory Streamlit serves a component's files from: the page and plotly.js, for charts and for
    livetext alike (a livetext frame never loads plotly.js: a tab has several of them)."""
    return FRONTEND


@cache
def _component(kind: str = "livechart"):
    return components.declare_component(kind, path=str(component_dir()))


def text(spec: str, key: str, feed: str, version: str, progress: int) -> None:
    """Lines of text that, like a live chart, fetch newer lines from `feed` every second, and are set in place:
    part `key` of `spec`, the JSON of every part of the tab's live text (live.live_text). Each frame hands what it
    fetched to the tab's other parts, so that all of them show one read of the runs."""
    _component("livetext")(
        spec=spec, config={}, feed=feed, live=True, version=version, progress=progress, part=key, key=key
    )


def show(
    spec: str,
    key: str,
    config: dict,
    feed: str | None = None,
    version: str | None = None,
    progress: int | None = None,
    ready: str | None = None,
    live: bool = True,
    plotly: str | None = None,
) -> str | None:
    """Draw the figure whose JSON is `spec`; later calls with the same key update the same chart in place.
    With a `feed` (a URL path, feed.py), the chart fetches from it the figure of the steps it shows when
    zoomed, and, if `live`, newer figures every second; `version` names the figure given, so that the feed
    sends a figure only once something changed, and `progress` orders the figures of one feed: the chart draws
    one only if it is ahead of what it shows. Given `ready`, the chart sends it back once the figure is on
    screen (which reruns the page): the return value is the last `ready` it sent back. `plotly` is the URL the
    chart loads plotly.js from (script.py's route), None for the copy beside its page.

    The frame is given its figure's height from the start (Streamlit's `height` argument), so that until it has
    drawn, Streamlit holds its place with a placeholder of that height and the page below it is laid out where
    it will stay, and a chart below the first screen can tell that it is and wait (frontend/index.html)."""
    return _component()(
        spec=spec,
        height=json.loads(spec).get("layout", {}).get("height", DEFAULT_HEIGHT),
        config=config,
        feed=feed,
        live=live,
        version=version,
        progress=progress,
        ready=ready,
        plotly=plotly,
        key=key,
        default=None,
    )
