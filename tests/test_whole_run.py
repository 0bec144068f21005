"""The talk's moment, watched whole in real Chromium: the blog pair trained to its end with Overview,
Gradient flow and Remedies open in three tabs, through a network drop, an overloaded machine and a server
restart. At the end every line reaches its run's last step and every training-step axis shows it, without
a reload; in between, no line stays behind its run for long."""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rnnviz import runner
from rnnviz.config import Limits, preset
from rnnviz.dashboard.live import FED_REFRESH_S
from rnnviz.store import UNFINISHED, Store

from . import watching
from .browser import CHROMIUM, chromium, data_root, free_port, streamlit_server
from .conftest import MNIST_DIR

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
PAGES = ("overview", "gradient_flow", "remedies")
RECOVER_S = 8.0  # after a disruption ends, the time a line may take to catch up (polls back off to 4 s)
# A stall, not a slow machine: the two trainers, the server and three tabs share this machine's cores, so
# lines lag by seconds (bench/bench_dashboard.py --whole measures how many); a chart that stopped, as
# before, lagged by minutes.
LAG_S = 20.0
# A calm spell before each disruption, in which lines are held to LAG_S and text to 2 s. The disruptions are
# planned in seconds, not in the RNN's steps: on a fast machine (an RNN of 39 s) 15% of its steps came before
# the pages had recovered from opening, and the calm spell before the first disruption was empty.
CALM_S = 6.0
# Every timing here is in seconds measured against the steps the runs committed, so the test holds for a
# faster or a slower trainer. RNNVIZ_TEST_BATCH (the blog's 100 by default) changes their steps a second and
# not the time they take: batch 25 over 20,000 steps, ~3x the steps a second; 250 over 2,000, ~2x fewer.
# Why the gradient faded is the blog settings' result, checked at batch 100 only.
BATCH = int(os.environ.get("RNNVIZ_TEST_BATCH", "100"))


def busy(cores: int) -> list[subprocess.Popen]:
    """Overload the machine: `cores` processes spinning until killed (at most a minute)."""
    spin = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(cores)]


