"""The lean training path: a step never reads the device beyond what the plain loop does, clipping matches
torch's, and the probe's fast spectral norm is the SVD's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from rnnviz import data as datamod
from rnnviz import stepstats
from rnnviz.interop import watch
from rnnviz.jacobians import spectral_norms, state_jacobians
from rnnviz.models import SeqClassifier, build_model, loss_fn
from rnnviz.stepstats import Pace, StepRows, clip_, grad_norms, step_row
from rnnviz.store import Store, buffer
from rnnviz.trainer import prepare, train, train_step

from .conftest import quick_config

# every way a tensor's value reaches the host: on a GPU each one waits for the device to finish
SYNCS = {"item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__", "__array__"}


class Reads(TorchFunctionMode):
    """Counts the calls that read a tensor's value on the host."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in SYNCS:
            self.calls.append(name)
        return func(*args, **(kwargs or {}))


def plain_reads(cfg, steps: int) -> list[str]:
    """What a plain fused loop's steps read on the host (Adam's own step counters), for the same config."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x, y = torch.rand(cfg.batch_size, 28, 28), torch.randint(0, 10, (cfg.batch_size,))
    with Reads() as reads:
        for _ in range(steps):
            logits, _ = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return reads.calls


@pytest.mark.parametrize("clip", [0.0, 0.5])
def test_a_training_step_reads_nothing_on_the_host_that_the_plain_loop_does_not(clip, tmp_path):
    cfg = quick_config(clip=clip)
    with Store(tmp_path / "s.sqlite") as store:
        p = prepare(cfg, store, store.create_run(cfg), resume=False, progress=False)
        rows = StepRows()
        train_step(cfg, p, rows, 1)  # the optimiser's state is made on its first step
        with Reads() as reads:
            for step in range(2, 12):
                train_step(cfg, p, rows, step)
    assert len(reads.calls) == len(plain_reads(cfg, 11)) - len(plain_reads(cfg, 1))
    held = rows.drain()  # and every step's statistics are there, read at once
    assert [s for s, _ in held] == list(range(1, 12)) and all(np.isfinite(v["loss"]) for _, v in held)


def test_a_whole_run_reads_the_host_per_commit_and_probe_not_per_step(tmp_path, monkeypatch):
    """Twice the steps between the first probe and the end add only what the plain loop's steps read."""
    monkeypatch.setattr(buffer, "FLUSH_S", 1e9)  # one commit, at the end
    counts = []
    for steps in (10, 30):
        cfg = quick_config(steps=steps, probe_every=1000, eval_every=1000, checkpoint_every=1000)
        with Store(tmp_path / f"{steps}.sqlite") as store, Reads() as reads:
            result = train(cfg, store)
        assert result.status == "finished", result.error
        counts.append(len(reads.calls))
        with Store(tmp_path / f"{steps}.sqlite") as store:
            assert store.scalars(result.run_id, ["loss"])["step"].tolist() == list(range(1, steps + 1))
    cfg = quick_config()
    assert counts[1] - counts[0] == len(plain_reads(cfg, 30)) - len(plain_reads(cfg, 10))


def test_watch_reads_nothing_on_the_host_between_commits(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer, "FLUSH_S", 1e9)  # one commit, at the end
    torch.manual_seed(0)
    rnn, head = torch.nn.GRU(28, 16, batch_first=True), torch.nn.Linear(16, 10)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-3)
    x, y = torch.rand(8, 28, 28), torch.randint(0, 10, (8,))
    with watch(rnn, head, (x, y), store=tmp_path / "w.sqlite", probe_every=1000) as w:
        for step in range(1, 13):
            loss = loss_fn(head(rnn(x)[0][:, -1]), y)
            opt.zero_grad()
            loss.backward()
            if step == 1:
                w.step(loss, accuracy=0.5)  # the first step probes
                continue
            with Reads() as reads:
                w.step(loss, accuracy=0.5, grad_scale=torch.tensor(2.0))
            assert reads.calls == [], reads.calls
            opt.step()
    with Store(tmp_path / "w.sqlite") as store:
        s = store.scalars(w.run_id, ["loss", "accuracy", "grad_scale", "grad_norm/global"])
    assert sorted(set(s["step"])) == list(range(1, 13))
    assert (s[s["name"] == "grad_scale"]["value"] == 2.0).all() and len(s[s["name"] == "grad_scale"]) == 11


