"""Live Plotly charts that keep the user's zoom.

`st.plotly_chart` gives a chart a new identity whenever its figure changes, so every live refresh
mounts a new chart: the zoom is lost and the browser rebuilds the plot each second. This component
is mounted once per key; new figures reach it as arguments and it applies them with `Plotly.react`,
which keeps zoom and pan under the figure's `layout.uirevision` and redraws only what changed.

The page (`frontend/index.html`) loads the plotly.js that ships with the `plotly` package, so the
dashboard needs no network. Streamlit serves a component's files from one directory and refuses
links that leave it, so the page and plotly.min.js are copied once into a cache directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

import plotly
import streamlit.components.v1 as components

PAGE = Path(__file__).parent / "frontend" / "index.html"


def plotly_js() -> Path:
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _cache_roots() -> list[Path]:
    home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [home_cache / "rnnviz", Path(tempfile.gettempdir()) / f"rnnviz-{os.getuid()}"]


PLOTLY_TAG = '<script src="plotly.min.js"></script>'


@cache
def component_dir(kind: str = "livechart") -> Path:
    """A directory holding index.html (and, for charts, plotly.min.js), made once per kind, page and plotly
    version. livetext's page is the same without Plotly: a tab has several of them, and each would parse it."""
    page = PAGE.read_text() if kind == "livechart" else PAGE.read_text().replace(PLOTLY_TAG, "")
    tag = hashlib.sha256(page.encode() + plotly.__version__.encode()).hexdigest()[:12]
    errors = []
    for root in _cache_roots():
        target = root / f"{kind}-{tag}"
        if (target / "index.html").is_file():
            return target
        try:
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=root))
            if kind == "livechart":
                shutil.copyfile(plotly_js(), staging / "plotly.min.js")
            (staging / "index.html").write_text(page)
            try:
                staging.rename(target)  # atomic; fails if another process got there first, which is fine
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
            return target
        except OSError as exc:
            errors.append(f"{root}: {exc.strerror or exc}")
    raise RuntimeError("cannot prepare the chart component files (" + "; ".join(errors) + ")")


@cache
def _component(kind: str = "livechart"):
    return components.declare_component(kind, path=str(component_dir(kind)))


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
) -> str | None:
    """Draw the figure whose JSON is `spec`; later calls with the same key update the same chart in place.
    With a `feed` (a URL path, feed.py), the chart fetches from it the figure of the steps it shows when
    zoomed, and, if `live`, newer figures every second; `version` names the figure given, so that the feed
    sends a figure only once something changed, and `progress` orders the figures of one feed: the chart draws
    one only if it is ahead of what it shows. Given `ready`, the chart sends it back once the figure is on
    screen (which reruns the page): the return value is the last `ready` it sent back."""
    return _component()(
        spec=spec,
        config=config,
        feed=feed,
        live=live,
        version=version,
        progress=progress,
        ready=ready,
        key=key,
        default=None,
    )
