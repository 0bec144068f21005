"""The probe's numbers mean what they claim: dL/dh_t, saturation, histograms, per-unit gate saturation."""

from __future__ import annotations

import numpy as np
import torch

from rnnviz.models import SeqClassifier, loss_fn
from rnnviz.probes import hist_edges, probe
from rnnviz.stepstats import grad_norms, saturated_counts


def test_grad_h_equals_retain_grad_reference():
    torch.manual_seed(1)
    model = SeqClassifier("rnn", 4, 8)
    x, y = torch.rand(6, 10, 4), torch.randint(0, 10, (6,))
    arrays, _ = probe(model, x, y, threshold=0.99, bins=20)

    trace = model.unrolled(x)
    for h in trace.hs:
        h.retain_grad()
    loss_fn(trace.logits, y).backward()
    expected = torch.stack([h.grad.norm(dim=1).mean() * len(x) for h in trace.hs]).numpy()
    assert arrays["grad_h"].shape == (10,)
    np.testing.assert_allclose(arrays["grad_h"], expected, rtol=1e-5)


def test_histograms_count_every_value_with_fixed_edges():
    model = SeqClassifier("lstm", 4, 8)
    x, y = torch.rand(5, 7, 4), torch.randint(0, 10, (5,))
    arrays, scalars = probe(model, x, y, threshold=0.99, bins=30)
    assert arrays["hist/h_all"].sum() == 5 * 7 * 8 and arrays["hist/h_last"].sum() == 5 * 8
    for g in "ifgo":
        assert arrays[f"hist/gate_{g}"].shape == (30,) and arrays[f"gate_mean_t/{g}"].shape == (7,)
    assert arrays["unit_sat/f"].shape == (2, 8) and "unit_sat/g" not in arrays
    assert set(hist_edges("lstm", "tanh", 30)) == {k[5:] for k in arrays if k.startswith("hist/")}
    assert scalars["sigma_max_whh"] > 0


def test_saturation_counts_units_beyond_the_threshold():
    hs = torch.tensor([[[0.0, 0.995], [-0.999, 0.5]]])  # (B=1, T=2, H=2)
    all_steps, last = saturated_counts(hs, 0.99).tolist()  # counts: the trainer divides by B T H and B H
    assert all_steps / 4 == 0.5 and last / 2 == 0.5


def test_param_grad_norms_and_global_norm():
    model = SeqClassifier("gru", 3, 4)
    logits, _ = model(torch.rand(2, 5, 3))
    loss_fn(logits, torch.tensor([1, 2])).backward()
    names = [n for n, _ in model.named_parameters()]
    grads = [p.grad for p in model.parameters()]
    norms = dict(zip([*names, "global"], grad_norms(grads).tolist()))
    assert np.isclose(norms["global"], torch.cat([g.flatten() for g in grads]).norm().item(), rtol=1e-5)
    assert np.isclose(norms["rnn.weight_hh_l0"], model.rnn.weight_hh_l0.grad.norm().item(), rtol=1e-5)
