"""A room on one laptop: the blog pair trains on a shared dashboard (a presenter's secret set, as
`rnnviz app --share 127.0.0.1` does) while 50 simulated viewers (bench/viewers.py: a Streamlit session
each, fragment reruns and feed polls as a browser tab makes them) and 3 real Chromium tabs watch the
Overview through the viewer link. Loopback addresses only.

Reports, against the same runs with no viewer in alternating windows (alone, room, alone, room, alone):
- training speed with the room / alone (target >= 0.85), each room window against the alone windows
  either side of it (speeds drift on a shared machine);
- chart lag in the real tabs: how long the step a chart shows has been behind the store (median < 1 s,
  max < 3 s);
- the cores the server, the 3 tabs' Chromium and the simulated viewers' clients used in each room window;
- server memory (RSS) before the room, with it, and after it left, and its share per viewer;
- after the 50 leave at once: the server's health answer and a page drawn for a tab arriving then; the
  room then comes back for the next window.

    python bench/bench_room.py [--viewers 50] [--window 30] [--cycles 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import viewers as sim  # noqa: E402
from bench.bench_load import alternating_ratio, rates, rss_mib, steps  # noqa: E402
from rnnviz import roles, runner  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.store import UNFINISHED, Store  # noqa: E402
from tests.browser import chromium, data_root, server_pid, streamlit_server  # noqa: E402

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


class Progress:
    """The runs' progress in the store (livechart's number: 2 x step, +1 once ended) sampled every 0.1 s, so a
    chart's progress can be dated: how long ago the store went past it."""

    def __init__(self, store_path: Path, ids: list[int]) -> None:
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(store_path, ids), daemon=True)
        self.thread.start()

    def _run(self, store_path: Path, ids: list[int]) -> None:
        with Store(store_path) as store:
            while not self.stop.is_set():
                runs = store.runs().set_index("run_id").loc[ids]
                total = sum(2 * int(r["step"]) + (r["status"] not in UNFINISHED) for _, r in runs.iterrows())
                self.samples.append((time.monotonic(), total))
                time.sleep(0.1)

    def lag(self, shown: int, at: float) -> float:
        """Seconds the store had been past `shown` at time `at` (0 when it was not past it yet)."""
        past = [t for t, p in self.samples if p > shown and t <= at]
        return at - past[0] if past else 0.0


def open_tabs(browser, url: str, ids: list[int], n: int = 3) -> list:
    tabs = []
    for _ in range(n):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{url}/overview?runs={','.join(map(str, ids))}", timeout=180_000)
        page.get_by_text("Training loss").wait_for(timeout=120_000)
        tabs.append(page)
    return tabs


def chart_progress(page) -> int | None:
    """The progress of the figure the tab's first chart shows (data-progress of livechart's frame)."""
    charts = page.locator("iframe[title='rnnviz.dashboard.livechart.livechart']")
    if not charts.count():  # the page is being drawn again
        return None
    handle = charts.first.element_handle(timeout=5_000)
    frame = handle.content_frame() if handle else None
    if frame is None:
        return None
    value = frame.evaluate("() => document.getElementById('chart')?.dataset.progress")
    return int(value) if value else None


def watch_lags(tabs: list, progress: Progress, seconds: float) -> list[float]:
    """Each tab's chart lag, sampled every 0.5 s for `seconds`."""
    lags, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        for page in tabs:
            shown = chart_progress(page)
            if shown is not None:
                lags.append(progress.lag(shown, time.monotonic()))
        time.sleep(0.5)
    return lags


