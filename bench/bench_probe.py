"""The probe's own cost: ms per probe without the Jacobians (jacobian_examples 0) and with them, and what each
Jacobian example adds, for the RNN, LSTM and GRU at the blog's settings (hidden 128, row-MNIST, probe batch 100).

Prints one line per cell and the load average it was measured under, then one JSON line. Medians of
interleaved repeats.

    python bench/bench_probe.py [--repeats 5] [--examples 1 2 4] [--threads 1] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import data as datamod  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.models import build_model  # noqa: E402
from rnnviz.probes import probe  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


def probe_ms(model, x, y, examples: int) -> float:
    t0 = time.perf_counter()
    probe(model, x, y, 0.99, 200, examples)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--examples", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as the trainer does
    _, test = datamod.load("mnist", args.data_dir, progress=False)
    x = datamod.to_float(datamod.sequences(test.images[:100], 28))  # (100, 28, 28)
    y = torch.from_numpy(test.labels[:100].astype(np.int64))
    counts = [0, *args.examples]
    report = {}
    # the blog pair, and the remedies' GRU (blog-rnn with a GRU cell)
    for cfg in (preset("blog-rnn"), preset("blog-lstm"), preset("blog-rnn", cell="gru")):
        torch.manual_seed(0)
        model = build_model(cfg)
        for e in counts:  # warm-up
            probe_ms(model, x, y, e)
        times: dict[int, list[float]] = {e: [] for e in counts}
        for _ in range(args.repeats):
            for e in counts:
                times[e].append(probe_ms(model, x, y, e))
        med = {e: statistics.median(v) for e, v in times.items()}
        per_example = float(np.polyfit(counts, [med[e] for e in counts], 1)[0])  # slope of ms against examples
        report[cfg.cell] = {
            "probe_ms": {str(e): round(med[e], 1) for e in counts},
            "ms_per_jacobian_example": round(per_example, 1),
        }
        shown = ", ".join(f"{e} examples {med[e]:.1f} ms" for e in counts)
        print(f"{cfg.cell:5s} probe: {shown}; {per_example:.1f} ms per Jacobian example", flush=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores, {args.threads} thread(s)")
    print(json.dumps({"threads": args.threads, "load_average": [round(v, 2) for v in load], **report}))


if __name__ == "__main__":
    main()
