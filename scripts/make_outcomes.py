"""Record tests/data/outcomes/: one run of every outcome, trained by rnnviz itself, subsampled to fit the repo.

The outcomes: a blog RNN that collapsed with ||dL/dh_1|| underflowed to exactly 0, one that collapsed without
underflow, one that did not collapse (and, where a seed gives it, one that did not collapse although its
gradient at t = 1 underflowed), the blog LSTM, the remedies' GRU, and an LSTM loop recorded through
`rnnviz.watch`. Which blog-rnn seed gives which outcome depends on the machine's floating point, so the script
trains the seeds given (one thread each, on MNIST's subset in ../shared/data/mnist-10k, `--jobs` at a time),
reads what each one did from its own record and picks the first seed of each outcome. Runs of the same settings
already finished in --work or a --reuse store are taken as they are. The fixture keeps every scalar of
evaluations, every STRIDE-th step of the others and PROBES probes a run, evenly spaced (with the first at
which the gradient at t = 1 underflowed), in one store, and outcomes.json says which run is which outcome.

    python scripts/make_outcomes.py [--seeds 0,2,3,4] [--work /tmp/outcomes] [--reuse STORE] [--jobs 2]

The committed fixture (1.45 MB): seeds 0 (10.7%, underflow from step 4,500), 3 (9.4%), 4 (32.5%) and 2 (31.8%,
underflow from step 200), blog-lstm 98.4%, remedies-gru 94.3%; one thread each on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz.config import UNNAMED, RunConfig, preset  # noqa: E402
from rnnviz.store import Status, Store  # noqa: E402
from rnnviz.store.levels import relevel  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mnist-10k"
OUT = ROOT / "tests" / "data" / "outcomes"
COLLAPSED = 0.2  # a run that ends below this test accuracy has collapsed (chance is 0.1)
PROBES = 14
STRIDE = 200
SPARSE = ("validation_", "test_", "epoch/")  # recorded now and then: every record kept


@dataclass(frozen=True)
class Job:
    """One run the fixtures may take: a preset, a seed and changes, as the CLI trains it."""

    preset: str
    seed: int
    changes: tuple[tuple[str, str], ...] = ()  # (field, value): text fields only, as the command line takes them

    @property
    def label(self) -> str:
        return dict(self.changes).get("name", self.preset) + f"-{self.seed}"

    def config(self) -> RunConfig:
        return preset(self.preset, seed=self.seed, **dict(self.changes))


def same_run(a: RunConfig, b: RunConfig) -> bool:
    """Whether two configs compute the same run (where the data lives and how many threads do not count)."""
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a) if f.name not in UNNAMED)


def recorded(job: Job, stores: list[Path]) -> tuple[Path, int] | None:
    """A finished run of the job's settings in one of the stores, as (store, run id)."""
    want = job.config()
    for path in stores:
        if not path.exists():
            continue
        with Store(path, readonly=True) as s:
            runs = s.runs()
            for run_id in runs[runs["status"] == Status.FINISHED]["run_id"]:
                if same_run(s.config(int(run_id)), want):
                    return path, int(run_id)
    return None


def train_all(jobs: list[Job], work: Path, reuse: list[Path], at_once: int) -> dict[Job, tuple[Path, int]]:
    """Each job's finished run: found in --work or a --reuse store, else trained into --work."""
    found = {j: r for j in jobs if (r := recorded(j, [work / f"{j.label}.sqlite", *reuse])) is not None}
    running: list[tuple[Job, list[str], subprocess.Popen]] = []

    def finish(job: Job, cmd: list[str], proc: subprocess.Popen) -> None:
        if proc.wait():
            raise SystemExit(f"training {job.label} failed: {' '.join(cmd)}")
        found[job] = (work / f"{job.label}.sqlite", 1)

    for job in (j for j in jobs if j not in found):
        while len(running) >= at_once:
            finish(*running.pop(0))
        path = work / f"{job.label}.sqlite"
        for f in work.glob(f"{job.label}.sqlite*"):
            f.unlink()
        flags = [a for k, v in job.changes for a in (f"--{k.replace('_', '-')}", v)]
        cmd = [sys.executable, "-m", "rnnviz", "train", "--preset", job.preset, "--seed", str(job.seed),
               *flags, "--threads", "1", "--data-dir", str(DATA), "--store", str(path)]  # fmt: skip
        print(f"training {job.label} into {path}", file=sys.stderr)
        running.append((job, cmd, subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)))
    for job, cmd, proc in running:
        finish(job, cmd, proc)
    return found


