"""`watch` on stacked, bidirectional, sequence-output and custom-cell models, against independent computations: the
unrolled pass reproduces the user's module (outputs and parameter gradients), and the recorded ||dL/dh_t|| of every
layer and direction equals autograd on a hand-written unrolled reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnviz
from rnnviz.unroll import unroll_cell, unroll_module

B, T, I, H, C = 5, 7, 4, 6, 3


def reference(m: nn.RNN | nn.LSTM | nn.GRU, x: torch.Tensor) -> tuple[torch.Tensor, dict[tuple[int, str], list]]:
    """The module's function written out from its equations, independently of rnnviz: the top layer's output
    (B, T, D*H) and every (layer, direction)'s h_1..h_T on its own time axis (graph nodes)."""
    hs_of: dict[tuple[int, str], list] = {}
    inp = x
    for layer in range(m.num_layers):
        outs = []
        for direction in ("forward", "backward") if m.bidirectional else ("forward",):
            sfx = f"_l{layer}" + ("_reverse" if direction == "backward" else "")
            w_ih, w_hh = getattr(m, "weight_ih" + sfx), getattr(m, "weight_hh" + sfx)
            b_ih = getattr(m, "bias_ih" + sfx) if m.bias else 0
            b_hh = getattr(m, "bias_hh" + sfx) if m.bias else 0
            h = c = x.new_zeros(len(x), m.hidden_size)
            hs = []
            order = range(T) if direction == "forward" else range(T - 1, -1, -1)
            for t in order:
                gi, gh = inp[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
                if isinstance(m, nn.LSTM):
                    i, f, g, o = (gi + gh).chunk(4, 1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                elif isinstance(m, nn.GRU):
                    (ir, iz, inn), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
                    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                    h = (1 - z) * torch.tanh(inn + r * hn) + z * h
                else:
                    h = torch.tanh(gi + gh) if m.nonlinearity == "tanh" else torch.relu(gi + gh)
                hs.append(h)
            hs_of[(layer, direction)] = hs
            seq = torch.stack(hs, 1)
            outs.append(seq if direction == "forward" else seq.flip(1))
        inp = torch.cat(outs, 2)
    return inp, hs_of


def per_t(grads: list[torch.Tensor]) -> np.ndarray:
    """Mean over the batch of ||g_t||, x B (what the probe records), for t = 1..T."""
    return (torch.stack(grads, 1).norm(dim=2).mean(0) * B).numpy()


@pytest.mark.parametrize(
    "module",
    [
        nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True),
        nn.GRU(I, H, num_layers=3, batch_first=True),
        nn.RNN(I, H, num_layers=2, bidirectional=True, nonlinearity="relu", batch_first=True),
        nn.LSTM(I, H, num_layers=2, bidirectional=True, bias=False, batch_first=True),
    ],
    ids=["lstm-2-bi", "gru-3", "rnn-relu-2-bi", "lstm-no-bias"],
)
def test_the_unrolled_pass_reproduces_the_modules_outputs_and_gradients(module):
    torch.manual_seed(0)
    m = module.double()
    x = torch.randn(B, T, I, dtype=torch.double)
    w = torch.randn(B, T, m.hidden_size * (2 if m.bidirectional else 1), dtype=torch.double)
    fused, _ = m(x)
    unrolled = unroll_module(m, x).out
    torch.testing.assert_close(unrolled, fused, rtol=1e-10, atol=1e-12)
    params = list(m.parameters())
    for got, want in zip(
        torch.autograd.grad((unrolled * w).sum(), params), torch.autograd.grad((fused * w).sum(), params)
    ):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def watched_once(tmp_path, rnn, head, batch, **options) -> rnnviz.Run:
    with rnnviz.watch(rnn, head, batch, store=tmp_path / "w.sqlite", probe_every=1, **options) as w:
        w.step(0.0)
    return rnnviz.open_run(tmp_path / "w.sqlite", w.run_id)


def test_recorded_gradient_per_layer_and_direction_equals_autograd_on_a_reference(tmp_path):
    torch.manual_seed(1)
    lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True).double()  # time-major, as torch's default
    head = nn.Linear(2 * H, C).double()
    x, y = torch.randn(T, B, I, dtype=torch.double), torch.randint(0, C, (B,))
    run = watched_once(tmp_path, lstm, head, (x, y))
    out, hs_of = reference(lstm, x.transpose(0, 1))
    loss = F.cross_entropy(head(out[:, -1]), y)
    nodes = [h for hs in hs_of.values() for h in hs]
    grads = iter(torch.autograd.grad(loss, nodes))
    assert run.streams() == list(hs_of)
    for (layer, direction), hs in hs_of.items():
        want = per_t([next(grads) for _ in hs])
        got = run.gradient_flow(layer, direction)[1][-1]
        np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=f"layer {layer}, {direction}")
    # the default is the layer the head reads, forward: the top one
    np.testing.assert_array_equal(run.gradient_flow()[1], run.gradient_flow(1, "forward")[1])
    # the head reads the backward direction at its first step: nothing reaches its later steps
    assert run.gradient_flow(1, "backward")[1][-1][1:].max() == 0
    with pytest.raises(LookupError, match=r"no layer=2, direction='forward'; it has \(layer, direction\): \(0, 'forw"):
        run.gradient_flow(2)


