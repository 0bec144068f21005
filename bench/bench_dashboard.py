"""Dashboard latency and the cost of watching, measured in real headless Chromium.

1. Click Train -> first point on the Overview page, from a cold page load (seconds; target < 3 s).
2. Lag between a step being committed to the store and the open page's chart drawing it (target: median < 1 s,
   max < 3 s).
3. Training speed while two tabs watch the run at 1 s refresh, as a ratio to the speed with no tab open
   (target >= 0.9x). Alternating windows of one run, medians reported.
4. With --whole: the blog pair (5,000 steps each) trained to its end with Overview, Gradient flow and
   Remedies open in three tabs; every line's lag behind its run over the whole pair, median and maximum
   (targets < 1 s and < 3 s). About 3 minutes more.

    python bench/bench_dashboard.py [--window 10] [--cycles 3] [--whole]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Error as PlaywrightError  # noqa: E402

from rnnviz import runner  # noqa: E402
from rnnviz.config import Limits, preset  # noqa: E402
from rnnviz.store import UNFINISHED, Store  # noqa: E402
from tests import watching  # noqa: E402
from tests.browser import chromium, data_root, streamlit_server  # noqa: E402

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


LAST_STEP = """c => {
  const x = c._fullData && c._fullData.length ? c._fullData[0].x : null;
  return x && x.length ? Number(x[x.length - 1]) : null;
}"""


def shown_step(page) -> int | None:
    """The last training step drawn in the Overview's chart (its first trace: the run's loss)."""
    frame = page.frame_locator("iframe[title='rnnviz.dashboard.livechart.livechart']").first
    try:
        return frame.locator("#chart").evaluate(LAST_STEP, timeout=1000)
    except PlaywrightError:  # the chart's frame is not there yet
        return None


def wait_done(store: Store, run_id: int) -> dict:
    while store.run(run_id)["status"] in ("queued", "running"):
        time.sleep(0.2)
    return store.run(run_id)


def first_point_and_lag(url: str, browser, store: Store, watch_s: float) -> tuple[float, float, list[float]]:
    """Seconds from the click to the first point drawn, and to the first step committed (the trainer's own
    start: a new process importing torch and reading the data), then the lags of the updates after it."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(url + "/")  # a cold page load; the blog pair (5,000 steps) is long enough to watch
    button = page.get_by_role("button", name="Train RNN vs LSTM")
    button.wait_for(timeout=30000)
    clicked = time.monotonic()
    button.click()
    page.get_by_role("link", name="Overview").first.click()
    committed_first = None
    while (shown_step(page) or 0) < 1:
        if committed_first is None and int(store.conn.execute("SELECT MAX(step) FROM runs").fetchone()[0] or 0):
            committed_first = time.monotonic() - clicked
        time.sleep(0.05)
    first = time.monotonic() - clicked
    committed_first = first if committed_first is None else committed_first

    commits: dict[int, float] = {}  # step -> when the store first showed it
    stop = threading.Event()

    def watch_store() -> None:
        with Store(store.path) as reader:
            last = -1
            while not stop.is_set():
                step = int(reader.conn.execute("SELECT MAX(step) FROM runs").fetchone()[0] or 0)
                if step != last:
                    commits[step] = time.monotonic()
                    last = step
                time.sleep(0.02)

    thread = threading.Thread(target=watch_store, daemon=True)
    thread.start()
    lags, last_seen, end = [], None, time.monotonic() + watch_s
    while time.monotonic() < end:
        step = shown_step(page)
        if step is not None and step != last_seen:
            seen = time.monotonic()
            committed = [t for s, t in commits.items() if s >= step]
            if committed and last_seen is not None:
                lags.append(seen - min(committed))
            last_seen = step
        time.sleep(0.05)
    stop.set()
    thread.join()
    page.close()
    return first, committed_first, lags


