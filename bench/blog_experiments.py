"""Every experiment of the blog posts over seeds, set beside the figures the posts printed.

Trains each preset as one sweep over seeds on Ray (`rnnviz.cluster.run_sweep`, the machinery of
`rnnviz sweep`), one CPU a run, so at most as many runs train at once as the machine has cores; then reads
the runs back and prints the results table as Markdown: for each experiment the published figure beside
rnnviz's mean and range (min-max) over the seeds. With --from-store it trains nothing and reads the newest
finished sweep of each preset in the store again.

    python bench/blog_experiments.py [--seeds 5] [--data-dir DIR] [--store FILE] [--only blog-rnn,...]
        [--from-store] [--json FILE] [--figure FILE.png]

--figure draws the collapse pair's batch accuracy over the seeds (mean and interquartile band) with the
post's printed points on it (`rnnviz.views.beside_published`) and saves it as a PNG through Chromium.

The published figures are in rnnviz/published.py. What the table reports, per experiment:
- blog-rnn / blog-lstm (the collapse post): final test accuracy, how many seeds collapsed below 20%, the
  saturated fraction of h at the end, and the batch accuracy at the steps the post printed;
- tutorial-lstm: the minibatch loss at the samples the notebook printed, the test accuracy on the first 128
  and 256 test digits and on the whole split;
- sgd-lstm (plain gradient descent): the validation accuracy after epochs 1, 10, 25 and the last, and the
  final test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz import cluster, sweeps, words  # noqa: E402
from rnnviz.api import Run  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.published import PUBLISHED  # noqa: E402
from rnnviz.store import Status, Store  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist-10k"
EXPERIMENTS = ("blog-rnn", "blog-lstm", "tutorial-lstm", "sgd-lstm")
DECADES_BELOW = 1e-2  # a gradient at t = 1 this far below t = T (2 decades) is a clearly different colour
BLOG_STEPS = (101, 301, 401, 2001, 3001, 4001)  # the post's steps 100, 300, 400, 2,000, 3,000, 4,000
TUTORIAL_SAMPLES = (1280, 10240, 20480)
EPOCHS_SHOWN = (1, 10, 25)


def spread(values: list[float], pct: bool = True) -> str:
    """'mean (min-max)' of values over seeds."""
    if not values:
        return "-"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.2f}")
    return f"{f(float(np.mean(values)))} ({f(min(values))}-{f(max(values))})"


def at(run: Run, name: str, step: int) -> float | None:
    """A scalar's value at one step (read exactly: `run.scalar` is the chart's, in buckets for a long run)."""
    value = run.scalars(name, steps=(step, step)).get(name)
    return float(value.iloc[0]) if value is not None and len(value) else None


def collect(runs: list[Run], name: str, step: int) -> list[float]:
    return [v for v in (at(r, name, step) for r in runs) if v is not None]


def final(runs: list[Run], name: str) -> list[float]:
    """A scalar's value at each run's last step."""
    out = []
    for r in runs:
        _, values = r.scalar(name)
        if len(values):
            out.append(float(values[-1]))
    return out


def ratios(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """Probe steps and ||dL/dh_1|| / ||dL/dh_T|| at each (0 where it underflowed), the ratio the charts draw."""
    steps, flow = run.series("grad_h")
    return steps, flow[:, 0] / np.maximum(flow[:, -1], 1e-45)


def decades(values: list[float]) -> str:
    """Ratios over seeds: their median and range, in the dashboard's words (rnnviz.words.ratio)."""
    return f"median {words.ratio(float(np.median(values)))} ({words.ratio(min(values))} to {words.ratio(max(values))})"


