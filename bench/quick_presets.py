"""What a preset (or a candidate change of it) shows over several seeds: the numbers behind the quick presets.

Trains the preset once per seed, one run at a time, each in its own `python -m rnnviz train` process with
`--threads 1` (the figures a laptop user sees), then reads every run back through the Python API and prints
one row per seed: final test accuracy, the best accuracy during training (validation; test for runs
recorded before the validation split) and its step, the saturated fraction
(|h| > 0.99 at the last probe), the gradient ratio ||dL/dh_1|| / ||dL/dh_T|| at the last probe, the
training seconds, and the plain-language reading's verdict (collapsed? gradient vanished?), followed by
a summary line (k of n) and, with --findings, the full reading of each run.

    python bench/quick_presets.py quick-rnn quick-lstm [--seeds 0-4] [--set lr=0.02 --set steps=1500]
        [--data-dir DIR] [--store FILE] [--findings] [--json]

It takes the runs' own time plus about 2 s per run to start a process. With the presets as committed
(1,200 steps), a quick-rnn run is about 25 s on one free core (about 20 ms a step); on a 2-core machine
loaded ~5x over, the whole default command (both presets, seeds 0-4) took about 25 minutes: quick-rnn
77-135 s a run, quick-lstm 131-235 s a run. A run "collapses" when its final test accuracy is below 20%;
"vanished" is the reading's own test (ratio below rnnviz.findings.VANISHED, or underflowed to 0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz import findings  # noqa: E402
from rnnviz.findings import VANISHED, gradient_ratio  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist-10k"
COLLAPSED = 0.2  # final test accuracy below this: chance level (10 classes), the collapse


def seeds_arg(text: str) -> list[int]:
    """'0-4' or '0,2,5' -> a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def train_one(preset: str, seed: int, changes: list[str], data_dir: str, store: str) -> dict:
    """One `rnnviz train` process; its last stdout line is the result JSON."""
    flags = []
    for change in changes:
        key, _, value = change.partition("=")
        flags += [f"--{key.replace('_', '-')}", value]
    cmd = [sys.executable, "-m", "rnnviz", "train", "--preset", preset, "--seed", str(seed), "--threads", "1"]
    cmd += ["--data-dir", data_dir, "--store", store, *flags]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(preset: str, seed: int, changes: list[str], data_dir: str, store: str) -> dict:
    result = train_one(preset, seed, changes, data_dir, store)
    run = rnnviz.open_run(store, result["run_id"])
    steps, acc = run.scalar(findings.evaluated(run))  # the curve during training
    best = int(acc.argmax()) if len(acc) else None
    ratio = gradient_ratio(run.gradient_flow()[1])
    reading = run.findings()
    return {
        "preset": preset,
        "changes": " ".join(changes),
        "seed": seed,
        "T": run.cfg.seq_len,
        "steps": result["steps"],
        "test_accuracy": result["test_accuracy"],
        "best_accuracy": float(acc[best]) if best is not None else None,
        "best_step": int(steps[best]) if best is not None else None,
        "saturated_fraction": result["saturated_fraction"],
        "gradient_ratio": ratio,
        "collapsed": result["test_accuracy"] is not None and result["test_accuracy"] < COLLAPSED,
        "fell": "accuracy fell from" in reading,
        "vanished": ratio is not None and ratio < VANISHED,
        "seconds": result["seconds"],
        "findings": reading,
    }


def table(rows: list[dict]) -> str:
    head = "| preset | changes | seed | test acc | best (step) | saturated | grad ratio | reading | seconds |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = ", ".join(
            v for v, on in (("fell", r["fell"]), ("vanished", r["vanished"]), ("flows", not r["vanished"])) if on
        )
        ratio = "-" if r["gradient_ratio"] is None else f"{r['gradient_ratio']:.1e}"
        lines.append(
            f"| {r['preset']} | {r['changes'] or '-'} | {r['seed']} | {100 * r['test_accuracy']:.1f}% "
            f"| {100 * r['best_accuracy']:.1f}% ({r['best_step']}) | {100 * r['saturated_fraction']:.0f}% "
            f"| {ratio} | {verdict} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    n = len(rows)
    acc = [r["test_accuracy"] for r in rows]
    secs = [r["seconds"] for r in rows]
    collapsed, fell, vanished = (sum(r[k] for r in rows) for k in ("collapsed", "fell", "vanished"))
    return (
        f"{rows[0]['preset']} {rows[0]['changes']}: collapsed (< {COLLAPSED:.0%}) {collapsed} of {n},"
        f" accuracy fell >= 10 points {fell} of {n}, gradient vanished {vanished} of {n};"
        f" test accuracy mean {100 * sum(acc) / n:.1f}% (range {100 * min(acc):.1f}-{100 * max(acc):.1f}%);"
        f" seconds mean {sum(secs) / n:.0f} (max {max(secs):.0f})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("presets", nargs="+", help="preset names, e.g. quick-rnn quick-lstm")
    p.add_argument("--seeds", type=seeds_arg, default=seeds_arg("0-4"), help="e.g. 0-4 or 0,3 (default 0-4)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="change a preset field")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    p.add_argument("--store", default="", help="run store (default: a temporary file)")
    p.add_argument("--findings", action="store_true", help="print each run's full reading")
    p.add_argument("--json", action="store_true", help="also print every row as a JSON line")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or str(Path(tmp) / "runs.sqlite")
        for name in args.presets:
            rows = []
            for seed in args.seeds:
                rows.append(measure(name, seed, args.set, args.data_dir, store))
                print(f"  {name} seed {seed}: {rows[-1]['findings']}", file=sys.stderr, flush=True)
            print(table(rows))
            print(summary(rows))
            if args.findings:
                for r in rows:
                    print(f"  seed {r['seed']}: {r['findings']}")
            if args.json:
                for r in rows:
                    print(json.dumps(r))
            print(flush=True)


if __name__ == "__main__":
    main()