def test_watch_records_each_steps_loss_and_gradient_norms_as_torch_computes_them(tmp_path):
    torch.manual_seed(0)
    rnn, head = torch.nn.LSTM(28, 16, num_layers=2, batch_first=True), torch.nn.Linear(16, 10)
    head.bias.requires_grad_(False)  # frozen: no gradient, so no norm recorded
    opt = torch.optim.Adam([q for q in [*rnn.parameters(), *head.parameters()] if q.requires_grad], lr=0.01)
    x, y = torch.rand(8, 28, 28), torch.randint(0, 10, (8,))
    want: dict[tuple[int, str], float] = {}
    with watch(rnn, head, (x, y), store=tmp_path / "w.sqlite", probe_every=1000) as w:
        for step in range(1, 6):
            loss = loss_fn(head(rnn(x)[0][:, -1]), y)
            opt.zero_grad()
            loss.backward()
            grads = {f"rnn.{n}": q.grad for n, q in rnn.named_parameters()} | {"head.weight": head.weight.grad}
            norms = {f"grad_norm/{n}": torch.linalg.vector_norm(g.double()).item() for n, g in grads.items()}
            norms["grad_norm/global"] = float(np.sqrt(sum(v * v for v in norms.values())))
            want |= {(step, k): v for k, v in {"loss": loss.item(), "scale": 2.5, "lr": 0.01, **norms}.items()}
            w.step(loss, scale=torch.tensor(2.5, dtype=torch.float64), lr=0.01)
            opt.step()
    with Store(tmp_path / "w.sqlite") as store:
        s = store.scalars(w.run_id, sorted({k for _, k in want}))
    got = {(int(r.step), r.name): r.value for r in s.itertuples()}
    assert got.keys() == want.keys()  # the frozen bias has no norm; every step has every other name
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5)


class CountedBuffer:
    """A run's writer whose commits cost 1.95 ms of the fake CPU clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.commits, self.wall_due, self.stop_requested, self.last_flush = clock, [], True, False, 0.0

    def due(self) -> bool:
        return self.wall_due

    def flush(self, step: int) -> bool:
        if self.wall_due:
            self.clock[0] += 0.00195
            self.last_flush += 1
            self.commits.append(step)
        return self.stop_requested


def test_commits_wait_for_the_wall_clock_and_keep_to_a_hundredth_of_the_processs_cpu(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(stepstats.time, "process_time", lambda: clock[0])
    rec = CountedBuffer(clock)
    pace = Pace(rec)  # type: ignore[arg-type]
    for step in range(1, 101):  # steps of 10 ms of CPU, on a machine so loaded that FLUSH_S is always past
        clock[0] += 0.010
        assert not pace.flush(step, pace.due())
    assert rec.commits == [1, 21, 41, 61, 81]  # 1.95 ms a commit, so 195 ms of CPU between them: 1%
    rec.wall_due, rec.stop_requested = False, True
    clock[0] += 1.0
    assert not pace.due() and pace.flush(101, pace.due()) and rec.commits[-1] == 81  # a stop is seen without one


def test_clipping_on_the_device_is_torchs_clip_grad_norm():
    torch.manual_seed(0)
    a, b = SeqClassifier("lstm", 5, 8), SeqClassifier("lstm", 5, 8)
    b.load_state_dict(a.state_dict())
    x, y = torch.rand(4, 6, 5), torch.randint(0, 10, (4,))
    for m in (a, b):
        loss_fn(m(x)[0], y).backward()
    total = torch.nn.utils.clip_grad_norm_(a.parameters(), 0.01)
    grads = [q.grad for q in b.parameters()]
    clipped = clip_(grads, grad_norms(grads)[-1], 0.01)
    assert clipped.item() and total.item() > 0.01
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0)
    assert not clip_(grads, grad_norms(grads)[-1], 10.0).item()  # under the threshold: left as they are
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0)


@pytest.mark.parametrize("clip", [0.0, 0.01, 10.0])
def test_a_steps_row_is_torchs_norms_clipping_and_the_saturation_counted_by_hand(clip):
    torch.manual_seed(0)
    a, b = SeqClassifier("lstm", 5, 8), SeqClassifier("lstm", 5, 8)
    b.load_state_dict(a.state_dict())
    x, y = torch.rand(4, 6, 5) * 20, torch.randint(0, 10, (4,))
    logits, hs = b(x)
    loss = loss_fn(logits, y)
    loss.backward()
    loss_fn(a(x)[0], y).backward()
    want_norms = [torch.linalg.vector_norm(q.grad) for q in a.parameters()]
    total = (
        torch.nn.utils.clip_grad_norm_(a.parameters(), clip)
        if clip
        else torch.linalg.vector_norm(torch.stack(want_norms))
    )
    absh = hs.detach().abs()
    want_sat = [int((absh > 0.2).sum()), int((absh[:, -1] > 0.2).sum())]
    assert 0 < want_sat[1] < want_sat[0] < hs.numel()  # the counts are tested on a mix
    correct = (logits.argmax(1) == y).sum()
    row = step_row([loss.detach(), correct], hs, 0.2, [q.grad for q in b.parameters()], clip)
    assert row.dtype == torch.float32 and row.shape == (2 + 3 + len(want_norms) + 1,)
    assert row[:2].tolist() == [loss.item(), correct.item()]
    assert row[2].item() == (0 < clip < total.item()) and row[3:5].tolist() == want_sat
    torch.testing.assert_close(row[5:-1], torch.stack(want_norms), rtol=1e-6, atol=0)  # norms before clipping
    torch.testing.assert_close(row[-1], total, rtol=1e-6, atol=0)
    for p, q in zip(a.parameters(), b.parameters()):  # clipped as torch clips, or left as they were
        torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=0)


def probe_size_jacobians(cell: str, steps: int) -> torch.Tensor:
    """The chain dh_T/dh_t (t < T) of one probe digit of a hidden-128 model after `steps` Adam steps on MNIST
    rows at the blog's rate: (T - 1, D, D), D = 128 (256 for the LSTM)."""
    torch.manual_seed(0)
    cfg = quick_config(cell=cell, hidden_size=128)
    model = build_model(cfg)
    train_split, _ = datamod.load("mnist", cfg.data_dir, progress=False)
    x = datamod.to_float(datamod.sequences(train_split.images[:64], 28))
    y = torch.from_numpy(train_split.labels[:64].astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x)[0], y).backward()
        opt.step()
    with torch.no_grad():
        return state_jacobians(model, model.unrolled(x[:1]), 1)[0, :-1]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("steps", [0, 40])