def gradient_rows(runs: list[Run]) -> list[tuple[str, str, str]]:
    """What every seed shows of the gradient reaching t = 1: at the end, and over training from step 1,000."""
    n = len(runs)
    end = [float(ratios(r)[1][-1]) for r in runs]
    late = [float(np.mean(v[s >= 1000] <= DECADES_BELOW)) for s, v in (ratios(r) for r in runs)]
    under = sum(v == 0 for v in end)
    return [
        (
            "\\|\\|dL/dh_1\\|\\| / \\|\\|dL/dh_T\\|\\| at the end (the gradient reaching t = 1)",
            "not printed",
            f"{decades(end)}; 2 or more decades below t = T in {sum(v <= DECADES_BELOW for v in end)} of {n} seeds; "
            f"underflowed to 0 in {under} of {n}",
        ),
        ("probes from step 1,000 on with t = 1 2 or more decades below t = T", "not printed", spread(late)),
    ]


def rows_for(name: str, runs: list[Run]) -> list[tuple[str, str, str]]:
    """(what, published, rnnviz) rows of one experiment."""
    n = len(runs)
    pub = PUBLISHED.get(name)
    test = [float(r.row["test_accuracy"]) for r in runs]
    rows: list[tuple[str, str, str]] = []
    if name in ("blog-rnn", "blog-lstm"):
        low = sum(a < sweeps.COLLAPSED for a in test)
        assert pub is not None
        rows.append(
            (
                "final test accuracy",
                f"{100 * pub.final['test_accuracy']:.2f}%",
                f"{spread(test)}; below 20% in {low} of {n} seeds",
            )
        )
        sat = [float(r.row["saturated_fraction"]) for r in runs]
        rows.append(("saturated h (\\|h\\| > 0.99) at the end", "h printed at +-0.9999" if name == "blog-rnn" else "-",
                     spread(sat)))  # fmt: skip
        rows += gradient_rows(runs)
        if name == "blog-lstm":
            path = [v for r in runs if len(v := r.scalar("forget_path_t1")[1])]
            rows.append(("mean product of f from t = 2 to 28 at the end (the cell-state path)", "not printed",
                         decades([float(v[-1]) for v in path])))  # fmt: skip
        for step in BLOG_STEPS:
            rows.append(
                (
                    f"batch accuracy, step {step - 1:,}",
                    f"{pub.points['accuracy'][step]:.2f}",
                    spread(collect(runs, "accuracy", step), pct=False),
                )
            )
    elif name == "tutorial-lstm":
        assert pub is not None
        for samples in TUTORIAL_SAMPLES:
            step = samples // 128
            rows.append(
                (
                    f"minibatch loss at {samples:,} samples",
                    f"{pub.points['loss'][step]:.2f}",
                    spread(collect(runs, "loss", step), pct=False),
                )
            )
        late = [s for s in pub.points["loss"] if s >= 150]
        published_late = [pub.points["loss"][s] for s in late]
        ours = [float(np.mean([v for s in late if (v := at(r, "loss", s)) is not None])) for r in runs]
        rows.append(
            (
                "minibatch loss, mean of 19,200-24,320 samples",
                f"{np.mean(published_late):.2f} ({min(published_late):.2f}-{max(published_late):.2f})",
                spread(ours, pct=False),
            )
        )
        for k in (128, 256):
            rows.append((f"test accuracy, first {k} digits", "not printed", spread(final(runs, f"test_accuracy_{k}"))))
        rows.append(("test accuracy, whole split", "not printed", spread(test)))
    elif name == "sgd-lstm":
        curves = [r.scalars("epoch/validation_accuracy").get("epoch/validation_accuracy") for r in runs]
        curves = [c.dropna().to_numpy() if c is not None else np.zeros(0) for c in curves]
        epochs = min(len(c) for c in curves)
        for e in (*[e for e in EPOCHS_SHOWN if e < epochs], epochs):
            vals = [float(c[e - 1]) for c in curves]
            rows.append((f"validation accuracy after epoch {e}", "not printed", spread(vals)))
        rows.append(("test accuracy at the end", "not printed", spread(test)))
    secs = [float(r.row["seconds"]) for r in runs]
    rows.append(("seconds a run (here)", "-", f"{np.mean(secs):.0f} ({min(secs):.0f}-{max(secs):.0f})"))
    return rows


