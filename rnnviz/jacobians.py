"""Why the gradient vanishes: the chain of Jacobians dh_T/dh_t, its Pascanu bound, tanh slopes, gate paths.

The gradient reaching step t is dL/dh_t = (dh_T/dh_t)^T dL/dh_T, and dh_T/dh_t = A_T ... A_{t+1} is a product
of the step Jacobians A_k = ds_k/ds_{k-1} of the recurrent state s (h; for the LSTM, (h, c)). Each A_k is
written out below from the unrolled pass's values; tests/test_jacobians.py checks the products against
torch.autograd.functional.jacobian of the sequence's tail rerun from s_t.
"""

from __future__ import annotations

import torch

from .cells import path_gate
from .models import SeqClassifier, Trace, layer0


def _cols(v: torch.Tensor) -> torch.Tensor:
    """(E, H) -> (E, 1, H): scales the columns of a (E, D, H) matrix, i.e. M @ diag(v)."""
    return v[:, None, :]


def _step_factors(model: SeqClassifier, trace: Trace, E: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each A_t (t = 2..T) as a sum of row-scaled blocks of W_hh plus diagonals, by the factors that scale them:
    W (kH, H), the blocks of W_hh stacked in the order the factors take them, and per-step factors (E, T-1, H)
    (see `_apply`)."""
    w_hh = layer0(model.rnn)[1].detach()
    hs = torch.stack([h.detach()[:E] for h in trace.hs], 1)  # (E, T, H)
    hprev, h = hs[:, :-1], hs[:, 1:]  # (E, T-1, H) each: h_{t-1}, h_t for t = 2..T
    gate = {name: v.detach()[:E, 1:] for name, v in trace.gates.items()}  # (E, T-1, H)
    if model.cell == "rnn":
        a = trace.preact.detach()[:E, 1:]
        return w_hh, [1 - h**2 if model.nonlinearity == "tanh" else (a > 0).to(a.dtype)]  # phi'(a_t)
    if model.cell == "lstm":
        W_i, W_f, W_g, W_o = w_hh.chunk(4)
        i, f, g, o = gate["i"], gate["f"], gate["g"], gate["o"]
        cs = trace.cs.detach()[:E]  # type: ignore[union-attr]
        cprev, tc = cs[:, :-1], torch.tanh(cs[:, 1:])
        # u scales W_o in dh/dh, v carries dc/dh into dh/dh, then dc/dh's three blocks, and f (dc/dc)
        u, v = tc * o * (1 - o), o * (1 - tc**2)
        return torch.cat([W_o, W_f, W_i, W_g]), [u, v, cprev * f * (1 - f), g * i * (1 - i), i * (1 - g**2), f]
    W_r, W_z, W_n = w_hh.chunk(3)
    b_n = layer0(model.rnn)[3].detach().chunk(3)[2]
    r, z, n = gate["r"], gate["z"], gate["n"]
    hn = hprev @ W_n.T + b_n  # (E, T-1, H)
    dn = (1 - z) * (1 - n**2)  # how n moves h_t, through the tanh
    return torch.cat([W_r, W_n, W_z]), [dn * hn * r * (1 - r), dn * r, (hprev - n) * z * (1 - z), z]


def _rows(v: torch.Tensor) -> torch.Tensor:
    """(E, H) -> (E, H, 1): scales the rows of an (H, H) block, i.e. diag(v) @ W."""
    return v[:, :, None]


def _apply(cell: str, J: torch.Tensor, W: torch.Tensor, fs: list[torch.Tensor]) -> torch.Tensor:
    """J @ A for one step's factors (each (E, H)). A gated cell's row-scaled blocks of W_hh that the same part
    of J meets are summed first (H x H each), so that a step is one or two (E, D, H) @ (E, H, H) products, not
    one (E, D, kH) @ (kH, H): a half (LSTM) and a third (GRU) of the multiplications; the rest column
    scalings."""
    if cell == "rnn":
        return (J * _cols(fs[0])) @ W  # J diag(phi') W_hh
    if cell == "lstm":
        u, v, a_f, a_i, a_g, f = fs
        H = f.shape[1]
        W_o, W_f, W_i, W_g = W.chunk(4)
        Jh, Jc = J[..., :H], J[..., H:]
        K = Jh * _cols(v) + Jc  # what reaches c_t, from h_t and from c_t
        to_c = _rows(a_f) * W_f + _rows(a_i) * W_i + _rows(a_g) * W_g  # (E, H, H): c_t's blocks of dh_{t-1}
        new_h = torch.baddbmm(Jh @ (_rows(u) * W_o), K, to_c)  # Jh diag(u) W_o + K (...)
        return torch.cat([new_h, K * _cols(f)], -1)
    a_r, a_n, a_z, z = fs
    W_r, W_n, W_z = W.chunk(3)
    return torch.baddbmm(J * _cols(z), J, _rows(a_r) * W_r + _rows(a_n) * W_n + _rows(a_z) * W_z)


def state_jacobians(model: SeqClassifier, trace: Trace, examples: int) -> torch.Tensor:
    """dh_T/dh_t (for the LSTM d(h_T, c_T)/d(h_t, c_t)) for t = 1..T of the first `examples` sequences:
    (E, T, D, D), the identity at t = T. J_t = J_{t+1} A_{t+1}, each product taken from A's factors (one
    or two matrix products a step, from A's factors: no D x D factor is formed)."""
    W, factors = _step_factors(model, trace, examples)
    E, D = factors[0].shape[0], trace.hs[0].shape[1] * (2 if model.cell == "lstm" else 1)
    out = torch.empty(E, len(trace.hs), D, D, dtype=W.dtype, device=W.device)
    out[:, -1] = torch.eye(D, dtype=W.dtype, device=W.device)
    for k in range(out.shape[1] - 2, -1, -1):  # J_k = J_{k+1} A_{k+1}; A_{k+1} is factors[:, k]
        out[:, k] = _apply(model.cell, out[:, k + 1], W, [f[:, k] for f in factors])
    return out


def _ritz_bound(G: torch.Tensor, X: torch.Tensor, rtol: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For the block X (N, n, k) from subspace iteration on G (N, n, n): theta, the top Ritz value (N,), whether
    the bound of `spectral_norms` proves lambda_max(G) <= (1 + rtol) theta, and the Ritz vector."""
    values, vectors = torch.linalg.eigh(X.mT @ G @ X)
    theta = values[:, -1]
    x = X @ vectors[:, :, -1:]  # (N, n, 1)
    r2 = torch.linalg.vector_norm((G @ x - theta[:, None, None] * x).flatten(1), dim=1).double() ** 2
    t = theta.double()
    c = (torch.linalg.vector_norm(G.flatten(1), dim=1).double() ** 2 - t**2 - 2 * r2).clamp_min(0).sqrt()
    bound = (t + c) / 2 + (((t - c) / 2) ** 2 + r2).sqrt()
    return theta, (c < t) & (bound <= t * (1 + rtol)), x


def spectral_norms(M: torch.Tensor, rtol: float = 1e-4, block: int = 8, rounds: tuple[int, ...] = (4,)) -> torch.Tensor:
    """||M||_2, the largest singular value, of each matrix of a batch (N, m, n), proved within rtol / 2.

    lambda, the largest eigenvalue of G = M^T M, is approached from below: subspace iteration on a block of
    vectors, then Rayleigh-Ritz, whose top value theta never exceeds lambda (to rounding). It is proved close
    from above without a factorisation: in the basis (x, x-perp) of theta's Ritz vector x, G = [[theta, b^T],
    [b, C]] with ||b|| = ||G x - theta x|| = r and ||C||_2 <= ||C||_F = c, c^2 = ||G||_F^2 - theta^2 - 2 r^2;
    so lambda <= (theta + c) / 2 + sqrt(((theta - c) / 2)^2 + r^2), about theta + r^2 / (theta - c). A matrix
    that bound leaves unproved after every round of iterations (a flat spectrum: c near theta) is proved by
    a Cholesky factorisation of (1 + rtol) theta I - G succeeding, and failing that, gets LAPACK's SVD. So
    sqrt(theta) is within rtol / 2 of ||M||_2 (tests/test_jacobians.py checks it against the SVD)."""
    n = M.shape[-1]
    # (N,) the largest |m_ij|, so that M^T M neither underflows nor overflows; the larger of max and -min, which
    # is the inf-norm's value in a tenth of vector_norm's time (8 ms for the LSTM's 27 matrices of 256 x 256)
    flat = M.flatten(1)
    scale = torch.maximum(flat.amax(1), flat.amin(1).neg())
    Mn = M / scale.clamp_min(torch.finfo(M.dtype).tiny)[:, None, None]
    G = Mn.mT @ Mn  # (N, n, n)
    if n <= 2 * block:  # a whole eigendecomposition is as cheap
        return torch.linalg.eigvalsh(G)[:, -1].clamp_min(0).sqrt() * scale
    # start from G's own columns of the largest norm (its rows': G is symmetric), which lean towards its top
    # eigenvectors
    start = torch.linalg.vector_norm(G, dim=-1).topk(block, dim=-1).indices  # (N, block)
    X = torch.linalg.qr(torch.gather(G, -1, start[:, None, :].expand(-1, n, -1))).Q  # (N, n, block)
    todo = torch.arange(len(G), device=G.device)
    theta = torch.empty(len(G), dtype=G.dtype, device=G.device)
    for iters in rounds:
        Gt = G[todo] if len(todo) < len(G) else G
        for _ in range(iters):
            X = torch.linalg.qr(Gt @ X).Q
        theta[todo], proved, _ = _ritz_bound(Gt, X, rtol)
        todo, X = todo[~proved], X[~proved]
        if not len(todo):
            return theta.clamp_min(0).sqrt() * scale
    eye = torch.eye(n, dtype=G.dtype, device=G.device)
    unproved = torch.linalg.cholesky_ex(theta[todo, None, None] * (1 + rtol) * eye - G[todo]).info != 0
    sigma = theta.clamp_min(0).sqrt()
    exact = todo[unproved]
    if len(exact):
        sigma[exact] = torch.linalg.matrix_norm(Mn[exact], ord=2)
    return sigma * scale


def gate_path_mean(gate: torch.Tensor) -> torch.Tensor:
    """The mean over the batch and units of prod_{k=t+1..T} gate_k for t = 1..T (1 at t = T): gate (B, T, H)
    -> (T,). Step by step from T back (a reversed cumprod over the time axis copies the whole tensor thrice)."""
    path = torch.ones_like(gate[:, -1])  # (B, H)
    means = [path.mean()]
    for k in range(gate.shape[1] - 1, 0, -1):
        path = path * gate[:, k]
        means.append(path.mean())
    return torch.stack(means[::-1])


def _slope(tanh: torch.Tensor) -> torch.Tensor:
    """1 - tanh^2, in one new tensor."""
    return tanh.square().neg_().add_(1)


def tanh_slopes(model: SeqClassifier, trace: Trace, hs: torch.Tensor) -> dict[str, torch.Tensor]:
    """phi'(a_t) of the tanh that makes h_t, (B, T, H): RNN 1 - h_t^2 (relu: 1 where a_t > 0), LSTM the tanh of
    the cell state (under "tanh_slope") and of the candidate g ("tanh_slope_g"), GRU the candidate n. hs: the
    trace's h_t stacked, (B, T, H)."""
    if model.cell == "rnn":
        a = trace.preact.detach()
        return {"tanh_slope": _slope(hs) if model.nonlinearity == "tanh" else (a > 0).to(a.dtype)}
    if model.cell == "lstm":
        cs = trace.cs.detach()  # type: ignore[union-attr]
        return {"tanh_slope": _slope(torch.tanh(cs)), "tanh_slope_g": _slope(trace.gates["g"].detach())}
    return {"tanh_slope": _slope(trace.gates["n"].detach())}


@torch.no_grad()
def chain_factors(
    model: SeqClassifier, trace: Trace, hs: torch.Tensor, grad_h: torch.Tensor, examples: int, sigma: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The factors of the vanishing gradient, per time step t = 1..T, from the probe's unrolled pass (hs: its
    h_t stacked, (B, T, H)), its grad_h (T + 1,): mean ||dL/dh_t|| over the batch for t = 0..T, and sigma:
    ||W_hh||_2, the largest singular value. Arrays to record, still on the device (`probe` moves them)."""
    arrays: dict[str, torch.Tensor] = {}
    slopes = tanh_slopes(model, trace, hs)
    for name, s in slopes.items():
        arrays[name] = s.mean((0, 2))  # (T,)
    # ||dL/dh_{t-1}|| / ||dL/dh_t||; a gradient that underflowed to 0 gives no ratio (NaN)
    arrays["step_gain"] = torch.where(grad_h[1:] > 0, grad_h[:-1] / grad_h[1:].clamp_min(1e-38), torch.nan)
    if model.cell == "rnn":
        # Pascanu et al. 2013: ||A_t|| <= ||W_hh||_2 max_i phi'(a_t,i); the max over the batch too, so that the
        # bound holds for the batch's mean norms
        arrays["step_bound"] = sigma * slopes["tanh_slope"].amax((0, 2))
    gate = path_gate(model.cell)
    if gate:
        arrays["forget_path"] = gate_path_mean(trace.gates[gate].detach())
    E = min(examples, trace.hs[0].shape[0])
    if E > 0:
        J = state_jacobians(model, trace, E)[:, :-1]  # (E, T - 1, D, D); dh_T/dh_T = I has norm 1
        norms = spectral_norms(J.flatten(0, 1)).view(J.shape[:2]).mean(0)
        arrays["jacobian_norm"] = torch.cat([norms, torch.ones_like(norms[:1])])
    return arrays
