"""Watching live charts as a person does: what each chart in a real browser draws, line by line, against
what its run has committed, sampled over a whole run."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from rnnviz.store import Store

CHART_IFRAME = "iframe[title='rnnviz.dashboard.livechart.livechart']"

# Every line drawn on a training-step axis of the chart in this frame (an axis whose title says "training
# step"; time-step axes say "time step"): its name, the last step it reaches, the spacing of its last two
# points (a line of one point: its step), and the upper end of the axis it is drawn on.
READ_CHART = """() => {
  const c = document.getElementById('chart');
  if (!c || !c._fullLayout || !c._fullData) return null;
  const title = (c._fullLayout.title && c._fullLayout.title.text) || '';
  const lines = [], seen = {};
  for (const t of c._fullData) {
    // marks on a line (the steps where it reached 0, or was clipped) are no line of their own
    if (!t.visible || !t.x || !t.x.length || t.mode === 'markers') continue;
    const key = 'xaxis' + (t.xaxis || 'x').slice(1);
    const ax = c._fullLayout[key];
    if (!ax || !/training step/.test((ax.title && ax.title.text) || '')) continue;
    const x = Array.from(t.x).filter((v) => typeof v === 'number');
    if (!x.length) continue;
    // a line is known by its panel (y axis) and name, which stay when other lines appear beside it
    const id = (t.yaxis || 'y') + ' ' + (t.name || '');
    seen[id] = (seen[id] || 0) + 1;
    lines.push({name: t.name || '', id: id + (seen[id] > 1 ? ' #' + seen[id] : ''), axis: key, last: x[x.length - 1],
                gap: x.length > 1 ? x[x.length - 1] - x[x.length - 2] : x[0], top: ax.range[1]});
  }
  return {title: title, lines: lines};
}"""
LABEL = re.compile(r"(\d+) · ")
LATEST = 0  # in Watch.steps, the newest step of any watched run (run ids start at 1)
# A run's status line in words (the Overview's, under its title): "3 · blog-rnn training, step 1,234 of 5,000".
STATUS_LINE = re.compile(r"(\d+) · \S+ [a-z ]+, step ([\d,]+) of [\d,]+")
# A run's line in the sidebar: "3 · blog-rnn: training, 24.3%".
SIDEBAR_LINE = re.compile(r"(\d+) · \S+: training, ([\d.]+)%")
LIVETEXT = "rnnviz.dashboard.livechart.livetext"


@dataclass
class Line:
    """One line of one chart of a page, as drawn at each sample: (time, last step drawn, its spacing)."""

    run: int
    drawn: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class Watch:
    """What one open page drew over a run, and what its runs had committed, sampled."""

    name: str
    lines: dict[str, Line] = field(default_factory=dict)
    last: list[dict] = field(default_factory=list)  # READ_CHART's answers at the latest sample
    steps: dict[int, list[tuple[float, int]]] = field(default_factory=dict)  # run -> (time, committed step)
    # the sidebar's "Step shown": its end follows the newest step of the picked runs (LATEST in `steps`)
    scrubber: Line = field(default_factory=lambda: Line(LATEST))

    def lags(self, since: float = 0.0, until: float = float("inf")) -> dict[str, float]:
        """Per line, the longest time it took to draw a step committed between `since` and `until` (to within
        the line's own spacing: a probe every 100 steps, an evaluation every 500), from the time it was
        first drawn. A line that stalls shows as a lag that grows until it recovers; one still behind at the
        end counts up to then."""
        return {key: max(self.lag_series(key, since, until), default=0.0) for key in self.lines}

    def lag_series(self, key: str | Line, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """Each sampled commit's lag on one line (see `lags`), given by its key or itself."""
        line, out, j = self.lines[key] if isinstance(key, str) else key, [], 0
        if not line.drawn:
            return out
        for t0, step in self.steps.get(line.run, []):
            if not max(since, line.drawn[0][0]) <= t0 <= until:
                continue
            while j < len(line.drawn) and (line.drawn[j][0] < t0 or line.drawn[j][1] < step - line.drawn[j][2]):
                j += 1
            # up to the last sample that did not show it yet: a pause of the sampler itself (this test's
            # process starved on a busy machine) is not the chart's lag; a chart that stalls is sampled
            # not showing it again and again, so its lag grows all the same
            shown_by = line.drawn[j - 1][0] if 0 < j <= len(line.drawn) else t0
            out.append(max(0.0, shown_by - t0))
        return out

    def story(self, key: str, since: float, until: float, origin: float) -> str:
        """What a line drew and what its run had committed around a window, for a failure's message."""
        line = self.lines[key]
        drawn = [(round(t - origin, 1), d) for t, d, _ in line.drawn if since - 5 <= t <= until + 15]
        steps = [(round(t - origin, 1), s) for t, s in self.steps.get(line.run, []) if since - 5 <= t <= until + 15]
        return f"drawn (s, step): {drawn}; committed: {steps}"


def read_charts(page) -> list[dict]:
    charts = []
    for handle in page.locator(CHART_IFRAME).element_handles():
        try:
            frame = handle.content_frame()
            answer = frame.evaluate(READ_CHART) if frame else None
        except PlaywrightError:  # a frame being replaced by the page's rerun
            continue
        if answer and answer["lines"]:
            charts.append(answer)
    return charts


def texts(page, where: str) -> str:
    """The text of a part of the page (stMain, stSidebar), the lines that fetch themselves (livetext frames,
    rnnviz/dashboard/live.py) included."""
    try:
        text = page.locator(f"[data-testid={where}]").inner_text(timeout=1000)
        for handle in page.locator(f"[data-testid={where}] iframe[title='{LIVETEXT}']").element_handles():
            frame = handle.content_frame()
            text += "\n" + (frame.evaluate("() => document.body.innerText") if frame else "")
    except PlaywrightError:
        return ""
    return text


def read_status_lines(page) -> dict[int, int]:
    """The step each run's status line on the page states, by run."""
    return {int(run): int(step.replace(",", "")) for run, step in STATUS_LINE.findall(texts(page, "stMain"))}


def read_sidebar_lines(page, steps: dict[int, int]) -> dict[int, tuple[float, float]]:
    """The step each run's line in the sidebar states ("training, 24.3%" of its `steps`), by run, and how
    far apart two of the steps it can state are (0.1% of them)."""
    return {
        int(run): (float(share) / 100 * steps[int(run)], steps[int(run)] / 1000)
        for run, share in SIDEBAR_LINE.findall(texts(page, "stSidebar"))
        if int(run) in steps
    }


def committed(store: Path, ids: list[int]) -> dict[int, int]:
    """Each run's latest committed step."""
    with Store(store) as s:
        runs = s.runs().set_index("run_id")
    return {i: int(runs.loc[i, "step"]) for i in ids if i in runs.index}


def sample(watches: dict[str, Watch], pages: dict, store: Path, ids: list[int]) -> None:
    """Read every watched page's charts, then what the runs have committed: a line is never compared with
    a step committed after it was read."""
    with Store(store) as s:
        total_steps = {int(i): int(n) for i, n in s.runs().set_index("run_id")["total_steps"].items() if i in ids}
    for name, page in pages.items():
        watch, now = watches[name], time.monotonic()
        watch.last = read_charts(page)
        for chart in watch.last:
            for line in chart["lines"]:
                found = LABEL.search(line["name"]) or LABEL.search(chart["title"])
                run = int(found[1]) if found else -1
                key = f"{chart['title'][:60]} / {line['id']}"
                watch.lines.setdefault(key, Line(run)).drawn.append((now, line["last"], line["gap"]))
        for run, step in read_status_lines(page).items():  # text that states a step lags no more than a line
            watch.lines.setdefault(f"status line / {run}", Line(run)).drawn.append((now, step, 0))
        for run, (step, gap) in read_sidebar_lines(page, total_steps).items():
            watch.lines.setdefault(f"sidebar line / {run}", Line(run)).drawn.append((now, step, gap))
        if (end := scrubber_end(page)) >= 0:
            watch.scrubber.drawn.append((now, end, 0))
    now = time.monotonic()
    steps = committed(store, ids)
    for run, step in [*steps.items(), (LATEST, max(steps.values(), default=0))]:
        for watch in watches.values():
            watch.steps.setdefault(run, []).append((now, step))


def scrubber_end(page) -> int:
    """The upper end of the sidebar's step scrubber ("Step shown"), -1 where it is not on the page."""
    slider = page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first
    try:
        return int(slider.get_attribute("max", timeout=2000) or -1)
    except PlaywrightError:
        return -1
