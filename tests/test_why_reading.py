"""The Why reading of Gradient flow: which factor of the chain of Jacobians stops the gradient (or what carries it
across the steps), said from the numbers a run recorded, on runs that hold only those numbers."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import findings
from rnnviz.buckets import Buckets, exact
from rnnviz.config import RunConfig


class Recorded:
    """A run that holds only the latest value of a few scalars and its gradient ratio at t = 1, for the readings."""

    def __init__(self, cell: str, ratio: float = 0.3, **latest: float) -> None:
        self.cfg, self.label, self.latest = RunConfig(cell=cell), f"1 · {cell}", latest
        self.flow = np.ones((1, 28))
        self.flow[0, 0] = ratio

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([100]), np.array([self.latest[name]])) if name in self.latest else (np.zeros(0), np.zeros(0))

    def scalar_view(self, name: str, steps: tuple[int, int], points: int) -> Buckets:
        return exact(*self.scalar(name))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        assert name == "grad_h"
        return np.array([100]), self.flow


@pytest.mark.parametrize(
    "cell, ratio, latest, words",
    [
        ("rnn", 1e-9, dict(sigma_max_whh=1.9, tanh_slope_mean=0.02), "is 1.9, yet the mean tanh slope φ' (the slope of "
         "tanh, 1 - h²: near 0 where a unit is saturated) is 0.02: saturation, not the weights, stops the gradient"),
        ("rnn", 1e-4, dict(sigma_max_whh=0.5, tanh_slope_mean=0.9, jacobian_norm_t1=1e-9), "is 1.0 × 10⁻⁹; the "
         "mean tanh slope φ' (the slope of tanh, 1 - h²: near 0 where a unit is saturated) is 0.9, but σ_max(W_hh) "
         "(the most one step's recurrent weights can stretch the gradient) is 0.5: each step can shrink the gradient"),
        # a gradient that reaches t = 1 ends with what its factors conclude (it ended "and the chain of Jacobians
        # spans the 28 steps.", the blog RNN scrubbed to step 2,500)
        ("rnn", 0.2, dict(sigma_max_whh=1.2, tanh_slope_mean=0.6, jacobian_norm_t1=0.3), "is 0.6: neither the "
         "weights nor saturation stops it across the 28 steps."),
        ("rnn", 0.05, dict(sigma_max_whh=16.0, tanh_slope_mean=0.06), "is 16, yet the mean tanh slope φ' (the slope "
         "of tanh, 1 - h²: near 0 where a unit is saturated) is 0.06: saturation shrinks it at each step, but the "
         "weights still carry it across the 28 steps."),
        ("rnn", 0.5, dict(sigma_max_whh=0.9, tanh_slope_mean=0.8), "is 0.8: each step can shrink it, yet across the "
         "28 steps it is not stopped."),
        ("rnn", 40.0, dict(sigma_max_whh=3.0, tanh_slope_mean=0.7), "it grows on the way back: the gradient explodes; "
         "σ_max(W_hh) (the most one step's recurrent weights can stretch the gradient) is 3 and the mean tanh "
         "slope φ' (the slope of tanh, 1 - h²: near 0 where a unit is saturated) is 0.7: the weights stretch it more "
         "than saturation shrinks it, step after step."),
        ("lstm", 0.3, dict(tanh_slope_mean=0.6, forget_path_t1=0.2), "the gradient reaching t = 1 is 0.3 times the "
         "one at t = 28: it still flows back; along the cell state alone, the forget gates f from t = 2 to 28 keep "
         "0.2 of it (their mean product): the open forget gates carry it along the cell state."),
        # the measured ratio decides, as on the charts beside the reading, though the gate path alone is small
        # (a watched LSTM read 0.41 on Overview and "most of the gradient is lost" here, over a chart flat at 0.4)
        ("lstm", 0.41, dict(tanh_slope_mean=0.6, forget_path_t1=0.0013), "0.41 times the one at t = 28: it still "
         "flows back; along the cell state alone, the forget gates f from t = 2 to 28 keep 1.3 × 10⁻³ of it (their "
         "mean product): it reaches t = 1 along other paths than the cell state alone."),
        ("lstm", 0.001, dict(tanh_slope_mean=0.6, forget_path_t1=0.001, jacobian_norm_t1=0.001), "most of it is "
         "lost on the way back; the forget gates close the cell state's path"),
        ("gru", 1e-9, dict(tanh_slope_mean=0.6, forget_path_t1=1e-8), "it has vanished"),
        ("rnn", 0.0, dict(sigma_max_whh=19.0, tanh_slope_mean=0.04, jacobian_norm_t1=0.0), "reaches t = 1: "
         "it underflowed to 0 (below float32's smallest number); ||dh_T/dh_1|| (how much a change to the hidden "
         "state at t = 1 can still change it at t = T) is 0 (underflowed); σ_max(W_hh)"),
    ],
)  # fmt: skip
def test_the_why_reading_names_the_factor_that_stops_the_gradient(cell, ratio, latest, words):
    assert words in findings.why_reading(Recorded(cell, ratio, **latest))


def test_a_gated_run_s_reading_compares_it_with_the_rnns_shown_beside_it_and_only_those():
    lstm = Recorded("lstm", 0.4, tanh_slope_mean=0.5, forget_path_t1=0.02, jacobian_norm_t1=0.4)
    rnn = Recorded("rnn", 1e-25, sigma_max_whh=19.0, tanh_slope_mean=0.04, jacobian_norm_t1=3e-25)
    rnn.label = "1 · blog-rnn"
    said = findings.why_reading(lstm, [rnn, lstm])
    assert "it still flows back (against 1.0 × 10⁻²⁵ in 1 · blog-rnn)" in said, said  # its ratio, not its chain
    assert "against" not in findings.why_reading(lstm, [lstm])  # no figure that this page does not show