def whole_pair_lags(url: str, browser, store: Store) -> dict:
    """Every live line's lag behind its run while the blog pair trains to its end in three open tabs."""
    configs = [preset(name, threads=1, data_dir=str(MNIST)) for name in ("blog-rnn", "blog-lstm")]
    ids = runner.launch(configs, store, Limits())
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pages = {name: context.new_page() for name in ("overview", "gradient_flow", "remedies")}
    for name, page in pages.items():
        page.goto(f"{url}/{name}?runs={','.join(map(str, ids))}")
    watches = {name: watching.Watch(name) for name in pages}
    opened = time.monotonic()
    while any(store.run(i)["status"] in UNFINISHED for i in ids):
        watching.sample(watches, pages, store.path, ids)
        time.sleep(0.25)
    for _ in range(12):  # the seconds after the end
        watching.sample(watches, pages, store.path, ids)
        time.sleep(0.25)
    context.close()
    lags = [lag for w in watches.values() for key in w.lines for lag in w.lag_series(key, since=opened + 10)]
    worst = {
        f"{name}: {key}": max(w.lag_series(key, since=opened + 10), default=0.0)
        for name, w in watches.items()
        for key in w.lines
    }
    slowest = max(worst, key=worst.get)
    return {
        "median": round(statistics.median(lags), 2),
        "max": round(worst[slowest], 2),
        "worst_line": slowest,
        "n": len(lags),
    }


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds used so far by every process on the machine, grouped: trainer, server, browser, other."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        kind = (
            "trainer"
            if b"rnnviz\x00worker" in cmdline
            else "server"
            if b"streamlit" in cmdline
            else "browser"
            if b"chromium" in cmdline
            else "other"
        )
        totals[kind] = totals.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def rate(store: Store, run_id: int, seconds: float, cores: list[dict] | None = None) -> float:
    """Steps per second of a training run over a window, read from the store; cores used per kind appended."""
    s0, t0, c0 = store.run(run_id)["step"], time.monotonic(), cpu_by_kind()
    time.sleep(seconds)
    elapsed, c1 = time.monotonic() - t0, cpu_by_kind()
    if cores is not None:
        cores.append({k: (c1[k] - c0.get(k, 0.0)) / elapsed for k in c1})
    return (store.run(run_id)["step"] - s0) / elapsed


def speeds(
    store: Store, browser, url: str, window: float, cycles: int, cores: list[dict]
) -> tuple[list[float], list[float]]:
    """Alternating windows of one long run: no tab open, then two tabs watching the Overview (once loaded)."""
    run_id = runner.start(preset("blog-lstm", steps=10_000_000, threads=1, data_dir=str(MNIST)), store)
    while store.run(run_id)["step"] < 50:
        time.sleep(0.2)
    alone, watched = [], []
    for _ in range(cycles):
        alone.append(rate(store, run_id, window))
        pages = [browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
        for page in pages:
            page.goto(url + "/overview")
            page.get_by_text("Training loss").wait_for(timeout=30000)
        time.sleep(2)  # page loads are a one-off; measure the steady cost of watching
        watched.append(rate(store, run_id, window, cores))
        for page in pages:
            page.close()
        time.sleep(2)
    runner.stop(store, run_id)
    wait_done(store, run_id)
    return alone, watched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--window", type=float, default=10.0, help="seconds per speed measurement")
    ap.add_argument("--cycles", type=int, default=3, help="alternations of no tab / two tabs")
    ap.add_argument("--watch", type=float, default=15.0, help="seconds to measure the lag for")
    ap.add_argument("--whole", action="store_true", help="also watch the blog pair to its end in three tabs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_path = tmp / "bench.sqlite"
        with (
            streamlit_server(store_path, data_root(tmp, MNIST)) as url,
            chromium() as browser,
            Store(store_path) as store,
        ):
            first, committed, lags = first_point_and_lag(url, browser, store, args.watch)
            for run_id in store.runs()["run_id"]:
                runner.stop(store, int(run_id))
                wait_done(store, int(run_id))
            cores: list[dict] = []
            alone, watched = speeds(store, browser, url, args.window, args.cycles, cores)
            whole = whole_pair_lags(url, browser, store) if args.whole else None
    report = {
        "click_to_first_point_s": round(first, 2),
        "click_to_first_commit_s": round(committed, 2),
        "lag_s": {"median": round(statistics.median(lags), 2), "max": round(max(lags), 2), "n": len(lags)},
        "steps_per_s": {"no_tab": round(statistics.median(alone), 1), "two_tabs": round(statistics.median(watched), 1)},
        "ratio_two_tabs_vs_none": round(statistics.median(watched) / statistics.median(alone), 3),
        "cores_while_watching": {k: round(statistics.median(c.get(k, 0.0) for c in cores), 2) for k in cores[0]},
    }
    print(
        f"click -> first point on Overview: {report['click_to_first_point_s']} s (target < 3 s), of which "
        f"{report['click_to_first_commit_s']} s until the trainer committed its first step"
    )
    print(
        f"commit -> shown in page: median {report['lag_s']['median']} s, max {report['lag_s']['max']} s over "
        f"{report['lag_s']['n']} updates (targets: median < 1 s, max < 3 s)"
    )
    print(
        f"training speed: {report['steps_per_s']['no_tab']} steps/s alone, {report['steps_per_s']['two_tabs']} "
        f"with two tabs watching: {report['ratio_two_tabs_vs_none']}x (target >= 0.9x)"
    )
    print("cores busy while two tabs watch:", report["cores_while_watching"])
    if whole is not None:
        report["whole_pair_lag_s"] = whole
        print(
            f"blog pair watched to its end in three tabs: every line's lag median {whole['median']} s, max "
            f"{whole['max']} s ({whole['worst_line']}; targets < 1 s and < 3 s)"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
