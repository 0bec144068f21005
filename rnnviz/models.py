"""Sequence models: a fused nn.RNN/LSTM/GRU for training and an unrolled pass over the same weights, with a
classification head (10 classes) or a regression head (one output, the adding problem)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from .cells import GATES
from .config import RunConfig

N_CLASSES = 10


@dataclass
class Trace:
    """What the unrolled pass exposes; hs are live graph nodes so dL/dh_t can be taken."""

    logits: torch.Tensor  # (B, C)
    hs: list[torch.Tensor]  # T x (B, H), h_1..h_T
    preact: torch.Tensor  # (B, T, H) argument of the cell's tanh (RNN: a_t, LSTM: g, GRU: n)
    cs: torch.Tensor | None = None  # (B, T, H) LSTM cell state
    gates: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (B, T, H)


Recurrent = nn.RNN | nn.LSTM | nn.GRU
MODULE_CELLS: dict[type, str] = {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}  # torch module -> cell name


def layer0(rnn: Recurrent) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """W_ih, W_hh, b_ih, b_hh of a single-layer module (torch sets them as dynamic attributes)."""
    return cast(
        tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
        (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0),
    )


class SeqClassifier(nn.Module):
    """A recurrent layer read over T steps, then a linear head on the last hidden state: `outputs` logits, or
    one number for a regression."""

    rnn: Recurrent
    head: nn.Module

    def __init__(
        self, cell: str, input_size: int, hidden_size: int, nonlinearity: str = "tanh", outputs: int = N_CLASSES
    ) -> None:
        super().__init__()
        self.cell = cell
        self.nonlinearity = nonlinearity if cell == "rnn" else "tanh"
        if cell == "rnn":
            self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        elif cell == "lstm":
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        elif cell == "gru":
            self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        else:
            raise ValueError(f"unknown cell {cell!r}")
        self.head = nn.Linear(hidden_size, outputs)

    @classmethod
    def around(cls, rnn: Recurrent, head: nn.Module) -> SeqClassifier:
        """A classifier over someone else's single-layer recurrent module and head, sharing their parameters
        (for `rnnviz.watch`); the caller checks the module is one `unrolled` can follow."""
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model.cell = MODULE_CELLS[type(rnn)]
        model.nonlinearity = rnn.nonlinearity if isinstance(rnn, nn.RNN) else "tanh"
        model.rnn = rnn
        model.head = head
        return model

    @property
    def hidden_size(self) -> int:
        return self.rnn.hidden_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused pass: logits (B, C) and every hidden state (B, T, H)."""
        hs, _ = self.rnn(x)  # (B, T, H)
        return self.head(hs[:, -1]), hs

    def step(
        self, xt: torch.Tensor, hprev: torch.Tensor, cprev: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One time step from xt = x_t W_ih^T + b_ih (B, kH) and the state before it: h_t, c_t (the LSTM's cell
        state; cprev passed through by the other cells), the argument of the cell's tanh, and the gates."""
        _, w_hh, _, b_hh = layer0(self.rnn)
        hw = hprev @ w_hh.T + b_hh  # (B, kH)
        if self.cell == "rnn":
            a = xt + hw  # (B, H)
            h = torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)
            return h, cprev, a, {}
        if self.cell == "lstm":
            ai, af, ag, ao = (xt + hw).chunk(4, dim=1)  # 4 x (B, H)
            i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
            c = f * cprev + i * g  # (B, H)
            h = o * torch.tanh(c)
            return h, c, ag, {"i": i, "f": f, "g": g, "o": o}
        xr, xz, xn = xt.chunk(3, dim=1)
        hr, hz, hn = hw.chunk(3, dim=1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        an = xn + r * hn  # (B, H)
        n = torch.tanh(an)
        h = (1 - z) * n + z * hprev
        return h, cprev, an, {"r": r, "z": z, "n": n}

    def unrolled(self, x: torch.Tensor, h0: torch.Tensor | None = None, c0: torch.Tensor | None = None) -> Trace:
        """The same function as forward, one time step at a time, in torch's gate order; from the zero state,
        or from h0 (and the LSTM's c0), each (B, H), so that a tail of the sequence can be rerun from h_t."""
        B, T, _ = x.shape
        w_ih, _, b_ih, _ = layer0(self.rnn)
        xw = x @ w_ih.T + b_ih  # (B, T, kH): the input part of every step at once
        hprev = x.new_zeros(B, self.hidden_size) if h0 is None else h0
        cprev = torch.zeros_like(hprev) if c0 is None else c0
        hs, preacts, cs = [], [], []
        gates: dict[str, list[torch.Tensor]] = {g: [] for g in GATES[self.cell]}
        for t in range(T):
            h, c, a, gs = self.step(xw[:, t], hprev, cprev)
            for name, v in gs.items():
                gates[name].append(v)
            hs.append(h)
            preacts.append(a)
            cs.append(c)
            hprev, cprev = h, c
        return Trace(
            logits=self.head(hprev),
            hs=hs,
            preact=torch.stack(preacts, 1),
            cs=torch.stack(cs, 1) if self.cell == "lstm" else None,
            gates={name: torch.stack(v, 1) for name, v in gates.items()},
        )

    def recurrent_weights(self) -> list[torch.Tensor]:
        """W_hh split per gate block, each (H, H)."""
        return list(layer0(self.rnn)[1].chunk(max(1, len(GATES[self.cell])), dim=0))


def init_weights(
    model: SeqClassifier, init: str, forget_bias: float, sigma_w: float = 0.0, head_init: str = "same"
) -> None:
    """Apply a named initialisation scheme in place (see RunConfig.init); a sigma_w above 0 then draws W_hh
    from N(0, sigma_w^2 / H), the recurrent weight scale of Chen, Pennington and Schoenholz (2018); head_init
    normal draws the output layer's weights and biases from N(0, 1), as the TensorFlow tutorial does."""
    w_ih, w_hh, b_ih, b_hh = layer0(model.rnn)
    rnn, H = model.rnn, model.hidden_size
    k = max(1, len(GATES[model.cell]))
    with torch.no_grad():
        if init == "glorot":
            # TensorFlow cells hold one kernel of shape (I + H, k*H) with glorot-uniform init.
            limit = math.sqrt(6.0 / (rnn.input_size + H + k * H))
            for w in (w_ih, w_hh):
                w.uniform_(-limit, limit)
            b_ih.zero_()
            b_hh.zero_()
            head = cast(nn.Linear, model.head)  # build_model's own head
            nn.init.xavier_uniform_(head.weight)
            head.bias.zero_()
        elif init == "orthogonal":
            for block in w_hh.chunk(k, dim=0):
                nn.init.orthogonal_(block)
        elif init == "identity":
            # IRNN (Le et al. 2015): identity recurrence, zero biases, small input weights.
            w_hh.copy_(torch.eye(H))
            nn.init.normal_(w_ih, std=0.001)
            b_ih.zero_()
            b_hh.zero_()
        elif init != "default":
            raise ValueError(f"unknown init {init!r}")
        if sigma_w:
            w_hh.normal_(0.0, sigma_w / math.sqrt(H))
        if model.cell == "lstm" and forget_bias:
            b_ih[H : 2 * H] += forget_bias
        if head_init == "normal":
            head = cast(nn.Linear, model.head)
            head.weight.normal_(0.0, 1.0)  # (C, H)
            head.bias.normal_(0.0, 1.0)  # (C,)
        elif head_init != "same":
            raise ValueError(f"unknown head init {head_init!r}")


def build_model(cfg: RunConfig) -> SeqClassifier:
    """The classifier a config describes, initialised (uses torch's global RNG)."""
    outputs = 1 if cfg.task == "adding" else N_CLASSES
    model = SeqClassifier(cfg.cell, cfg.input_size, cfg.hidden_size, cfg.nonlinearity, outputs)
    init_weights(model, cfg.init, cfg.forget_bias, cfg.sigma_w, cfg.head_init)
    return model


def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of the task the targets belong to: cross-entropy for classes (int64), the mean squared error
    of the one output for numbers (float, a regression)."""
    if y.is_floating_point():
        return F.mse_loss(out.squeeze(1), y)
    return F.cross_entropy(out, y)
