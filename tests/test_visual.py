"""What the audience sees, in real Chromium at 1440x900 in normal and presenter mode: no text of a chart sits on
another (axis titles, tick labels, legend, slider labels, buttons, notes) or falls outside it, no axis
repeats a tick label, the Overview fits the screen, and a run has one colour on every page."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from rnnviz import figures, views
from rnnviz.api import open_run
from rnnviz.config import REMEDIES, RunConfig
from rnnviz.store import Store

from .browser import CHROMIUM, chromium, data_root, streamlit_server
from .conftest import MNIST_DIR

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
PAGES = ("overview", "gradient_flow", "saturation", "gates", "compare", "inspector")
TALK = ("overview", "gradient_flow", "saturation", "compare")  # the pages a talk shows in presenter mode
LARGE = ("overview", "gradient_flow", "saturation")  # and with large fonts beside the sidebar
SCREEN = {"width": 1440, "height": 900}

# Every piece of text Plotly draws in a chart, with its box, and the colour of each trace that names a run.
READ = """() => {
  const chart = document.getElementById('chart');
  const texts = '.gtitle, [class^=g-x][class$=title] text, [class^=g-y][class$=title] text, g[class$=tick] > text,'
    + ' .legendtext, .slider-label, .updatemenu-button, .annotation-text, .cbtitle text';
  const seen = new Set(), boxes = [];
  for (const el of chart.querySelectorAll(texts)) {
    const r = el.getBoundingClientRect();
    if (seen.has(el) || !el.textContent.trim() || r.width < 1 || r.height < 1) continue;
    seen.add(el);
    const group = el.parentNode.getAttribute('class') || '';
    boxes.push({text: el.textContent, group: group, x: r.x, y: r.y, w: r.width, h: r.height});
  }
  const colours = (chart._fullData || []).filter(t => t.type === 'scatter' || t.type === 'bar').map(t => [
    t.name, t.type === 'scatter' && t.mode !== 'markers' ? t.line.color : t.marker.color]);
  return {title: chart._fullLayout.title.text, boxes: boxes, colours: colours,
          width: document.documentElement.clientWidth, height: chart.clientHeight};
}"""
PANELS_PX = """() => { const L = document.getElementById('chart')._fullLayout;
  return Object.keys(L).filter(k => /^yaxis\\d*$/.test(k)).map(k => L._size.h * (L[k].domain[1] - L[k].domain[0])); }"""
TITLE_SIZE = "() => document.getElementById('chart')._fullLayout.title.font.size"
DRAWN = "() => { const c = document.getElementById('chart'); return !!c && Number(c.dataset.updates || 0) > 0; }"


def overlaps(boxes: list[dict], slack: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than `slack` px both ways."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if dx > slack and dy > slack:
                found.append((a["text"], b["text"]))
    return found


def repeated_ticks(boxes: list[dict]) -> list[list[str]]:
    """Tick labels of one axis (or colour bar) that say the same thing twice: 2%, 2%, 1%, 1%."""
    axes: dict[str, list[str]] = {}
    for b in boxes:
        if b["group"].endswith("tick"):
            axes.setdefault(b["group"], []).append(b["text"])
    return [labels for labels in axes.values() if len(set(labels)) < len(labels)]


def cut(info: dict) -> list[str]:
    """Texts that reach outside the chart's frame."""
    return [
        b["text"]
        for b in info["boxes"]
        if b["x"] < -1 or b["y"] < -1 or b["x"] + b["w"] > info["width"] + 1 or b["y"] + b["h"] > info["height"] + 1
    ]


def text_problems(info: dict, where: str) -> list[str]:
    """What a viewer would call broken in one chart's text: overlaps, repeated ticks, text cut at the edge."""
    return (
        [f"{where}: {a!r} on {b!r}" for a, b in overlaps(info["boxes"])]
        + [f"{where}: ticks repeat {labels}" for labels in repeated_ticks(info["boxes"])]
        + [f"{where}: {text!r} cut at the edge" for text in cut(info)]
    )


def chart_frames(page, at_least: int, timeout_s: float = 30) -> list:
    """The page's charts (each in the iframe of rnnviz/dashboard/livechart/), once every one of them is drawn."""
    deadline = time.monotonic() + timeout_s
    while True:
        handles = page.locator("iframe[title='rnnviz.dashboard.livechart.livechart']").element_handles()
        frames = [(h, h.content_frame()) for h in handles]
        try:
            if len(frames) >= at_least and all(f and f.evaluate(DRAWN) for _, f in frames):
                time.sleep(0.3)  # automargin's second pass
                return frames
        except Exception as exc:  # a frame replaced by the page's rerun
            if "detached" not in str(exc) and "destroyed" not in str(exc):
                raise
        assert time.monotonic() < deadline, f"only {len(frames)} charts drawn, wanted {at_least}"
        time.sleep(0.25)