def test_an_output_at_every_step_splits_the_gradient_by_where_it_comes_from(tmp_path):
    torch.manual_seed(2)
    gru = nn.GRU(I, H, num_layers=2, bidirectional=True, batch_first=True).double()
    head = nn.Linear(2 * H, C).double()
    x, y = torch.randn(B, T, I, dtype=torch.double), torch.randint(0, C, (B, T))

    def loss_fn(logits, targets):  # any callable: here a tagger's loss, summed over steps, meaned over sequences
        return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(1).mean()

    run = watched_once(tmp_path, gru, head, (x, y), outputs="all", loss=loss_fn)
    out, hs_of = reference(gru, x)
    # the part from the output at each position: the loss's gradient with every h seen only by the head there
    seen = out.detach().requires_grad_()
    (local,) = torch.autograd.grad(loss_fn(head(seen), y), [seen])
    for d, direction in enumerate(("forward", "backward")):
        hs = hs_of[(1, direction)]
        total = torch.autograd.grad(loss_fn(head(out), y), hs, retain_graph=True)
        at_t = local[:, :, d * H : (d + 1) * H]
        at_t = at_t if direction == "forward" else at_t.flip(1)  # onto the direction's own time axis
        end = T - 1 if direction == "forward" else 0  # the position of the direction's last step
        last_loss = F.cross_entropy(head(out[:, end]), y[:, end], reduction="sum") / B
        last = torch.autograd.grad(last_loss, hs, retain_graph=True)
        want = {
            "total": per_t(list(total)),
            "local": per_t(list(at_t.unbind(1))),
            "later": per_t([g - a for g, a in zip(total, at_t.unbind(1))]),
            "last": per_t(list(last)),
        }
        for part, values in want.items():
            got = run.gradient_flow(1, direction, part)[1][-1]
            np.testing.assert_allclose(got, values, rtol=1e-5, atol=1e-12, err_msg=f"{direction} {part}")
    # the forward direction's last step gets only its own loss; from the last loss alone, h_t's gradient decays
    later = run.gradient_flow(1, "forward", "later")[1][-1]
    assert later[-1] == 0 and (later[:-1] > 0).all()
    with pytest.raises(LookupError, match="part must be one of total, local, later, last"):
        run.gradient_flow(part="distant")


class PeepholeCell(nn.Module):
    """A research cell in Python: an LSTM whose gates also read c_{t-1} (Gers and Schmidhuber 2000)."""

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in + n_hidden, 4 * n_hidden)
        self.peep = nn.Parameter(torch.randn(3, n_hidden) * 0.1)

    def step(self, xt, state):
        h, c = state
        i, f, g, o = self.lin(torch.cat([xt, h], 1)).chunk(4, 1)
        i, f = torch.sigmoid(i + self.peep[0] * c), torch.sigmoid(f + self.peep[1] * c)
        c = f * c + i * rnnviz.tanh(g, "g")
        h = torch.sigmoid(o + self.peep[2] * c) * rnnviz.tanh(c, "c")
        return h, (h, c)

    def forward(self, x):  # the user's own loop over the sequence, batch first
        state = (x.new_zeros(len(x), self.peep.shape[1]),) * 2
        hs = []
        for t in range(x.shape[1]):
            h, state = self.step(x[:, t], state)
            hs.append(h)
        return torch.stack(hs, 1)


def test_a_custom_cell_unrolled_from_its_step_matches_its_module_and_autograd(tmp_path):
    torch.manual_seed(3)
    cell, head = PeepholeCell(I, H).double(), nn.Linear(H, C).double()
    x, y = torch.randn(B, T, I, dtype=torch.double), torch.randint(0, C, (B,))

    def state0(b):
        return (torch.zeros(b, H, dtype=torch.double),) * 2

    # the unrolled pass against the module's own forward: outputs and parameter gradients
    unrolled, own = unroll_cell(cell.step, state0(B), x).out, cell(x)
    torch.testing.assert_close(unrolled, own, rtol=1e-12, atol=1e-12)
    params = list(cell.parameters())
    for got, want in zip(torch.autograd.grad(unrolled.sum(), params), torch.autograd.grad(own.sum(), params)):
        torch.testing.assert_close(got, want)
    run = watched_once(tmp_path, cell, head, (x, y), step=cell.step, state0=state0, jacobian_examples=1)
    assert run.config.cell == "custom" and run.streams() == []
    # ||dL/dh_t|| against autograd through the user's loop
    state, hs = state0(B), []
    for t in range(T):
        h, state = cell.step(x[:, t], state)
        hs.append(h)
    want = per_t(list(torch.autograd.grad(F.cross_entropy(head(hs[-1]), y), hs)))
    np.testing.assert_allclose(run.gradient_flow()[1][-1], want, rtol=1e-5)
    # the tanh it names: slope 1 - tanh^2 per step
    with torch.no_grad():
        c_t = torch.stack([s[1] for s in _states(cell, x, state0(B))], 1)
    np.testing.assert_allclose(run.series("tanh_slope_c")[1][-1], (1 - torch.tanh(c_t) ** 2).mean((0, 2)), rtol=1e-5)
    # the Jacobian chain ||d(h_T, c_T)/d(h_t, c_t)|| of the first sequence, against autograd on the tail
    states = _states(cell, x[:1], state0(1))
    for t in (0, T // 2, T - 2):

        def tail(flat, t=t):
            s = (flat[:H].reshape(1, H), flat[H:].reshape(1, H))
            for k in range(t + 1, T):
                s = cell.step(x[:1, k], s)[1]
            return torch.cat([s[0].reshape(-1), s[1].reshape(-1)])

        start = torch.cat([states[t][0].reshape(-1), states[t][1].reshape(-1)]).detach()
        J = torch.autograd.functional.jacobian(tail, start)
        got = run.series("jacobian_norm")[1][-1][t]
        np.testing.assert_allclose(got, torch.linalg.matrix_norm(J, ord=2).item(), rtol=1e-5)


def _states(cell: PeepholeCell, x: torch.Tensor, state) -> list:
    """The states after steps 1..T."""
    out = []
    for t in range(x.shape[1]):
        state = cell.step(x[:, t], state)[1]
        out.append(state)
    return out
