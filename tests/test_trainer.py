"""Training runs: a smoke run records every diagnostic; seeds reproduce; divergence and stops end cleanly."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.store import Store
from rnnviz.trainer import train

from .conftest import quick_config, write_dataset


def test_smoke_run_records_every_diagnostic(trained_store):
    with Store(trained_store) as store:
        runs = store.runs().set_index("run_id")
        assert runs.loc[1, "status"] == "finished" and runs.loc[2, "step"] == 30
        names = set(store.scalar_names(2))
        assert {
            "loss",
            "accuracy",
            "saturated",
            "saturated_last",
            "clipped",
            "grad_norm/global",
            "grad_norm/rnn.weight_hh_l0",
            "grad_norm/head.weight",
            "validation_accuracy",
            "test_accuracy",
            "sigma_max_whh",
        } <= names
        steps, flow = store.grad_flow(2)
        assert steps.tolist() == [1, 10, 20, 30] and flow.shape == (4, 28) and np.all(flow > 0)
        arrays = set(store.array_names(2))
        assert {"hist/c", "hist/gate_f", "unit_sat/i", "gate_mean_t/o", "sat_t", "mean_abs_h_t"} <= arrays
        assert store.scalars(2, ["validation_accuracy"])["step"].tolist() == [20, 30]
        assert store.scalars(2, ["test_accuracy"])["step"].tolist() == [30]  # the test split at the end only
        assert 0.0 <= runs.loc[2, "test_accuracy"] <= 1.0


def test_same_config_and_seed_give_the_same_numbers(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        a = train(quick_config(steps=12, cell="gru"), store)
        b = train(quick_config(steps=12, cell="gru"), store)
        c = train(quick_config(steps=12, cell="gru", seed=1), store)
        la, lb, lc = (store.scalars(r.run_id, ["loss"])["value"].to_numpy() for r in (a, b, c))
    assert np.array_equal(la, lb) and not np.array_equal(la, lc)
    assert a.test_accuracy == b.test_accuracy


def test_divergence_ends_the_run_and_keeps_earlier_steps(tmp_path):
    with Store(tmp_path / "d.sqlite") as store:
        result = train(quick_config(cell="rnn", nonlinearity="relu", lr=10.0, optimizer="sgd", steps=200), store)
        assert result.status == "diverged" and "lower the learning rate" in result.error
        loss = store.scalars(result.run_id, ["loss"])
        assert loss["step"].tolist() == list(range(1, result.steps + 1))
        assert np.isnan(loss["value"].iloc[-1]) and np.isfinite(loss["value"].iloc[:-1]).all()
        assert store.run(result.run_id)["status"] == "diverged"


def test_stop_request_ends_the_run_as_stopped(tmp_path):
    calls = []
    with Store(tmp_path / "s.sqlite") as store:
        result = train(quick_config(steps=1000), store, should_stop=lambda: calls.append(1) or len(calls) >= 5)
    assert result.status == "stopped" and result.steps == 5 and result.test_accuracy is not None


def test_bad_data_fails_the_run_with_the_reason(tmp_path):
    d = write_dataset(tmp_path / "tiny", n_train=8)
    with Store(tmp_path / "f.sqlite") as store:
        result = train(quick_config(data_dir=str(d), batch_size=32), store)
        assert result.status == "failed" and "larger than the training split" in result.error
        assert store.run(result.run_id)["error"] == result.error


def test_resume_after_a_stop_reaches_the_numbers_of_an_uninterrupted_run(tmp_path):
    cfg = quick_config(steps=60, checkpoint_every=20, eval_every=30)
    with Store(tmp_path / "a.sqlite") as store:
        whole = train(cfg, store)
        whole_loss = store.scalars(whole.run_id, ["loss"])["value"].to_numpy()
    calls = []
    with Store(tmp_path / "b.sqlite") as store:
        first = train(cfg, store, should_stop=lambda: calls.append(1) or len(calls) >= 33)
        assert first.status == "stopped" and first.steps == 33
        resumed = train(cfg, store, run_id=first.run_id, resume=True)
        loss = store.scalars(first.run_id, ["loss"])
    assert resumed.status == "finished" and resumed.steps == 60
    assert loss["step"].tolist() == list(range(1, 61))
    np.testing.assert_array_equal(loss["value"].to_numpy(), whole_loss)
    assert resumed.test_accuracy == whole.test_accuracy and resumed.test_loss == whole.test_loss


def test_a_784_step_run_records_every_step_and_its_figures_stay_small(tmp_path):
    from rnnviz import figures, views
    from rnnviz.api import Run
    from rnnviz.figures import MAX_POINTS, MAX_ROWS
    from rnnviz.findings import gradient_reading

    cfg = quick_config(view="pixels", permute=True, hidden_size=32, steps=3, batch_size=8, probe_batch=8)
    with Store(tmp_path / "pixels.sqlite") as store:
        result = train(cfg.replace(probe_every=1, eval_every=3), store)
        assert result.status == "finished", result.error
        steps, flow = store.grad_flow(result.run_id)
        assert flow.shape == (3, 784) and np.all(np.isfinite(flow))  # recorded at full resolution
        run = Run(store, result.run_id)
        heat = views.gradient_flow([run]).data[0]
        curve = views.gradient_curve([run]).data[0]
    assert len(heat.y) == MAX_ROWS and heat.y[0] < 5 and heat.y[-1] > 780  # the figure averages groups of steps
    floor = figures.gradient_decades([flow])[0]
    with np.errstate(divide="ignore"):
        drawn = np.log10(flow[0, :7]).mean()  # the first of 112 groups of 7 steps, at the first probe
    # drawn in its decade, or in the band under the floor, or (a step of it underflowed to 0) in the black band
    drawn = (floor - 0.75 if np.isneginf(drawn) else floor - 0.25) if not drawn >= floor else drawn
    np.testing.assert_allclose(np.asarray(heat.z)[0, 0], drawn, rtol=1e-5)
    assert len(curve.x) <= MAX_POINTS + 1 and curve.x[-1] > 780 and np.all(np.asarray(curve.y) > 0)  # no log-axis gaps
    underflowed = flow.copy()
    underflowed[:, 0] = 0
    said = (
        "none of the gradient at t = 784 reaches t = 1 (median of the last 3 probes): it underflowed to 0 (below "
        "float32's smallest number)"
    )
    assert gradient_reading(underflowed) == said


@pytest.mark.parametrize(
    ("first", "said"),
    [
        (
            1e-9,
            "is 1.0 × 10⁻⁹ times the one at t = 28 (median of the last 2 probes): it has vanished: the first time "
            "steps no longer steer learning",
        ),
        (
            4.6e-5,
            "is 4.6 × 10⁻⁵ times the one at t = 28 (median of the last 2 probes): most of it is lost on the way back",
        ),
        (
            0.013,
            "is 0.013 times the one at t = 28 (median of the last 2 probes): only a small part of it still flows back",
        ),
        (0.3, "is 0.3 times the one at t = 28 (median of the last 2 probes): it still flows back"),
    ],
)
def test_the_gradient_reading_says_how_much_is_lost(first, said):
    """A 20,000-fold drop from t = 28 to t = 1 is not read as a gradient that 'still flows back'."""
    from rnnviz.findings import gradient_reading

    flow = np.ones((2, 28))
    flow[-1, 0] = first
    assert gradient_reading(flow).endswith(said)
