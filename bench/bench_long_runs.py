"""What a long run costs to look at: runs of 1,000 to 1,000,000 steps, in one run of this script.

For each length, a store is synthesised the way the trainer writes it (Store.append, 12 scalars a step, in
batches of one flush), and measured: its size per 1,000 steps (and, up to --tensorboard-up-to steps, that of
TensorBoard's event files for the same scalars, written by the export), the API's Overview figure time
(`open_run(...).figure("overview")`), and, in headless Chromium, the time from opening the Overview of the
run in a warm dashboard to its chart drawn up to the last step, and the server's memory (RSS) growth from
opening it. Ratios are against the 1,000-step run measured in the same run. The machine's load is printed.

    python bench/bench_long_runs.py [--steps 1000 10000 100000 1000000] [--batch 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.store import Status, Store, export_tensorboard  # noqa: E402
from tests.browser import chromium, data_root, server_pid, streamlit_server  # noqa: E402

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"
# What the trainer records every step (trainer.train_step): 12 scalars.
NAMES = ["loss", "accuracy", "saturated", "saturated_last", "clipped", "grad_norm/global"] + [
    f"grad_norm/{p}" for p in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                               "head.weight", "head.bias")
]  # fmt: skip
DRAWN = """([last, n]) => {
  const c = document.getElementById('chart');
  const x = c && c._fullData && c._fullData.length ? c._fullData[0].x : null;
  return !!x && x.length > 0 && Number(x[x.length - 1]) === last && c._fullData.length >= n;
}"""


def synthesise(store: Store, steps: int, batch: int) -> int:
    """A finished run of `steps` steps: 12 scalars a step and a test accuracy every 500, appended in batches
    as the trainer's flushes commit them."""
    run_id = store.create_run(preset("quick-rnn", steps=steps, name=f"synthetic {steps:,}"))
    store.mark_running(run_id, os.getpid())
    rng = np.random.default_rng(steps)
    for a in range(1, steps + 1, batch):
        block = np.arange(a, min(a + batch, steps + 1))
        values = rng.random((len(block), len(NAMES)))
        values[:, 0] = 2.3 * np.exp(-block / (steps / 5)) + 0.1 * values[:, 0]  # a loss that falls
        rows = [(int(s), n, float(v)) for s, row in zip(block, values) for n, v in zip(NAMES, row)]
        rows += [(int(s), "test_accuracy", float(rng.random())) for s in block if s % 500 == 0]
        store.append(run_id, int(block[-1]), rows, [], {})
    store.finish(run_id, Status.FINISHED, seconds=1.0)
    return run_id


def file_size(path: Path) -> int:
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def tensorboard_size(store: Store, run_id: int, out: Path) -> int:
    logdir = export_tensorboard(store, run_id, out)
    return sum(f.stat().st_size for f in logdir.rglob("events.out.tfevents.*"))


def api_figure_s(path: Path, run_id: int, warm: int, repeats: int) -> float:
    with Store(path) as store:
        rnnviz.open_run(store, warm).figure("overview")  # imports and Plotly's first figure, not counted
    times = []
    for _ in range(repeats):
        with Store(path) as store:
            t0 = time.perf_counter()
            rnnviz.open_run(store, run_id).figure("overview")
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def overview(browser, url: str, run_id: int, last: int) -> float:
    """Seconds from opening the run's Overview to its chart drawn to the run's last step."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        t0 = time.perf_counter()
        page.goto(f"{url}/overview?runs={run_id}")
        frame = page.frame_locator("iframe[title='rnnviz.dashboard.livechart.livechart']").first
        frame.locator("#chart").wait_for(state="attached", timeout=120_000)
        deadline = time.monotonic() + 120
        while True:
            try:
                if frame.locator("#chart").evaluate(f"c => ({DRAWN})([{last}, 1])", timeout=1000):
                    return time.perf_counter() - t0
            except Exception:  # the frame re-rendered under the evaluation
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Overview of run {run_id} was not drawn to step {last}")
            time.sleep(0.02)
    finally:
        page.close()


def per_1000(size: int | None, steps: int) -> str:
    return "-" if size is None else f"{size / steps * 1000 / 1e6:.3f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--batch", type=int, default=500, help="steps in one flush (500: 0.5 s at 1,000 steps/s)")
    ap.add_argument("--repeats", type=int, default=3, help="Overview openings and API figures, median taken")
    ap.add_argument("--tensorboard-up-to", type=int, default=10_000, help="longest run to export to TensorBoard")
    ap.add_argument("--dir", help="keep the stores here (default: a temporary directory)")
    args = ap.parse_args()
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="rnnviz-long-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    rows = []
    for steps in args.steps:
        path = tmp / f"run-{steps}.sqlite"
        t0 = time.perf_counter()
        with Store(path) as store:
            warm = synthesise(store, 100, args.batch)  # opened first, so that imports and caches are not counted
            run_id = synthesise(store, steps, args.batch)
            tb = tensorboard_size(store, run_id, tmp / f"tb-{steps}") if steps <= args.tensorboard_up_to else None
        written = time.perf_counter() - t0
        size = file_size(path)
        api = api_figure_s(path, run_id, warm, args.repeats)
        with streamlit_server(path, data_root(tmp, MNIST)) as url, chromium() as browser:
            pid = server_pid(url)
            overview(browser, url, warm, 100)
            before = rss_mib(pid)
            times = [overview(browser, url, run_id, steps) for _ in range(args.repeats)]
            growth = rss_mib(pid) - before
        row = dict(steps=steps, written_s=written, size=size, tb=tb, api_s=api,
                   overview_s=statistics.median(times), first_s=times[0], growth_mib=growth)  # fmt: skip
        rows.append(row)
        print(f"{steps:>9,} steps: store {size / 1e6:8.1f} MB ({per_1000(size, steps)}/1,000 steps; TensorBoard "
              f"{per_1000(tb, steps)}), "
              f"written in {written:.0f} s; API overview figure {api * 1e3:.0f} ms; Overview drawn in "
              f"{row['overview_s']:.2f} s (first {times[0]:.2f} s); server +{growth:.0f} MiB", flush=True)  # fmt: skip
    base = rows[0]
    print(f"\nratios to the {base['steps']:,}-step run (load now {os.getloadavg()[0]:.2f}):")
    for r in rows:
        print(f"{r['steps']:>9,} steps: Overview {r['overview_s'] / base['overview_s']:.2f}x, "
              f"API figure {r['api_s'] / base['api_s']:.2f}x, store size {r['size'] / base['size']:.0f}x, "
              f"server growth {r['growth_mib']:+.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