CHARTS = {"overview": 1, "gradient_flow": 6, "saturation": 6, "gates": 7, "compare": 4, "inspector": 4}


@pytest.fixture
def dashboard(trained_store, tmp_path):
    """The dashboard on a copy of the trained store (and its checkpoints, for the digit inspector)."""
    store = tmp_path / trained_store.name
    shutil.copy(trained_store, store)
    shutil.copytree(trained_store.parent / "checkpoints", tmp_path / "checkpoints")
    with streamlit_server(store, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        yield url, browser


# Two runs of the test, each within the suite's timeout on a loaded machine.
MODES = {"normal": PAGES, "large": LARGE, "presenter": TALK}


@pytest.mark.parametrize("modes", [("normal",), ("large", "presenter")])
def test_charts_text_never_overlaps_and_each_run_keeps_its_colour(dashboard, trained_store, tmp_path, modes):
    url, browser = dashboard
    shots = Path(os.environ.get("RNNVIZ_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=SCREEN)
    problems, colours = [], {}
    # large: the sidebar's font switch without presenter mode, where the Overview's title ran past both ends
    for mode, pages in ((m, MODES[m]) for m in modes):
        present = mode == "presenter"
        for name in pages:
            page.goto(f"{url}/{name}?runs=1,2" + ("&present=1" if present else ""))
            page.wait_for_selector("[data-testid=stMain] h1", timeout=30_000)
            if mode == "large":
                page.get_by_text("Large fonts (for talks)").click()
            if name == "saturation":
                page.get_by_text("Animation over training (for talks)").click()
            frames = chart_frames(page, CHARTS[name])
            if mode == "large":  # the charts redrawn at the large fonts
                deadline = time.monotonic() + 30
                while not all(f.evaluate(TITLE_SIZE) == 26 for _, f in frames):
                    assert time.monotonic() < deadline, "the charts never took the large fonts"
                    time.sleep(0.25)
                    frames = chart_frames(page, CHARTS[name])
            page.mouse.move(1, 1)  # no hover label over a chart
            page.screenshot(path=str(shots / f"{name}-{mode}.png"))
            for k, (handle, frame) in enumerate(frames):
                info, before = frame.evaluate(READ), len(problems)
                where = f"{name} ({mode}) '{info['title']}'"
                if name == "overview":
                    bottom = page.evaluate("e => e.getBoundingClientRect().bottom", handle)
                    # large fonts beside the sidebar give the panels the presenter's height and scroll
                    if bottom > SCREEN["height"] and mode != "large":
                        problems.append(f"{where}: ends at {bottom:.0f} px, below the fold")
                    panels = frame.evaluate(PANELS_PX)
                    if present and min(panels) < 110:  # 85 px each were cramped
                        problems.append(f"{where}: panels {panels} px high, cramped")
                    caption = page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first.inner_text()
                    if present and "sidebar" in caption:  # presenter mode hides it
                        problems.append(f"{where}: the caption sends the room to the sidebar: {caption!r}")
                problems += text_problems(info, where)
                for trace, colour in info["colours"]:
                    if run := re.match(r"(\d+) · ", trace or ""):
                        colours.setdefault(int(run[1]), set()).add(colour)
                if len(problems) > before:
                    handle.screenshot(path=str(shots / f"{name}-{mode}-{k}.png"))
    assert not problems, "\n".join(problems)
    pair = [open_run(trained_store, i) for i in (1, 2)]
    assert colours == {1: {views.run_colour(pair[0])}, 2: {views.run_colour(pair[1])}}  # on every page


# A table of the page (the dataframe's scroller, or a static table): the width its columns need, the width it
# shows, its right edge and the page's, and its text; null when it is not on screen.
TABLE = """([table, scroller]) => { const t = document.querySelector(`[data-testid=stMain] [data-testid=${table}]`);
  if (!t || !t.getBoundingClientRect().width) return null; const s = scroller ? t.querySelector(scroller) : t;
  return {need: s.scrollWidth, shown: s.clientWidth, right: t.getBoundingClientRect().right, text: t.innerText,
          main: document.querySelector('[data-testid=stMain]').getBoundingClientRect().right}; }"""


def table_cut(fits: dict | None) -> bool:
    return not fits or fits["need"] > fits["shown"] + 1 or fits["right"] > fits["main"] + 1


def test_the_remedies_page_text_never_overlaps_and_its_table_shows_every_column(remedies_store, tmp_path):
    shots = Path(os.environ.get("RNNVIZ_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    runs = ",".join(map(str, range(1, len(REMEDIES) + 1)))
    problems = []
    with streamlit_server(remedies_store, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=SCREEN)
        for present in (False, True):
            mode = "presenter" if present else "normal"
            page.goto(f"{url}/remedies?runs={runs}" + ("&present=1" if present else ""))
            page.wait_for_selector("[data-testid=stMain] h1", timeout=30_000)
            frames = chart_frames(page, 3)
            page.mouse.move(1, 1)
            page.screenshot(path=str(shots / f"remedies-{mode}.png"), full_page=True)
            for _, frame in frames:
                info = frame.evaluate(READ)
                problems += text_problems(info, f"remedies ({mode}) '{info['title']}'")
            if present:  # no controls (what is left of the form would be an empty box); the table as text
                if page.locator("[data-testid=stMain] [data-testid=stForm]").is_visible():
                    problems.append("remedies (presenter): the launch form shows")
                fits = page.evaluate(TABLE, ["stTable", None])
                if table_cut(fits):
                    problems.append(f"remedies (presenter): the table is missing or cut: {fits}")
                elif not all(name in fits["text"] for name, _, _ in REMEDIES):
                    problems.append(f"remedies (presenter): the table lacks runs: {fits['text']!r}")
                continue
            table = page.evaluate(TABLE, ["stDataFrame", ".dvn-scroller"])
            if table_cut(table):
                problems.append(f"remedies ({mode}): the table's columns are cut: {table}")
    assert not problems, "\n".join(problems)


# The modebar a pointer on the chart brings up, and the texts it could hide: titles (the chart's, its panels').
MODEBAR = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return {text: e.textContent || 'modebar', x: r.x, y: r.y,
    w: r.width, h: r.height}; };
  const bar = document.querySelector('.modebar');
  const shown = bar && getComputedStyle(bar).opacity !== '0' && bar.getBoundingClientRect().width > 0;
  const titles = [...document.querySelectorAll('.gtitle, .annotation-text')].filter(e => e.textContent.trim());
  return {bar: shown ? box(bar) : null, titles: titles.map(box)};
}"""


def test_the_modebar_never_covers_a_title(dashboard):
    url, browser = dashboard
    page = browser.new_page(viewport=SCREEN)
    covered, seen = [], 0
    for present in (False, True):
        for name in ("compare", "gradient_flow"):  # half-width charts with long titles; panels with titles
            page.goto(f"{url}/{name}?runs=1,2" + ("&present=1" if present else ""))
            page.wait_for_selector("[data-testid=stMain] h1", timeout=30_000)
            for handle, frame in chart_frames(page, CHARTS[name]):
                handle.scroll_into_view_if_needed()
                box = handle.bounding_box()
                page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6)
                time.sleep(0.4)  # Plotly fades the modebar in
                found = frame.evaluate(MODEBAR)
                if found["bar"] is None:
                    continue
                seen += 1
                bar = dict(found["bar"], text="\0modebar")
                pairs = overlaps([bar, *found["titles"]])
                hidden = [b if a == bar["text"] else a for a, b in pairs if bar["text"] in (a, b)]
                covered += [f"{name}: the modebar {bar} covers {text!r} {found['titles']}" for text in hidden]
    assert seen >= 8, f"the modebar showed on only {seen} charts"
    assert not covered, "\n".join(covered)


def test_the_sidebar_shows_every_picked_runs_name_whole(dashboard, tmp_path):
    url, browser = dashboard
    with Store(tmp_path / "runs.sqlite") as store:  # the dashboard's copy of the store
        long = [
            store.create_run(RunConfig(name=name), status="finished")
            for name in ("remedies-orthogonal", "blog-rnn (lr 0.003, steps 800)")
        ]
    page = browser.new_page(viewport=SCREEN)
    for large in (False, True):
        page.goto(f"{url}/overview?runs=1,{long[0]},{long[1]}")
        page.wait_for_selector("[data-testid=stSidebar] [data-tag]", timeout=30_000)
        if large:
            page.get_by_text("Large fonts (for talks)").click()
        # The page's style arrives after the picker it styles, and on a loaded machine a rerun takes seconds:
        # read the chips as a person sees them once the page has settled, and fail on what it settled to.
        deadline = time.monotonic() + 30
        while True:
            chips = page.evaluate(
                "() => [...document.querySelectorAll('[data-testid=stSidebar] [data-tag] > span')].map(e => "
                "[e.textContent, e.scrollWidth, e.clientWidth, e.getBoundingClientRect().right,"
                " e.closest('[data-testid=stSidebar]').getBoundingClientRect().right])"
            )
            sized = page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == (
                "22px" if large else "16px"
            )
            cut = [(text, need, shown) for text, need, shown, right, edge in chips if need > shown + 1 or right > edge]
            if (sized and len(chips) == 3 and not cut) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert sized, "the large fonts never arrived" if large else "the large fonts stayed"
        assert len(chips) == 3
        assert not cut, cut


def drawn_texts(browser, fig, width: int) -> list[dict]:
    """The text boxes of a figure drawn by plotly.js in Chromium at a given width, as READ reads a chart."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, div_id="chart", config={"responsive": True})
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html)
    page.wait_for_function("() => !!document.getElementById('chart')._fullLayout")
    time.sleep(0.3)  # automargin's second pass
    boxes = page.evaluate(READ)["boxes"]
    page.close()
    return boxes


@pytest.mark.parametrize("large", [False, True])
def test_seven_heatmap_panels_keep_their_run_names_apart(large):
    names = ["blog-rnn", "remedies-clip", "remedies-lr", "remedies-orthogonal", "remedies-irnn", "remedies-gru"]
    rng = np.random.default_rng(0)
    steps = np.arange(0, 201, 10)
    runs = [(f"{k + 1} · {name}", steps, 10 ** rng.uniform(-8, 0, (len(steps), 28))) for k, name in enumerate(names)]
    runs.append(("7 · blog-lstm", steps, 10 ** rng.uniform(-2, 0, (len(steps), 28))))
    fig = figures.gradient_heatmaps(runs, "k", figures.Style.for_talks(large))
    with chromium() as browser:  # the main column's width at 1440x900, with the sidebar and without it
        boxes = drawn_texts(browser, fig, 1340 if large else 940)
    titles = [b for b in boxes if " · " in b["text"]]
    assert len(titles) == 7
    assert not overlaps(boxes), overlaps(boxes)


def test_the_reports_gate_scatter_shows_fractions_from_0_to_1(trained_store, tmp_path):
    path = open_run(trained_store, 2).report(tmp_path / "report.html", open_run(trained_store, 1))
    with chromium() as browser:
        page = browser.new_page(viewport=SCREEN)
        page.goto(path.as_uri())
        page.locator(".js-plotly-plot").nth(7).wait_for(timeout=30_000)
        ranges = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(p => p._fullLayout.title.text.startsWith('Gate saturation'))"
            ".map(p => [p._fullLayout.xaxis.range, p._fullLayout.yaxis.range])"
        )
    assert ranges and all(-0.05 <= lo and hi <= 1.05 for axes in ranges for lo, hi in axes), ranges


SWEEP_MAP_TEXT = """() => [...document.querySelectorAll('.stPlotlyChart')].map(chart => ({
  title: chart.querySelector('.gtitle').textContent,
  box: chart.getBoundingClientRect().toJSON(),
  texts: [...chart.querySelectorAll('.gtitle, g[class$=tick] > text, [class$=title] text, .cbtitle text, '
    + '.textpoint text, g.text text')]
    .filter(el => el.textContent.trim()).map(el => ({text: el.textContent, ...el.getBoundingClientRect().toJSON()})),
}))"""


def test_the_sweeps_map_is_legible_and_a_click_picks_the_runs_of_its_grid_point(sweep_store, tmp_path):
    store = tmp_path / "runs.sqlite"
    shutil.copy(sweep_store, store)
    with streamlit_server(store, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=SCREEN)
        page.goto(f"{url}/sweeps")
        page.wait_for_selector(".stPlotlyChart .scatterlayer .points path", timeout=60_000)
        time.sleep(1)
        maps = page.evaluate(SWEEP_MAP_TEXT)
        assert [m["title"] for m in maps][:2] == [
            "Final test accuracy, mean over seeds", "Gradient reaching t = 1: ||dL/dh_1|| / ||dL/dh_T||"
        ]  # fmt: skip
        left, right = maps[0]["box"], maps[1]["box"]
        assert left["x"] + left["width"] <= right["x"] and right["x"] + right["width"] <= SCREEN["width"]
        for m in maps[:2]:
            texts = [dict(t, w=t["width"], h=t["height"]) for t in m["texts"]]
            assert not overlaps(texts), (m["title"], overlaps(texts))
            assert all(m["box"]["x"] <= t["x"] and t["x"] + t["w"] <= m["box"]["x"] + m["box"]["width"] + 1
                       for t in texts), m["title"]  # fmt: skip
        # lr 0.001 is across, hidden size 8 the first row: that grid point is the set's first two runs
        cell = page.query_selector_all(".stPlotlyChart >> nth=0 >> .scatterlayer .points path")[0].bounding_box()
        page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
        chips = "els => els.map(e => e.getAttribute('aria-label'))"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            picked = page.eval_on_selector_all("[data-testid=stSidebar] [data-tag]", chips)
            if len(picked) == 2 and all(p.startswith(("1 · ", "2 · ")) for p in picked):
                break
            time.sleep(0.5)
        assert sorted(p.split(" · ")[0] for p in picked) == ["1", "2"], picked
        assert all("lr 0.001, hidden size 8" in p for p in picked)