def kill(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


class Timeline:
    """When the pages opened, when the pair ended, and each disruption's (start, end), in monotonic seconds."""

    def __init__(self) -> None:
        self.opened = time.monotonic()
        self.finished = self.opened
        self.disruptions: list[tuple[float, float]] = []

    def calm(self) -> list[tuple[float, float]]:
        """The calm spells: between the disruptions, each followed by RECOVER_S to catch up."""
        spells = [(self.opened + RECOVER_S, self.disruptions[0][0])]
        spells += [(end + RECOVER_S, nxt[0]) for (_, end), nxt in zip(self.disruptions, self.disruptions[1:])]
        return spells + [(self.disruptions[-1][1] + RECOVER_S, self.finished)]


def watch_to_the_end(context, pages, watches, server, store, data, port, ids) -> Timeline:
    """Sample every page until both runs end, disrupting the view three times, each after a calm spell."""
    times = Timeline()
    planned = ["network drop", "overload", "server restart"]
    next_at = times.opened + RECOVER_S + CALM_S
    ongoing: tuple[float, float, Callable[[], object]] | None = None  # (start, planned end, how to end it)
    while True:
        watching.sample(watches, pages, store, ids)
        with Store(store) as s:
            runs = s.runs().set_index("run_id")
        if all(runs.loc[i, "status"] not in UNFINISHED for i in ids):
            break
        now = time.monotonic()
        if ongoing is not None and now >= ongoing[1]:
            ongoing[2]()
            times.disruptions.append((ongoing[0], time.monotonic()))
            ongoing = None
            next_at = times.disruptions[-1][1] + RECOVER_S + CALM_S
        elif ongoing is None and planned and now >= next_at:
            what = planned.pop(0)
            if what == "network drop":  # the page's network drops for 5 s: its requests and its websocket fail
                context.set_offline(True)
                ongoing = (now, now + 5, lambda: context.set_offline(False))
            elif what == "overload":  # six processes spin on the two cores for 10 s
                spinners = busy(cores=6)
                ongoing = (now, now + 10, functools.partial(kill, spinners))
            else:  # the server is stopped (Ctrl-C, as in a terminal) and started again; trainers go on
                server.close()
                server.enter_context(streamlit_server(store, data, port))
                times.disruptions.append((now, time.monotonic()))
                next_at = times.disruptions[-1][1] + RECOVER_S + CALM_S
        time.sleep(0.5)
    times.finished = time.monotonic()
    while time.monotonic() < times.finished + RECOVER_S:  # what a person sees in the seconds after the end
        watching.sample(watches, pages, store, ids)
        time.sleep(0.5)
    took = times.finished - times.opened
    assert not planned, f"the pair ended {took:.0f} s after the pages opened, before: {planned}"
    return times


def assert_it_faded(store: Path, ids: list[int]) -> None:
    """Why it faded, at the end: what holds in every seed (seeds 0-4 at one thread: ||dh_T/dh_1|| 0 to 2.0e-4,
    seed 0 the largest, mean tanh slope 0.035 to 0.041, the LSTM's forget path at t = 1 0.017 to 0.030)."""
    with Store(store) as s:
        jacobian_t1 = s.series(ids[0], "jacobian_norm")[1][-1][0]
        slope = s.scalars(ids[0], ["tanh_slope_mean"])["value"].iloc[-1]
        forget_t1 = s.series(ids[1], "forget_path")[1][-1][0]
    if BATCH == 100:
        assert jacobian_t1 < 1e-3 and slope < 0.1 and forget_t1 > 1e-2, (jacobian_t1, slope, forget_t1)


def assert_text_keeps_up(watches: dict[str, watching.Watch], ids: list[int], times: Timeline) -> None:
    # the Overview's status lines state the step the chart beside them draws: a line that reran with the
    # page, every 5 s, stated a step 2.5 s old on average, and read as stuck next to a moving chart
    calm_lags = []
    for run in ids:
        key = f"status line / {run}"
        assert key in watches["overview"].lines, f"no status line for run {run} on the Overview"
        calm_lags += [lag for since, until in times.calm() for lag in watches["overview"].lag_series(key, since, until)]
    assert calm_lags and statistics.median(calm_lags) < 2.0, f"status lines lag {statistics.median(calm_lags)} s"
    # and every page's sidebar states each run's progress as closely, in seconds. "Step shown", following the
    # latest step, states no number (its end, hidden, is reread at the page's pace, live.FED_REFRESH_S): it
    # reaches the newest step within that, and a drag to its end follows the latest step whatever it was
    for name, watch in watches.items():
        assert all(f"sidebar line / {run}" in watch.lines for run in ids), f"{name}: a run's sidebar line is missing"
        sidebar = [
            lag
            for run in ids
            for since, until in times.calm()
            for lag in watch.lag_series(f"sidebar line / {run}", since, until)
        ]
        assert sidebar and statistics.median(sidebar) < 2.0, f"{name}: the sidebar lags {statistics.median(sidebar)} s"
        lags = [lag for since, until in times.calm() for lag in watch.lag_series(watch.scrubber, since, until)]
        assert lags and statistics.median(lags) < FED_REFRESH_S, f"{name}: scrubber lags {statistics.median(lags)} s"


def assert_lines_keep_up(watches: dict[str, watching.Watch], store: Path, ids: list[int], times: Timeline) -> None:
    last = watching.committed(store, ids)
    for name, watch in watches.items():
        assert {line.run for line in watch.lines.values()} == set(ids), f"{name}: a run is missing"
        for chart in watch.last:
            for line in chart["lines"]:
                run = int(watching.LABEL.search(line["name"] + " " + chart["title"])[1])
                where = f"{name}: {chart['title']} / {line['name']}"
                assert line["last"] == last[run], f"{where} ends at step {line['last']} of {last[run]}"
                assert line["top"] >= last[run], f"{where}: its axis ends at {line['top']}, before {last[run]}"
        # in the calm spells no line lags for long
        for since, until in times.calm():
            lags = watch.lags(since=since, until=until)
            worst = max(lags, key=lags.get)
            story = watch.story(worst, since, until, times.opened)
            assert lags[worst] < LAG_S, f"{name}: {worst} lagged {lags[worst]:.1f} s; {story}"
        # and no disruption leaves a line behind for good
        for start, end in times.disruptions:
            lags = watch.lags(since=start, until=end)
            worst = max(lags, key=lags.get)
            story = watch.story(worst, start, end, times.opened)
            bound = end - start + RECOVER_S + LAG_S
            assert lags[worst] < bound, f"{name}: {worst} lagged {lags[worst]:.1f} s; {story}"


@pytest.mark.timeout(900)
def test_the_blog_pair_watched_to_its_end_through_a_network_drop_load_and_a_server_restart(tmp_path):
    store = tmp_path / "runs.sqlite"
    Store(store).close()
    data, port = data_root(tmp_path, MNIST_DIR), free_port()
    configs = [
        preset(name, data_dir=str(MNIST_DIR), threads=1, jacobian_examples=1, batch_size=BATCH, steps=500_000 // BATCH)
        for name in ("blog-rnn", "blog-lstm")
    ]
    with contextlib.ExitStack() as server, chromium() as browser:
        url = server.enter_context(streamlit_server(store, data, port))
        with Store(store) as s:
            ids = runner.launch(configs, s, Limits())
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        pages = {name: context.new_page() for name in PAGES}
        for name, page in pages.items():
            page.goto(f"{url}/{name}?runs={','.join(map(str, ids))}")
        watches = {name: watching.Watch(name) for name in PAGES}
        times = watch_to_the_end(context, pages, watches, server, store, data, port, ids)
        assert_it_faded(store, ids)
        assert_text_keeps_up(watches, ids, times)
        assert_lines_keep_up(watches, store, ids, times)
