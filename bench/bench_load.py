"""Load: two runs train while three browser sessions watch the Overview at 1 s refresh, for minutes.

Reports the resident memory (RSS) of the Streamlit server and of each trainer at the start and the
end of the watched period, errors in the server log, the cores each kind of process uses while the
sessions watch, and each run's speed while watched as a ratio to its speed with no browser open. The
speeds drift over the minutes (the store grows; the machine is shared), so after the long watch the
ratio is measured in alternating windows: sessions closed, then open again, `--cycles` times; the
ratio is the median of each watched window over the mean of the unwatched windows either side of it.

    python bench/bench_load.py [--minutes 10] [--cycles 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_dashboard import cpu_by_kind  # noqa: E402
from rnnviz import runner  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.store import Store  # noqa: E402
from tests.browser import chromium, data_root, server_pid, streamlit_server  # noqa: E402

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def steps(store: Store, ids: list[int]) -> dict[int, int]:
    return {i: store.run(i)["step"] for i in ids}


def rates(store: Store, ids: list[int], seconds: float, cores: list[dict] | None = None) -> dict[int, float]:
    """Steps per second of each run over a window; the cores used per kind of process appended to `cores`."""
    before, t0, c0 = steps(store, ids), time.monotonic(), cpu_by_kind()
    time.sleep(seconds)
    after, dt, c1 = steps(store, ids), time.monotonic() - t0, cpu_by_kind()
    if cores is not None:
        cores.append({k: round((c1[k] - c0.get(k, 0.0)) / dt, 2) for k in c1})
    return {i: (after[i] - before[i]) / dt for i in ids}


def alternating_ratio(tested: list[dict[int, float]], alone: list[dict[int, float]]) -> dict[int, float]:
    """Each run's median over windows `tested[k]` of its speed against the mean of `alone[k]` and
    `alone[k + 1]`, the windows either side (speeds drift over minutes on a shared machine)."""
    return {
        i: round(statistics.median(2 * t[i] / (alone[k][i] + alone[k + 1][i]) for k, t in enumerate(tested)), 3)
        for i in tested[0]
    }


def open_sessions(browser, url: str) -> list:
    """Three browser sessions (separate contexts, as three people) on the Overview, loaded and settled."""
    sessions = []
    for _ in range(3):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url + "/overview")
        page.get_by_text("Training loss").wait_for(timeout=60000)
        sessions.append(context)
    time.sleep(5)  # page loads are a one-off; measure the steady cost of watching
    return sessions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=20.0, help="seconds of each speed measurement")
    ap.add_argument("--cycles", type=int, default=3, help="alternations of no session / three sessions at the end")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_path = tmp / "load.sqlite"
        with (
            streamlit_server(store_path, data_root(tmp, MNIST)) as url,
            chromium() as browser,
            Store(store_path) as store,
        ):
            pid = server_pid(url)
            ids = [
                runner.start(preset(name, steps=10_000_000, threads=1, data_dir=str(MNIST)), store)
                for name in ("blog-rnn", "blog-lstm")
            ]
            while min(steps(store, ids).values()) < 50:
                time.sleep(0.5)
            alone = rates(store, ids, args.window)
            sessions = open_sessions(browser, url)
            pids = {"server": pid, **{f"run {i}": store.run(i)["pid"] for i in ids}}
            start_rss = {k: rss_mib(p) for k, p in pids.items()}
            cores: list[dict] = []
            watched = rates(store, ids, args.window, cores)
            timeline = [start_rss]  # RSS once a minute: growth that levels off is a warm-up, not a leak
            end_at = time.monotonic() + max(0.0, args.minutes * 60 - 2 * args.window)
            while (left := end_at - time.monotonic()) > 0:
                time.sleep(min(60.0, left))
                timeline.append({k: rss_mib(p) for k, p in pids.items()})
            watched_end = rates(store, ids, args.window, cores)
            end_rss = {k: rss_mib(p) for k, p in pids.items()}
            unwatched, watched_again = [], []
            for _ in range(args.cycles):
                for context in sessions:
                    context.close()
                time.sleep(5)
                unwatched.append(rates(store, ids, args.window))
                sessions = open_sessions(browser, url)
                watched_again.append(rates(store, ids, args.window, cores))
            for context in sessions:
                context.close()
            time.sleep(5)
            unwatched.append(rates(store, ids, args.window))
            for i in ids:
                runner.stop(store, i)
            statuses = {i: store.run(i)["status"] for i in ids}
            log = (tmp / f"streamlit-{url.rsplit(':', 1)[1]}.log").read_text()
    errors = [line for line in log.splitlines() if "Traceback" in line or "Error" in line]
    report = {
        "minutes": args.minutes,
        "rss_mib_start": start_rss,
        "rss_mib_end": end_rss,
        "rss_mib_each_minute": {k: [t[k] for t in timeline] for k in start_rss},
        "server_log_errors": len(errors),
        "steps_per_s_alone_before": {i: round(v, 1) for i, v in alone.items()},
        "cores_while_watched": cores,
        "steps_per_s_watched_start": {i: round(v, 1) for i, v in watched.items()},
        "steps_per_s_watched_end": {i: round(v, 1) for i, v in watched_end.items()},
        "steps_per_s_alternating": {
            i: {"alone": [round(w[i], 1) for w in unwatched], "watched": [round(w[i], 1) for w in watched_again]}
            for i in ids
        },
        "ratio_watched_vs_alone": alternating_ratio(watched_again, unwatched),
        "runs_still_training_at_end": statuses,
    }
    print(f"RSS MiB start {start_rss} -> end {end_rss}")
    for k, series in report["rss_mib_each_minute"].items():
        print(f"  {k} each minute: {series}")
    print(f"server log errors: {len(errors)}{': ' + errors[0] if errors else ''}")
    print(f"steps/s alone before {alone}, watched at the start {watched} and the end {watched_end}")
    print(f"steps/s alternating (alone, watched): {report['steps_per_s_alternating']}")
    print(f"training speed watched / alone: {report['ratio_watched_vs_alone']} (target >= 0.9)")
    print(f"cores while watched (start, end, then each watched window): {cores}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
