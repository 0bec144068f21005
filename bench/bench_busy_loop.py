"""Calibration for bench_load.py: what a plain busy loop taking as much CPU as the watchers costs training.

The two runs of the load bench train (blog-rnn and blog-lstm, one thread each, so both cores are busy)
while a separate process spins for 10 ms out of every 10/CORES ms: it asks for CORES of a core and,
the cores being busy, gets less; the report gives what it got ("other"). Each run's speed with the
loop is compared with its speed without it, in alternating windows (`--cycles` times), the way
bench_load.py compares watched and unwatched windows. Pick CORES so that the loop gets what
bench_load.py reports for Chromium plus the server: then the two ratios can be compared.

    python bench/bench_busy_loop.py [--cores 0.18] [--cycles 3] [--window 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_load import MNIST, alternating_ratio, rates, steps  # noqa: E402
from rnnviz import runner  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.store import Store  # noqa: E402

BUSY_LOOP = """
import sys, time
period = 0.010 / float(sys.argv[1])
while True:
    start = time.perf_counter()
    while time.perf_counter() - start < 0.010:
        pass
    time.sleep(period - 0.010)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=float, default=0.18, help="share of one core the busy loop asks for (< 1)")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--window", type=float, default=20.0, help="seconds of each speed measurement")
    args = ap.parse_args()
    if not 0 < args.cores < 1:
        ap.error("--cores must be between 0 and 1")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "busy.sqlite") as store:
        ids = [
            runner.start(preset(name, steps=10_000_000, threads=1, data_dir=str(MNIST)), store)
            for name in ("blog-rnn", "blog-lstm")
        ]
        try:
            while min(steps(store, ids).values()) < 50:
                time.sleep(0.5)
            alone, busy, cores = [rates(store, ids, args.window)], [], []
            for _ in range(args.cycles):
                loop = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(args.cores)])
                try:
                    time.sleep(1)
                    busy.append(rates(store, ids, args.window, cores))  # the loop counts as "other"
                finally:
                    loop.kill()
                    loop.wait()
                time.sleep(1)
                alone.append(rates(store, ids, args.window))
        finally:
            for i in ids:
                runner.stop(store, i)
    ratio = alternating_ratio(busy, alone)
    print(f"busy loop asking for {args.cores} of a core: training speed with it / without it: {ratio}")
    print(f"cores while it ran (the loop is 'other'): {cores}")
    report = {"busy_loop_cores": args.cores, "ratio_busy_vs_alone": ratio, "cores_while_busy": cores}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
