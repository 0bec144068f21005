"""What opening a page costs, in real headless Chromium against `rnnviz app`'s server: every chart of Gradient
flow loads plotly.js from the browser's cache but the first (livechart/script.py), a page opened again fetches
none, the route serves that one file gzipped once and refuses any other name, the bundle is plotly's cartesian
one of the `plotly` package's own version, and the server starts without Streamlit's "No runtime found"
warnings; the charts on the first screen draw before those below it load plotly.js."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import plotly
import pytest
from starlette.requests import Request

from rnnviz.dashboard import livechart
from rnnviz.dashboard.livechart import script

from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR
from .outcomes import BY_OUTCOME, writable_copy
from .test_train_page import LAPTOP, needs_chromium

# Per chart frame: how many figures it has drawn, and the bytes of plotly.js it fetched from the network.
FRAMES = """() => Array.from(document.querySelectorAll("iframe[title$='.livechart']")).map((f) => {
  try {
    const c = f.contentDocument.getElementById('chart');
    const js = f.contentWindow.performance.getEntriesByType('resource').filter((e) => /plotly/.test(e.name));
    return [c ? Number(c.dataset.updates || 0) : 0, js.length, js.reduce((n, e) => n + e.transferSize, 0)];
  } catch (e) { return [0, 0, 0]; }
})"""
PAIR = f"runs={BY_OUTCOME['rnn-learned']['run_id']},{BY_OUTCOME['lstm']['run_id']}"


def version(script: str) -> str:
    return re.search(r"plotly\.js(?: \([a-z -]+\))? v(\d+\.\d+\.\d+)", script[:400]).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`rnnviz app`'s server on a copy of the recorded outcomes; its URL and its log."""
    tmp = tmp_path_factory.mktemp("pageload")
    store = writable_copy(tmp)
    with streamlit_server(store, data_root(tmp, MNIST_DIR)) as url:
        yield url, next(tmp.glob("streamlit-*.log"))


def all_drawn(page, url: str) -> list[list[int]]:
    page.goto(url)
    page.wait_for_function(f"() => {{ const f = ({FRAMES})(); return f.length >= 11 && f.every((c) => c[0] >= 1); }}",
                           timeout=90000)  # fmt: skip
    return page.evaluate(FRAMES)


@needs_chromium
def test_the_charts_of_a_page_fetch_plotly_once_and_a_page_opened_again_none(server):
    url, _ = server
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        frames = all_drawn(page, f"{url}/gradient_flow?{PAIR}")
        assert all(loaded == 1 for _, loaded, _ in frames), frames  # every chart loaded plotly.js once
        fetched = [b for _, _, b in frames if b > 0]
        # one chart fetched it (about 0.5 MB gzipped); each of the others read it from the browser's cache,
        # where each fetched its own 1.5 MB before, compressed anew by the server each time
        assert len(fetched) == 1 and fetched[0] < 700_000, frames
        again = all_drawn(page, f"{url}/gradient_flow?{PAIR}&again=1")
        assert sum(b for _, _, b in again) == 0, again


# Per chart frame: its top on the page, and when (ms since the epoch) it started fetching plotly.js and first drew.
TIMES = """() => Array.from(document.querySelectorAll("iframe[title$='.livechart']")).map((f) => {
  const p = f.contentWindow.performance, js = p.getEntriesByType('resource').find((e) => /plotly/.test(e.name));
  return [f.getBoundingClientRect().top, p.timeOrigin + js.startTime,
          Number(f.contentDocument.getElementById('chart').dataset.drawnAt)];
})"""


@needs_chromium
def test_the_first_screen_s_charts_draw_before_those_below_it_load_plotly_and_all_draw_unscrolled(server):
    """Each chart frame evaluates plotly.js on the tab's one thread: those below the first screen wait until it
    has drawn (livechart/frontend/index.html), and then draw without the page being scrolled."""
    url, _ = server
    with chromium() as browser:
        context = browser.new_context(viewport=LAPTOP)
        for _ in range(2):  # a new viewer, then the page opened again with plotly.js in the browser's cache
            page = context.new_page()
            all_drawn(page, f"{url}/gradient_flow?{PAIR}")
            assert page.evaluate("() => Array.from(document.querySelectorAll('*')).every((e) => !e.scrollTop)")
            frames = page.evaluate(TIMES)
            first = [drawn for top, _, drawn in frames if top < LAPTOP["height"]]
            below = [loading for top, loading, _ in frames if top > LAPTOP["height"] + 200]  # index.html's NEAR_PX
            assert len(first) == 2 and len(below) == 9, frames  # the heatmap and the global norm; 9 below
            assert max(first) <= min(below), frames
            page.close()


def test_the_charts_load_the_cartesian_bundle_of_the_plotly_package_s_version():
    ours = livechart.plotly_js().read_text()
    theirs = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    assert "(cartesian - minified)" in ours[:200]
    assert version(ours) == version(theirs)  # upgrading plotly: fetch the same version's bundle (docs/development.md)
    assert len(ours) < len(theirs) / 2


@needs_chromium
def test_the_server_starts_without_no_runtime_warnings(server):
    url, log = server
    with chromium() as browser:  # a page served: the app's own imports ran too
        all_drawn(browser.new_page(viewport=LAPTOP), f"{url}/gradient_flow?{PAIR}")
    text = log.read_text()
    assert "You can now view" in text or "URL:" in text, text
    assert "No runtime found" not in text, text


def test_the_plotly_route_serves_its_one_file_gzipped_once_and_nothing_else():
    def get(name: str, encodings: bytes = b"gzip, deflate"):
        scope = {"type": "http", "method": "GET", "path": script.PREFIX + name, "query_string": b"",
                 "path_params": {"name": name}, "headers": [(b"accept-encoding", encodings)]}  # fmt: skip
        return script.SCRIPT.endpoint(Request(scope))

    name = script.url().removeprefix(script.PREFIX)
    packed, plain = get(name), get(name, b"identity")
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert gzip.decompress(packed.body) == plain.body == livechart.plotly_js().read_bytes()
    assert "immutable" in packed.headers["cache-control"] and "max-age=31536000" in packed.headers["cache-control"]
    assert get(name).body is packed.body  # compressed once per server, not on every request
    for other in ("plotly.min.js", "../index.html", name.replace("plotly-", "plotly-0")):
        refused = get(other)
        assert refused.status_code == 404 and not refused.body