def watched(store: Path, steps: int = 600) -> None:
    """An LSTM loop of our own, recorded through rnnviz.watch (no total_steps: the case a user writes first)."""
    import torch
    from torch import nn

    import rnnviz
    from rnnviz import data as datamod

    if store.exists():
        store.unlink()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train_split, test_split = datamod.load_dir(DATA)
    x = datamod.to_float(datamod.sequences(train_split.images, 28))
    y = torch.from_numpy(train_split.labels.astype(np.int64))
    probe = (datamod.to_float(datamod.sequences(test_split.images[:100], 28)),
             torch.from_numpy(test_split.labels[:100].astype(np.int64)))  # fmt: skip
    rnn, head = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.01)
    g = torch.Generator().manual_seed(0)
    with rnnviz.watch(rnn, head, probe_batch=probe, store=store, name="my lstm", probe_every=25) as w:
        for _ in range(steps):
            i = torch.randint(0, len(x), (100,), generator=g)
            logits = head(rnn(x[i])[0][:, -1])
            loss = nn.functional.cross_entropy(logits, y[i])
            opt.zero_grad()
            loss.backward()
            w.step(loss, accuracy=float((logits.argmax(1) == y[i]).float().mean()))
            opt.step()


def describe(store: Path, run_id: int) -> dict:
    """What a run did: its test accuracy, whether it collapsed, whether ||dL/dh_1|| underflowed to 0."""
    with Store(store, readonly=True) as s:
        row, cfg = s.run(run_id), s.config(run_id)
        steps, grads = s.grad_flow(run_id)
    zero = np.flatnonzero(grads[:, 0] == 0)
    acc = row["test_accuracy"]
    with np.errstate(divide="ignore"):
        decades = float(np.log10(grads[-1, -1] / grads[-1, 0]))
    return dict(
        run_id=run_id,
        name=row["name"],
        cell=cfg.cell,
        seed=cfg.seed,
        steps=int(row["step"]),
        test_accuracy=acc,
        collapsed=acc is not None and acc < COLLAPSED,
        underflow=len(zero) > 0,
        first_underflow_step=int(steps[zero[0]]) if len(zero) else None,
        final_decades_t1_below_tT=decades if np.isfinite(decades) else None,
    )


def keep_probes(steps: np.ndarray, always: list[int]) -> list[int]:
    pick = np.unique(np.linspace(0, len(steps) - 1, PROBES).round().astype(int))
    return sorted({*(int(steps[i]) for i in pick), *always})


