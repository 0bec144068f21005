"""The unrolled pass is the fused module step by step: same outputs, same gradients; inits do what they say."""

from __future__ import annotations

import math

import pytest
import torch

from rnnviz.config import RunConfig
from rnnviz.models import SeqClassifier, build_model, init_weights, layer0, loss_fn

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_unrolled_matches_fused_outputs_and_gradients(cell, nonlinearity):
    torch.manual_seed(0)
    model = SeqClassifier(cell, input_size=7, hidden_size=16, nonlinearity=nonlinearity).double()
    init_weights(model, "default", forget_bias=1.0 if cell == "lstm" else 0.0)
    x = torch.rand(5, 12, 7, dtype=torch.float64)  # (B, T, I)
    y = torch.randint(0, 10, (5,))

    logits, hs = model(x)
    loss_fn(logits, y).backward()
    fused_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    trace = model.unrolled(x)
    loss_fn(trace.logits, y).backward()
    assert torch.allclose(trace.logits, logits, atol=1e-10)
    assert torch.allclose(torch.stack(trace.hs, 1), hs, atol=1e-10)
    for name, p in model.named_parameters():
        assert torch.allclose(p.grad, fused_grads[name], atol=1e-10), name


def test_lstm_cell_state_and_gates_are_exposed_with_shapes():
    model = SeqClassifier("lstm", 28, 8)
    trace = model.unrolled(torch.rand(3, 28, 28))
    assert trace.cs.shape == (3, 28, 8) and trace.preact.shape == (3, 28, 8)
    assert set(trace.gates) == {"i", "f", "g", "o"} and all(v.shape == (3, 28, 8) for v in trace.gates.values())
    last_c = trace.cs[:, -1]
    assert torch.allclose(trace.hs[-1], trace.gates["o"][:, -1] * torch.tanh(last_c))


def test_glorot_init_uses_tensorflows_fused_kernel_limit_and_zero_biases():
    torch.manual_seed(0)
    model = build_model(RunConfig(cell="lstm", init="glorot", hidden_size=128))
    limit = math.sqrt(6 / (28 + 128 + 4 * 128))
    for w in (model.rnn.weight_ih_l0, model.rnn.weight_hh_l0):
        assert w.abs().max() <= limit and w.abs().max() > 0.95 * limit
    assert model.rnn.bias_hh_l0.abs().sum() == 0 and model.rnn.bias_ih_l0.abs().sum() == 0


def test_forget_bias_lands_on_the_forget_gate_only():
    model = build_model(RunConfig(cell="lstm", init="glorot", hidden_size=4, forget_bias=1.0))
    b = model.rnn.bias_ih_l0.detach()
    assert torch.equal(b[4:8], torch.ones(4)) and b[:4].abs().sum() == 0 and b[8:].abs().sum() == 0


def test_identity_and_orthogonal_recurrent_inits():
    irnn = build_model(RunConfig(cell="rnn", nonlinearity="relu", init="identity", hidden_size=6))
    assert torch.equal(irnn.rnn.weight_hh_l0.detach(), torch.eye(6))
    gru = build_model(RunConfig(cell="gru", init="orthogonal", hidden_size=6))
    for block in gru.recurrent_weights():
        assert torch.allclose(block @ block.T, torch.eye(6), atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sigma_w_draws_the_recurrent_weights_at_that_scale_and_leaves_the_others(cell):
    torch.manual_seed(0)
    plain = build_model(RunConfig(cell=cell, hidden_size=256))
    torch.manual_seed(0)
    scaled = build_model(RunConfig(cell=cell, hidden_size=256, sigma_w=2.0))
    w_hh = layer0(scaled.rnn)[1]
    assert w_hh.std().item() == pytest.approx(2.0 / 256**0.5, rel=0.02) and abs(w_hh.mean().item()) < 0.01
    assert torch.equal(layer0(scaled.rnn)[0], layer0(plain.rnn)[0])  # W_ih as the init made it