def test_the_fast_spectral_norm_of_the_probes_jacobians_is_the_svds(cell, steps):
    J = probe_size_jacobians(cell, steps)
    exact = torch.linalg.matrix_norm(J.double(), ord=2)
    fast = spectral_norms(J).double()
    np.testing.assert_allclose(fast, exact, rtol=1e-3)  # the bound
    assert torch.all(fast <= exact * (1 + 1e-5)) and torch.all(fast >= exact * (1 - 5e-5 - 1e-5))  # as proved


def hard_matrices() -> torch.Tensor:
    """Spectra that make subspace iteration slow or the bound useless: flat, a near tie at the top, tiny and
    huge scales, rank one, zero, and random."""
    g = torch.Generator().manual_seed(1)
    n = 64
    Q1, Q2 = (torch.linalg.qr(torch.randn(n, n, generator=g)).Q for _ in range(2))
    spectra = [
        torch.ones(n),  # an orthogonal matrix
        torch.cat([torch.tensor([1.0, 0.99999, 0.9999]), torch.rand(n - 3, generator=g) * 0.9]),
        torch.linspace(1, 0.5, n),
        torch.logspace(0, -6, n),
    ]
    out = [Q1 @ torch.diag(s) @ Q2 for s in spectra]
    out += [out[3] * 1e-30, out[2] * 1e30, torch.outer(torch.randn(n, generator=g), torch.randn(n, generator=g))]
    out += [torch.zeros(n, n), torch.randn(n, n, generator=g)]
    return torch.stack(out)


@pytest.mark.parametrize("rounds", [(4,), (0,), (1, 2)])
def test_the_fast_spectral_norm_is_proved_on_hard_spectra_by_every_path(rounds):
    """rounds (0,): Ritz values of the start block alone, so the Cholesky and SVD fallbacks do the proving."""
    M = hard_matrices()
    exact = torch.linalg.matrix_norm(M.double(), ord=2)
    fast = spectral_norms(M, rounds=rounds).double()
    np.testing.assert_allclose(fast, exact, rtol=1e-4, atol=0)
    assert fast[-2] == 0