def copy_run(dest: Store, src_path: Path, src_id: int, always: list[int]) -> int:
    """One run of another store into `dest`, subsampled; returns its new id."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
    cols = [r[1] for r in src.execute("PRAGMA table_info(runs)")][1:]  # all but id
    row = src.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = ?", (src_id,)).fetchone()
    probe_steps = [r[0] for r in src.execute("SELECT DISTINCT step FROM arrays WHERE run_id = ? ORDER BY step",
                                             (src_id,))]  # fmt: skip
    kept = keep_probes(np.array(probe_steps), always)
    names = dict(src.execute("SELECT id, name FROM scalar_names"))
    scalars = src.execute("SELECT name_id, step, value FROM scalars WHERE run_id = ?", (src_id,)).fetchall()
    last = max(s for _, s, _ in scalars)
    scalars = [(names[n], s, v) for n, s, v in scalars
               if names[n].startswith(SPARSE) or s % STRIDE == 0 or s in (1, last) or s in kept]  # fmt: skip
    arrays = src.execute(f"SELECT step, name, shape, data FROM arrays WHERE run_id = ? AND step IN "
                         f"({','.join('?' * len(kept))})", (src_id, *kept)).fetchall()  # fmt: skip
    edges = src.execute("SELECT name, edges FROM hist_edges WHERE run_id = ?", (src_id,)).fetchall()
    src.close()
    with dest.transaction() as c:
        cur = c.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})", row)
        run_id = int(cur.lastrowid or 0)
        c.execute("UPDATE runs SET host = NULL, pid = NULL, pid_start = NULL, sweep_id = NULL WHERE id = ?",
                  (run_id,))  # fmt: skip
        ids = dest._name_ids(c, {n for n, _, _ in scalars})
        c.executemany("INSERT INTO scalars VALUES (?, ?, ?, ?)", [(run_id, ids[n], s, v) for n, s, v in scalars])
        relevel(c, run_id, ids.values(), 0, last)
        c.executemany("INSERT INTO arrays VALUES (?, ?, ?, ?, ?)", [(run_id, *a) for a in arrays])
        c.executemany("INSERT INTO hist_edges VALUES (?, ?, ?)", [(run_id, *e) for e in edges])
    dest.names.update(dest._pending)
    return run_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,2,3,4", help="blog-rnn seeds to choose from")
    ap.add_argument("--work", default="/tmp/outcomes", help="where runs are trained and kept")
    ap.add_argument("--reuse", action="append", default=[], help="a store whose finished runs of the same "
                    "settings are taken rather than trained again (repeatable)")  # fmt: skip
    ap.add_argument("--jobs", type=int, default=2, help="runs trained at once")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    rnn_jobs = [Job("blog-rnn", s) for s in seeds]
    lstm, gru = Job("blog-lstm", 0), Job("blog-rnn", 0, (("cell", "gru"), ("name", "remedies-gru")))
    runs = train_all([*rnn_jobs, lstm, gru], work, [Path(p) for p in args.reuse], args.jobs)
    if not (work / "watched.sqlite").exists():
        watched(work / "watched.sqlite")

    rnns = {j.seed: (runs[j], describe(*runs[j])) for j in rnn_jobs}
    for s, (_, d) in rnns.items():
        print(f"blog-rnn seed {s}: test {d['test_accuracy']:.3f}, collapsed {d['collapsed']}, "
              f"underflow {d['underflow']} (first at {d['first_underflow_step']})", file=sys.stderr)  # fmt: skip
    wanted = {  # outcome: (what it is, whether the fixtures must have it)
        "rnn-collapsed-underflow": (lambda d: d["collapsed"] and d["underflow"], True),
        "rnn-collapsed": (lambda d: d["collapsed"] and not d["underflow"], True),
        "rnn-learned": (lambda d: not d["collapsed"] and not d["underflow"], True),
        "rnn-learned-underflow": (lambda d: not d["collapsed"] and d["underflow"], False),
    }
    chosen: list[tuple[str, tuple[Path, int]]] = []
    for outcome, (test, needed) in wanted.items():
        seed = next((s for s, (_, d) in rnns.items() if test(d)), None)
        if seed is None and needed:
            raise SystemExit(f"no seed of {seeds} gave the outcome {outcome}: add seeds with --seeds")
        if seed is not None:
            chosen.append((outcome, rnns[seed][0]))
    chosen += [("lstm", runs[lstm]), ("gru", runs[gru]), ("watched", (work / "watched.sqlite", 1))]

    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "outcomes.sqlite"
    for f in OUT.glob("outcomes.sqlite*"):
        f.unlink()
    manifest = []
    with Store(target) as dest:
        for outcome, (path, run_id) in chosen:
            d = describe(path, run_id)
            always = [d["first_underflow_step"]] if d["first_underflow_step"] is not None else []
            new_id = copy_run(dest, path, run_id, always)
            manifest.append(dict(outcome=outcome, **{**d, "run_id": new_id}))
        dest.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con = sqlite3.connect(target)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA page_size=8192")  # a probe's arrays of ~1 KB overflowed 4 KB pages: a page each
    con.execute("VACUUM")
    con.close()
    (OUT / "outcomes.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{target}: {target.stat().st_size / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
