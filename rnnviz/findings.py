"""Plain-language readings of a run, computed from its recorded numbers (shown under the charts)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import cells, words
from .config import WATCHED
from .store.status import Status

VANISHED = 1e-6  # a gradient ratio below this between t = 1 and t = T: nothing reaches the start
FADED = 1e-2  # below this share of the last step's gradient, most of it is lost before t = 1
SMALL_PART = 1e-1  # from FADED to this, what flows back is a small part of the gradient at t = T

# The one verdict on how much gradient reaches t = 1, by level of the measured ratio ||dL/dh_1|| / ||dL/dh_T||
# (what the heatmap and the curve draw): every reading that says whether the gradient reaches the start takes
# its words from here, so no two pages can say opposite things about one run.
GROWN = 10.0  # above this, the gradient grows on its way back to t = 1: it explodes
UNDERFLOWED, GONE, FADING, FLOWS, GROWS = "underflowed", "vanished", "fading", "flows", "grows"
VERDICT = {
    UNDERFLOWED: "it underflowed to 0 (below float32's smallest number)",
    GONE: "it has vanished: the first time steps no longer steer learning",
    FADING: "most of it is lost on the way back",
    FLOWS: "it still flows back",
    GROWS: "it grows on the way back: the gradient explodes",
}


def level(ratio: float) -> str:
    """The verdict's level of a gradient ratio."""
    if ratio == 0:
        return UNDERFLOWED
    if ratio < VANISHED:
        return GONE
    if ratio < FADED:
        return FADING
    return FLOWS if ratio <= GROWN else GROWS


RECENT = 5  # a reading's gradient numbers: the median over this many latest probes (see `recent_ratios`)


def verdict(ratio: float, T: int, probes: int = 1) -> str:
    """The sentence every reading says about the gradient reaching t = 1; with `probes`, which probes the ratio is
    the median of."""
    over = f" (median of the last {probes} probes)" if probes > 1 else ""
    if ratio == 0:
        return f"none of the gradient at t = {T} reaches t = 1{over}: {VERDICT[UNDERFLOWED]}"
    said = VERDICT[level(ratio)]
    if level(ratio) == FLOWS and ratio < SMALL_PART:
        said = "only a small part of it still flows back"  # 0.013 is 98.7% lost: "it still flows back" misread it
    return f"the gradient reaching t = 1 is {words.ratio(ratio)} times the one at t = {T}{over}: {said}"


def recent_ratios(flow: np.ndarray) -> np.ndarray:
    """||dL/dh_1|| / ||dL/dh_T|| at each of the last RECENT probes that measured one (a finite gradient, not 0 at
    T). One probe batch to the next the ratio moves by decades (the blog RNN read 5.3 × 10⁻⁴, then 0.014 a
    second later), so a reading of the latest alone flipped its verdict between probes while training."""
    if flow.size == 0:
        return np.zeros(0)
    last = flow[-RECENT:]
    valid = np.isfinite(last).all(axis=1) & (last[:, -1] > 0)
    return last[valid, 0].astype(np.float64) / last[valid, -1]


