"""Plain-language readings of a run, computed from its recorded numbers (shown under the charts)."""

from __future__ import annotations

import numpy as np

from .store.status import Status

VANISHED = 1e-6  # a gradient ratio below this between t = 1 and t = T: nothing reaches the start
FADED = 1e-2  # below this share of the last step's gradient, most of it is lost before t = 1


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def gradient_ratio(flow: np.ndarray) -> float | None:
    """||dL/dh_1|| / ||dL/dh_T|| at the latest probe: how much gradient reaches the first time step."""
    if flow.size == 0 or not np.isfinite(flow[-1]).all() or flow[-1, -1] <= 0:
        return None
    return float(flow[-1, 0]) / float(flow[-1, -1])


def gradient_reading(flow: np.ndarray) -> str | None:
    """How much of the last step's gradient reaches the first time step, at the latest probe."""
    ratio = gradient_ratio(flow)
    if ratio is None:
        return None
    T = flow.shape[1]
    if ratio == 0:
        return f"no gradient at all reaches t = 1 from t = {T}: it underflowed to 0 (float32)"
    if ratio < VANISHED:
        exponent = np.log10(max(ratio, 1e-300))
        return f"the gradient reaching t = 1 is 1e{exponent:.0f} of the one at t = {T}: it has vanished"
    if ratio < FADED:
        return f"the gradient reaching t = 1 is {ratio:.2g}x the one at t = {T}: most of it is lost on the way back"
    return f"the gradient reaching t = 1 is {ratio:.2g}x the one at t = {T}: it still flows back"


def evaluated(run) -> str:
    """The scalar of a run's accuracy curve during training: validation_accuracy; test_accuracy for a run
    recorded before rnnviz held out a validation split (it evaluated the test split during training)."""
    names = run.scalar_names()
    return "test_accuracy" if "test_accuracy" in names and "validation_accuracy" not in names else "validation_accuracy"


def _tail(values: np.ndarray, n: int = 50) -> np.ndarray:
    """The last n recorded values (NaN is no record)."""
    return values[~np.isnan(values)][-n:]


def of(run) -> str:
    """One sentence about a run (a dashboard RunView or an API Run): saturation, the course of its accuracy
    during training (on the validation split), the final test accuracy, and the gradient at t = 1. Reads only
    the arrays it needs: the dashboard calls it every second."""
    parts = []
    sat = _tail(run.scalar("saturated")[1])
    if len(sat):
        parts.append(f"{_pct(sat.mean())} of hidden activations saturated (|h| > {run.cfg.saturation:g})")
    name = evaluated(run)
    what = name.split("_")[0]
    steps, acc = run.scalar(name)
    steps, acc = steps[~np.isnan(acc)], acc[~np.isnan(acc)]
    if len(acc):
        best_step, best = int(steps[acc.argmax()]), float(acc.max())
        last_step, last = int(steps[-1]), float(acc[-1])
        if best - last >= 0.1:
            fell = f"fell from {_pct(best)} (step {best_step:,}) to {_pct(last)} (step {last_step:,})"
            parts.append(f"{what} accuracy {fell}")
        else:
            parts.append(f"{what} accuracy {_pct(last)} at step {last_step:,}")
    elif len(batch := _tail(run.scalar("accuracy")[1])):
        parts.append(f"batch accuracy {_pct(batch.mean())} over the last {len(batch)} steps")
    if name != "test_accuracy" and len(test := _tail(run.scalar("test_accuracy")[1], 1)):
        heads = [(k, _tail(run.scalar(f"test_accuracy_{k}")[1], 1)) for k in (128, 256)]
        shown = ", ".join(f"first {k} digits {_pct(v[-1])}" for k, v in heads if len(v))
        parts.append(f"test accuracy {_pct(test[-1])}" + (f" ({shown})" if shown else ""))
    # with a loss at every step, h_1 gets its own loss's gradient: the long-range part is the last loss's alone
    last = run.series("grad_h_last")[1]
    gradient = gradient_reading(last if last.size else run.series("grad_h")[1])
    if gradient:
        parts.append(f"from the loss at the last step alone, {gradient}" if last.size else gradient)
    status, error = run.row["status"], run.row["error"]
    if status in (Status.DIVERGED, Status.FAILED, Status.INTERRUPTED) and error:
        parts.append(f"{status}: {error}")
    if not parts:
        return f"**{run.label}**: no steps recorded yet."
    return f"**{run.label}**: " + "; ".join(parts) + "."