def table(results: dict[str, list[Run]], data: str) -> str:
    lines = [
        f"Data: {data}; every rnnviz figure is the mean (min-max) over the seeds of the sweep.",
        "",
        "| experiment | figure | published | rnnviz |",
        "| --- | --- | --- | --- |",
    ]
    for name, runs in results.items():
        for what, pub, ours in rows_for(name, runs):
            lines.append(f"| {name} ({len(runs)} seeds) | {what} | {pub} | {ours} |")
    return "\n".join(lines)


def newest_set(store: Store, name: str) -> int | None:
    """The newest finished sweep in the store whose base is the preset `name`, unchanged but for its data."""
    wanted = sweeps.group_key(preset(name))
    for row in store.sweeps().to_dict("records"):
        spec = sweeps.SweepSpec.from_json(row["spec"])
        if row["status"] == Status.FINISHED and not spec.grid and sweeps.group_key(spec.base) == wanted:
            return int(row["sweep_id"])
    return None


def set_runs(store: Store, sweep_id: int) -> list[Run]:
    runs = store.runs()
    ids = sorted(int(i) for i in runs.loc[runs["sweep_id"] == sweep_id, "run_id"])
    return [Run(store, i) for i in ids]


def save_figure(runs: list[Run], path: Path) -> None:
    """The pair's batch accuracy over seeds beside the post's points, as a PNG drawn by Chromium."""
    from rnnviz import views
    from tests.browser import chromium

    fig = views.beside_published(runs, "accuracy", key="blog-published")
    fig.update_layout(
        width=1100, height=520, title="Batch accuracy of the collapse pair over seeds, and the post's log"
    )
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "figure.html"
        fig.write_html(page_file, include_plotlyjs=True, full_html=True, config={"displayModeBar": False})
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1120, "height": 540})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".main-svg")
            page.locator(".plotly-graph-div").screenshot(path=str(path))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    p.add_argument("--store", default="/tmp/blog-experiments.sqlite")
    p.add_argument("--only", default=",".join(EXPERIMENTS), help="presets, comma-separated")
    p.add_argument("--from-store", action="store_true", help="train nothing: read the newest sweeps again")
    p.add_argument("--json", default="", help="also write the table's rows and timings to this file")
    p.add_argument("--figure", default="", help="also save the pair beside the post's points as this PNG")
    args = p.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    timings: dict[str, Any] = {}
    results: dict[str, list[Run]] = {}
    with Store(args.store) as store:
        for name in names:
            sweep_id = newest_set(store, name) if args.from_store else None
            if sweep_id is None:
                if args.from_store:
                    raise SystemExit(f"{args.store}: no finished sweep of {name}")
                spec = sweeps.SweepSpec(preset(name, data_dir=args.data_dir), {}, args.seeds)
                t0 = time.monotonic()
                load0 = os.getloadavg()[0]
                sweep_id = cluster.run_sweep(spec, store, name=f"{name} over {args.seeds} seeds",
                                           report=cluster.progress_to_stderr)  # fmt: skip
                timings[name] = {"wall_s": round(time.monotonic() - t0, 1), "load_at_start": load0,
                                 "load_at_end": os.getloadavg()[0]}  # fmt: skip
                print(f"{name}: {timings[name]}", file=sys.stderr, flush=True)
            results[name] = set_runs(store, sweep_id)
        text = table(results, f"{args.data_dir} (train split less its validation split; the whole test split)")
        print(text)
        if args.json:
            rows = {name: rows_for(name, runs) for name, runs in results.items()}
            Path(args.json).write_text(json.dumps({"rows": rows, "timings": timings}, indent=1))
        if args.figure:
            save_figure([r for name in ("blog-rnn", "blog-lstm") for r in results.get(name, [])], Path(args.figure))


if __name__ == "__main__":
    main()