def cpu_seconds(server: int) -> dict[str, float]:
    """CPU seconds used so far by the server, this machine's Chromium (the 3 real tabs: descendants of this
    process) and this process (the simulated viewers' clients and Playwright's side of the tabs)."""
    tick, parent, used, names = os.sysconf("SC_CLK_TCK"), {}, {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw, cmd = stat.read_text(), (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        fields, pid = raw[raw.rindex(")") + 2 :].split(), int(stat.parent.name)
        parent[pid], used[pid], names[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmd
    me, browser = os.getpid(), 0.0
    for pid, cmd in names.items():
        up = pid
        while up > 1 and up != me:
            up = parent.get(up, 1)
        if up == me and b"chromium" in cmd:
            browser += used[pid]
    return {"server": used.get(server, 0.0), "browser": browser, "viewers": used.get(me, 0.0)}


def answers(url: str) -> float:
    """Seconds the server takes to answer its health check."""
    t0 = time.monotonic()
    with urllib.request.urlopen(url + "/_stcore/health", timeout=30) as r:
        assert r.read() == b"ok"
    return time.monotonic() - t0


def room(args: argparse.Namespace, url: str, browser, pid: int, store_path: Path, ids: list[int]) -> dict:
    """The windows: alone, then (room, alone) `args.cycles` times; returns the figures."""
    progress = Progress(store_path, ids)
    query = f"runs={','.join(map(str, ids))}"
    alone, crowded, lags, rss, back, cores = [], [], [], [], [], []
    with Store(store_path) as store:
        rss.append({"before": rss_mib(pid)})
        alone.append(rates(store, ids, args.window))
        for _ in range(args.cycles):
            tabs = open_tabs(browser, url, ids)
            crowd, stop, threads = sim.start(url, args.viewers, "overview", query)
            time.sleep(args.settle)  # 50 first page runs are a one-off: measure the steady cost of watching
            rss[-1]["room"] = rss_mib(pid)
            t0, before = time.monotonic(), steps(store, ids)  # the speed over the window the lags are sampled
            c0 = cpu_seconds(pid)
            lags.append(watch_lags(tabs, progress, args.window))
            after, dt, c1 = steps(store, ids), time.monotonic() - t0, cpu_seconds(pid)
            cores.append({k: round((c1[k] - c0[k]) / dt, 3) for k in c1})
            crowded.append({i: (after[i] - before[i]) / dt for i in ids})
            errors = [e for v in crowd for e in v.errors]
            sim.leave(stop, threads)  # the 50 leave at once
            for page in tabs:
                page.context.close()
            health = answers(url)
            late = open_tabs(browser, url, ids, 1)  # someone arriving just then gets the page
            late[0].context.close()
            back.append({"health_s": round(health, 2), "feed_polls": sum(v.polls for v in crowd),
                         "feeds_per_viewer": statistics.mean(len(v.feeds) for v in crowd),
                         "viewer_errors": errors[:3], "viewer_error_count": len(errors)})  # fmt: skip
            time.sleep(5)
            rss[-1]["left"] = rss_mib(pid)
            alone.append(rates(store, ids, args.window))
            rss.append({"before": rss_mib(pid)})
    progress.stop.set()
    every_lag = [x for w in lags for x in w]
    return {
        "viewers": args.viewers,
        "real_tabs": 3,
        "steps_per_s": {
            i: {"alone": [round(w[i], 1) for w in alone], "room": [round(w[i], 1) for w in crowded]} for i in ids
        },
        "ratio_room_vs_alone": alternating_ratio(crowded, alone),
        "chart_lag_s": {
            "median": round(statistics.median(every_lag), 2) if every_lag else None,
            "max": round(max(every_lag), 2) if every_lag else None,
            "samples": len(every_lag),
        },
        "room_cores": cores,  # cores used in each room window by the server, the 3 tabs, the simulated clients
        "server_rss_mib": rss,
        "server_mib_per_viewer": [round((r["room"] - r["before"]) / (args.viewers + 3), 2) for r in rss if "room" in r],
        "after_leaving_at_once": back,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--window", type=float, default=30.0, help="seconds of each speed measurement")
    ap.add_argument("--cycles", type=int, default=2, help="room windows, each between two alone windows")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds from the room's arrival to its window")
    args = ap.parse_args()
    os.environ[roles.ENV] = "bench-presenter-secret-not-used-by-viewers"
    os.environ["RNNVIZ_STANDBY"] = "0"
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_path = tmp / "room.sqlite"
        with streamlit_server(store_path, data_root(tmp, MNIST)) as url, chromium() as browser:
            with Store(store_path) as store:
                configs = [preset(n, steps=200_000, threads=1, data_dir=str(MNIST)) for n in ("blog-rnn", "blog-lstm")]
                ids = runner.launch(configs, store, runner.Limits.from_env())
                try:
                    while min(steps(store, ids).values()) < 50:
                        time.sleep(0.5)
                    report = room(args, url, browser, server_pid(url), store_path, ids)
                finally:  # the trainers outlive the server: they stop even when a step above failed
                    for i in ids:
                        runner.stop(store, i)
            report["server_log_tracebacks"] = (
                (tmp / f"streamlit-{url.rsplit(':', 1)[1]}.log").read_text().count("Traceback")
            )
    report["load_average_at_start"] = [round(x, 1) for x in load]
    report["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