def median(values: np.ndarray) -> float:
    """The lower median: a value that was measured (an even count's mean of two could read an underflow to 0 as
    a small number, or the other way round)."""
    return float(np.sort(values)[(len(values) - 1) // 2])


def gradient_ratio(flow: np.ndarray) -> float | None:
    """||dL/dh_1|| / ||dL/dh_T||, the median over the last RECENT probes: how much gradient reaches the first time
    step, as it trends, not as one probe batch happened to measure it."""
    ratios = recent_ratios(flow)
    return median(ratios) if len(ratios) else None


class Reach(NamedTuple):
    """The gradient reaching t = 1 over the latest probes shown: the ratio (their median), its level, T (the
    probe's length), how many probes it is the median of, and the steps of the first and last of them."""

    ratio: float
    level: str
    T: int
    probes: int = 1
    since: int = 0
    last: int = 0


def reach(run) -> Reach | None:
    """How much gradient reaches t = 1 over the latest probes shown, None before the first probe."""
    steps, flow = run.series("grad_h")
    ratios = recent_ratios(flow)
    if not len(ratios):
        return None
    ratio = median(ratios)
    return Reach(ratio, level(ratio), flow.shape[1], len(ratios), int(steps[-RECENT:][0]), int(steps[-1]))


def gradient_reading(flow: np.ndarray) -> str | None:
    """How much of the last step's gradient reaches the first time step, over the latest probes."""
    ratios = recent_ratios(flow)
    if not len(ratios):
        return None
    return verdict(median(ratios), flow.shape[1], len(ratios))


def evaluated(run) -> str:
    """The scalar of a run's accuracy curve during training: validation_accuracy; test_accuracy for a run
    recorded before rnnviz held out a validation split (it evaluated the test split during training); for a loop
    recorded with `rnnviz.watch`, which evaluates nothing unless its loop records it, the batch accuracy it was
    given (`step(loss, accuracy=...)`)."""
    names = run.scalar_names()
    if "validation_accuracy" in names:
        return "validation_accuracy"
    if "test_accuracy" in names and run.cfg.dataset != WATCHED:
        return "test_accuracy"
    return "accuracy" if run.cfg.dataset == WATCHED else "validation_accuracy"


def _tail(values: np.ndarray, n: int = 50) -> np.ndarray:
    """The last n recorded values (NaN is no record)."""
    return values[~np.isnan(values)][-n:]


def saturated(run) -> float | None:
    """The share of |h| beyond the run's threshold at the latest probe shown, over every time step of the probe
    batch: what the Saturation page's histogram counts, and the runs table's saturated fraction."""
    got = saturated_at(run)
    return None if got is None else got[0]


def saturated_at(run) -> tuple[float, int] | None:
    """`saturated`, and the step of the probe that measured it; None before the first probe."""
    steps, sat = run.series("sat_t")
    return (float(sat[-1].mean()), int(steps[-1])) if len(sat) else None


def trails(run) -> bool:
    """Whether a run's latest probe shown is behind its step shown (a live run between probes)."""
    got = saturated_at(run)
    return got is not None and got[1] < int(run.row["step"])


BATCH_STEPS = 50  # a reading's batch accuracy: the mean over this many latest training steps (one batch is noisy)
HELD_OUT, BATCH = "held-out", "batch"  # the accuracy that readings of runs shown together quote first


def held_out(run) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of a run's accuracy evaluated on held-out digits during training (`evaluated`: validation,
    or test for a run recorded before the validation split); empty before the first evaluation, and for a
    watched loop, which evaluates nothing."""
    name = evaluated(run)
    if name == "accuracy":
        return np.zeros(0, np.int64), np.zeros(0)
    steps, acc = run.scalar(name)
    return steps[~np.isnan(acc)], acc[~np.isnan(acc)]


def quoted(runs) -> str:
    """The accuracy the readings of runs shown together quote first, one kind for all of them so that they compare:
    HELD_OUT where every run has been evaluated, else BATCH. The LSTM of the blog pair trains at half the RNN's
    pace, so for its first 500 steps it has no validation accuracy while the RNN has one, and a reading of its
    batch accuracy stood beside the RNN's validation accuracy as if the two were one measure."""
    return HELD_OUT if all(len(held_out(r)[0]) for r in runs) else BATCH


def batch_accuracy(run) -> tuple[float, str] | None:
    """The accuracy on the training batches a reading quotes, and what it is in words: the mean over the run's last
    BATCH_STEPS steps shown, or where it recorded fewer of them (a loop watched that passes it now and then),
    its latest; None where it records none."""
    last = int(run.row["step"])
    window = run.scalar_view("accuracy", (max(last - BATCH_STEPS + 1, 0), last), BATCH_STEPS)
    if (n := int(window.n.sum())) > 1:
        return float(window.sum.sum()) / n, f"the mean of its last {n} training batches"
    latest = run.scalar_view("accuracy", (0, last), 1)
    if not latest.n.sum():
        return None
    return float(latest.last[-1]), f"its training batch at step {int(latest.last_step[-1]):,}"


def accuracy_parts(run, kind: str) -> list[str]:
    """What a reading says of a run's accuracy during training, the `kind` quoted first (`quoted`): its batch
    accuracy, and its held-out accuracy's course (or when it is first evaluated)."""
    parts = []
    batch = batch_accuracy(run)
    if kind == BATCH and batch is not None:
        parts.append(f"batch accuracy {words.percent(batch[0])} ({batch[1]})")
    steps, acc = held_out(run)
    what = evaluated(run).split("_")[0]
    if len(acc):
        best_step, best = int(steps[acc.argmax()]), float(acc.max())
        last_step, last = int(steps[-1]), float(acc[-1])
        if best - last >= 0.1:
            fell = f"fell from {words.percent(best)} (step {best_step:,}) to {words.percent(last)} (step {last_step:,})"
            parts.append(f"{what} accuracy {fell}")
        else:
            parts.append(f"{what} accuracy {words.percent(last)} at step {last_step:,}")
    elif run.cfg.dataset != WATCHED and batch is not None:
        parts.append(f"no {what} accuracy yet (evaluated every {run.cfg.eval_every:,} steps)")
    elif run.cfg.dataset == WATCHED and batch is None:
        parts.append("no accuracy recorded: this loop evaluates nothing (pass `step(loss, accuracy=...)`)")
    return parts


def of(run, shown=()) -> str:
    """One sentence about a run (a dashboard RunView or an API Run): saturation, the course of its accuracy
    during training (on the validation split), the final test accuracy, and the gradient at t = 1. Beside the
    `shown` runs read with it, its accuracy is quoted as theirs is (`quoted`). Reads only the arrays it needs:
    the dashboard calls it every second."""
    parts = []
    sat = saturated_at(run)
    if sat is not None:
        share, probe = sat
        said = f"{words.percent(share)} of hidden activations saturated (|h| > {run.cfg.saturation:g})"
        # a live run's latest probe trails its step: the share is of that probe, not of the step beside it; and
        # then every run read beside it names its probe too (said for one run of two, the other's share read as
        # of its step when it was of a probe as well)
        named = any(trails(r) for r in (run, *shown))
        parts.append(said + (f" at the probe of step {probe:,}" if named else ""))
    parts += accuracy_parts(run, quoted([run, *shown]))
    if evaluated(run) != "test_accuracy" and len(test := _tail(run.scalar("test_accuracy")[1], 1)):
        heads = [(k, _tail(run.scalar(f"test_accuracy_{k}")[1], 1)) for k in (128, 256)]
        said = ", ".join(f"first {k} digits {words.percent(v[-1])}" for k, v in heads if len(v))
        parts.append(f"test accuracy {words.percent(test[-1])}" + (f" ({said})" if said else ""))
    # with a loss at every step, h_1 gets its own loss's gradient: the long-range part is the last loss's alone
    last = run.series("grad_h_last")[1]
    gradient = gradient_reading(last if last.size else run.series("grad_h")[1])
    if gradient:
        parts.append(f"from the loss at the last step alone, {gradient}" if last.size else gradient)
    status, error = run.row["status"], run.row["error"]
    if status in (Status.DIVERGED, Status.FAILED, Status.INTERRUPTED) and error:
        parts.append(f"{status}: {error}")
    if not parts and getattr(run, "until", None) is not None:  # a replay's start, or the scrubber at step 0
        return f"**{run.label}**: nothing recorded by step {run.until:,}, the step shown (its records start at step 1)."
    if not parts:
        return f"**{run.label}**: no steps recorded yet."
    return f"**{run.label}**: " + "; ".join(parts) + "."


SATURATED_SLOPE = 0.1  # a mean tanh slope below this: most units sit where tanh is flat


def _recent(run, name: str, probes: Reach) -> float | None:
    """A probe's scalar (a factor of the chain) as the reading's ratio is taken: the median of its values at the
    probes the ratio is the median of, read at every step of their window; None where none was recorded."""
    window = run.scalar_view(name, (probes.since, probes.last), probes.last - probes.since + 1)
    values = window.last[np.isfinite(window.last)]
    return median(values) if len(values) else None


def _through_rnns(others) -> str:
    """The same ratio ||dL/dh_1|| / ||dL/dh_T|| in the vanilla RNNs shown beside a gated run, for comparison (like
    with like: not their Jacobian chain, which the reading names apart): '' when none was probed."""
    said = [
        f"{words.ratio(got.ratio)} in {r.label}"
        for r in others
        if r.cfg.cell == "rnn" and (got := reach(r)) is not None
    ]
    return f" (against {', '.join(said)})" if said else ""


def why_reading(run, others=()) -> str | None:
    """Which factor of the chain of Jacobians decides the gradient reaching t = 1, over the latest probes (each
    number the median of the last RECENT, as the verdict's ratio is): the weights (sigma_max(W_hh)), saturation
    (the tanh slope), or, in an LSTM or GRU, the gate path. Whether the gradient reaches t = 1 at all is the one
    verdict of `reach` (the ratio the charts draw); the factors say why. A gated run is compared with the vanilla
    RNNs among `others` (the runs shown with it). None for a run recorded before these probes."""
    measured = reach(run)
    slope = None if measured is None else _recent(run, "tanh_slope_mean", measured)
    if slope is None or measured is None:
        return None
    ratio, lvl, T = measured[:3]  # T of the probe: a watched loop's sequences need not be 28 steps long
    said = verdict(ratio, T, measured.probes)
    jac = _recent(run, "jacobian_norm_t1", measured)
    chain = f"{words.gloss(chain_symbol(run))} is {words.ratio(jac)}" if jac is not None else ""
    gate = cells.path_gate(run.cfg.cell)
    if gate:
        path = _recent(run, "forget_path_t1", measured)
        kind, carrier = ("forget", "cell state") if gate == "f" else ("update", "update path")
        scale = (
            ""
            if path is None
            else f"along the {carrier} alone, the {kind} gates {gate} from t = 2 to {T} keep {words.ratio(path)} "
            "of it (their mean product)"
        )
        if lvl in (FLOWS, GROWS):
            said += _through_rnns(others)
            # what the gate path concludes about a gradient that reaches t = 1 (the paragraph ended on the
            # path's number, with no conclusion)
            if path is not None:
                scale += (
                    f": the open {kind} gates carry it along the {carrier}"
                    if path >= FADED
                    else f": it reaches t = 1 along other paths than the {carrier} alone"
                )
        elif path is not None and path < FADED:
            said += f"; the {kind} gates close the {carrier}'s path"
        return f"**{run.label}**: {'; '.join(p for p in (said, chain, scale) if p)}."
    sigma = _recent(run, "sigma_max_whh", measured)
    if sigma is None:
        return None
    return f"**{run.label}**: {'; '.join(p for p in (said, chain, rnn_cause(lvl, sigma, slope, T)) if p)}."


def chart_probe(run) -> tuple[int, float | None, float | None] | None:
    """The probe the Why chart beside a reading draws (the latest shown; the step its title names), with the two
    numbers the reading quotes as that chart draws them at t = 1: ||dL/dh_1|| / ||dL/dh_T|| (None where
    ||dL/dh_T|| is 0 or not finite: no line) and the chain ||dh_T/dh_1|| (None where not recorded)."""
    titled, flow = run.series("step_gain")[0], run.series("grad_h")[1]
    if not len(titled) or not len(flow):  # the chart draws nothing without both
        return None
    g = flow[-1].astype(np.float64)
    ratio = float(g[0] / g[-1]) if np.isfinite(g[[0, -1]]).all() and g[-1] > 0 else None
    chain = run.series("jacobian_norm")[1]
    return int(titled[-1]), ratio, float(chain[-1][0]) if len(chain) else None


def chain_symbol(run) -> str:
    """The chain of Jacobians from t = 1 to T, as a reading names it for the run's cell."""
    return "||d(h_T, c_T)/d(h_1, c_1)||" if run.cfg.cell == "lstm" else "||dh_T/dh_1||"


def chart_note(run) -> str | None:
    """Beside a Why reading, which quotes medians, the one probe its chart draws with that probe's own numbers: a
    viewer read 3.8 × 10⁻⁴ in the text over 1.9 × 10⁻² on the chart (the blog RNN at step 2,500) with neither
    attributed. None where the reading quotes that probe alone (a run with one probe measured)."""
    measured, drawn = reach(run), chart_probe(run)
    if measured is None or drawn is None or measured.probes == 1:
        return None
    step, ratio, chain = drawn
    quoted = [words.ratio(measured.ratio)]
    there = (
        f"{words.gloss('||dL/dh_1|| / ||dL/dh_T||')} is {words.ratio(ratio)}"
        if ratio is not None
        else "||dL/dh_T|| is 0, so it draws no ratio"
    )
    median_chain = _recent(run, "jacobian_norm_t1", measured)
    if chain is not None and median_chain is not None:
        there += f" and {chain_symbol(run)} {words.ratio(chain)}"
        quoted.append(words.ratio(median_chain))
    medians = " and ".join(quoted) + (" are the medians" if len(quoted) > 1 else " is the median")
    return (
        f"Its chart draws one probe, step {step:,}, where {there}; the reading's {medians} of the "
        f"{measured.probes} probes of steps {measured.since:,} to {measured.last:,}."
    )


def rnn_cause(lvl: str, sigma: float, slope: float, T: int) -> str:
    """What a vanilla RNN's two factors conclude about its gradient at verdict level `lvl`: each Jacobian of the
    chain is W_hh scaled by the tanh slopes, so the weights stretch the gradient by up to sigma a step and
    saturation shrinks it by the slope."""
    weights = f"{words.gloss('σ_max(W_hh)')} is {words.ratio(sigma)}"
    slope_symbol = words.gloss("φ'")
    slopes = f"the mean tanh slope {slope_symbol} is {words.ratio(slope)}"
    if lvl == GROWS:
        return f"{weights} and {slopes}: the weights stretch it more than saturation shrinks it, step after step"
    if lvl == FLOWS and slope < SATURATED_SLOPE:
        carry = f"saturation shrinks it at each step, but the weights still carry it across the {T} steps"
        return f"{weights}, yet {slopes}: {carry}"
    if lvl == FLOWS and sigma < 1:
        return f"{weights} and {slopes}: each step can shrink it, yet across the {T} steps it is not stopped"
    if lvl == FLOWS:
        return f"{weights} and {slopes}: neither the weights nor saturation stops it across the {T} steps"
    if sigma >= 1 and slope < SATURATED_SLOPE:
        return f"{weights}, yet {slopes}: saturation, not the weights, stops the gradient"
    if sigma < 1 and slope >= SATURATED_SLOPE:
        return f"{slopes}, but {weights}: each step can shrink the gradient by that much; the weights stop it"
    if sigma < 1:
        return f"{weights} and {slopes}: the weights and saturation both stop the gradient"
    return f"{weights} and {slopes}: neither alone is below 1; their product over {T} steps stops the gradient"