SATURATED_SLOPE = 0.1  # a mean tanh slope below this: most units sit where tanh is flat


def _latest(run, name: str) -> float | None:
    """The latest recorded value of a scalar, or None."""
    values = _tail(run.scalar(name)[1], 1)
    return float(values[-1]) if len(values) else None


def _norm(value: float) -> str:
    return "0 (it underflowed in float32)" if value == 0 else f"{value:.2g}"


def _through_rnns(others) -> str:
    """What the vanilla RNNs shown beside a gated run measure at t = 1, for comparison: '' when none did."""
    said = [
        f"{_norm(jac)} through {r.label}'s chain"
        for r in others
        if r.cfg.cell == "rnn" and (jac := _latest(r, "jacobian_norm_t1")) is not None
    ]
    return f" (against {', '.join(said)})" if said else ""


def why(run, others=()) -> str | None:
    """Which factor of the chain of Jacobians decides the gradient reaching t = 1, at the latest probe: the
    weights (sigma_max(W_hh)), saturation (the tanh slope), or, in an LSTM or GRU, the gate path. The verdict
    is the measured ||ds_T/ds_1|| (the gate path where Jacobians were not recorded), so it agrees with the
    charts beside it; a gated run is compared with the vanilla RNNs among `others` (the runs shown with it).
    None for a run recorded before these probes."""
    slope = _latest(run, "tanh_slope_mean")
    if slope is None:
        return None
    T = run.cfg.seq_len
    jac = _latest(run, "jacobian_norm_t1")
    of = "d(h_T, c_T)/d(h_1, c_1)" if run.cfg.cell == "lstm" else "dh_T/dh_1"
    said = f"||{of}|| is {_norm(jac)}" if jac is not None else ""
    gate = {"lstm": "f", "gru": "z"}.get(run.cfg.cell)
    if gate:
        path = _latest(run, "forget_path_t1")
        measure = jac if jac is not None else path
        if measure is None:
            return None
        kind, carrier = ("forget", "cell state") if gate == "f" else ("update", "update path")
        scale = (
            "" if path is None else f"the mean product of the {kind} gates {gate} from t = 2 to {T} is {_norm(path)}"
        )
        if measure >= FADED:
            verdict = f"the gradient still spans the {T} steps"
            verdict += f", {path:.1%} of its scale along the {carrier}" if path is not None else ""
            verdict += _through_rnns(others)
        elif measure >= VANISHED:
            verdict = "most of the gradient is lost on the way back"
        else:
            verdict = "the gates close the path that carries the gradient" if scale else "the gradient has vanished"
        return f"**{run.label}**: {'; '.join(p for p in (said, scale) if p)}: {verdict}."
    sigma = _latest(run, "sigma_max_whh")
    if sigma is None:
        return None
    weights, slopes = f"σ_max(W_hh) is {sigma:.2g}", f"the mean tanh slope is {slope:.2g}"
    if jac is not None and jac >= FADED:
        reading = f"{said}: {weights} and {slopes}, and the chain of Jacobians still spans the {T} steps"
    elif sigma >= 1 and slope < SATURATED_SLOPE:
        reading = f"{weights}, yet {slopes}: saturation, not the weights, stops the gradient"
    elif sigma < 1 and slope >= SATURATED_SLOPE:
        reading = f"{slopes}, but {weights}: each step can shrink the gradient by that much; the weights stop it"
    elif sigma < 1:
        reading = f"{weights} and {slopes}: the weights and saturation both stop the gradient"
    else:
        reading = f"{weights} and {slopes}: neither alone is below 1; their product over {T} steps stops the gradient"
    if said and not reading.startswith(said):
        reading = f"{said}; {reading}"
    return f"**{run.label}**: {reading}."
