"""The digit inspector: one test digit read by a run's checkpointed model, time step by time step, and the
pure Plotly figures that show it (what the model holds, predicts and is sensitive to at every step)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from . import checkpoints, words
from . import data as datamod
from .config import RunConfig
from .data import DataError
from .figures import Style, axis, base_layout
from .models import SeqClassifier, build_model
from .store import Store

DEFAULT = Style()
# The ten digit classes in a qualitative palette that a projector keeps apart: Kelly's colours of maximum
# contrast (with near-black for his grey), each at least 35 CIELAB units from every other; a sequential scale
# (Cividis' navy to gold) put neighbouring digits 10 units apart, one blur on a washed-out screen. A marker shape
# per class tells them apart where colour alone would not (a grey print, a colour-blind viewer).
CLASS_COLORS = "#222222 #f3c300 #875692 #f38400 #a1caf1 #be0032 #c2b280 #008856 #e68fac #0067a5".split()
CLASS_SYMBOLS = "circle square diamond cross x triangle-up triangle-down star hexagon pentagon".split()
MAX_TIME_COLUMNS = 300  # time steps a units x time heatmap sends to the browser (T = 784 is strided)
PREDICT_LIMIT = 2000  # test digits searched for mistakes: bounded, so a 784-step model answers in seconds


@dataclass
class Inspection:
    """What the model does with one digit; every (T, ...) array is indexed by time step t - 1."""

    image: np.ndarray  # (28, 28) uint8
    label: int
    positions: np.ndarray  # (T, I) flat pixel indices read at each time step
    h: np.ndarray  # (T, H) hidden state
    probs: np.ndarray  # (T, C) class probabilities if the sequence ended after step t
    grad_x: np.ndarray  # (T,) ||dL/dx_t|| of the final loss
    cell: np.ndarray | None = None  # (T, H) LSTM cell state
    gates: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (T, H)

    @property
    def T(self) -> int:
        return len(self.h)

    @property
    def prediction(self) -> int:
        return int(self.probs[-1].argmax())

    def sensitivity_map(self) -> np.ndarray:
        """(28, 28): each pixel painted with ||dL/dx_t|| of the time step that reads it."""
        flat = np.zeros(784)
        flat[self.positions.reshape(-1)] = np.repeat(self.grad_x, self.positions.shape[1])
        return flat.reshape(28, 28)


@dataclass
class TestDigits:
    """The test split of a run's dataset, as images and as the sequences the run reads."""

    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,)
    sequences: torch.Tensor  # (N, T, I) uint8
    positions: np.ndarray  # (T, I)


def checkpointed_model(store: Store, run_id: int) -> tuple[SeqClassifier, int]:
    """The run's model at its latest checkpoint, and that checkpoint's step; DataError if there is none."""
    cfg = store.config(run_id)
    path = store.checkpoint_path(run_id)
    if not path.exists():
        raise DataError(
            f"run {run_id} has no checkpoint yet: rnnviz saves one every {cfg.checkpoint_every} steps and at the "
            "end (runs recorded with rnnviz.watch have none); pick another run or wait for its first checkpoint"
        )
    state = checkpoints.load(path)
    model = build_model(cfg)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as exc:
        raise DataError(f"{path}: does not fit run {run_id}'s model ({exc})") from None
    return model.eval(), int(state["step"])


def test_digits(cfg: RunConfig) -> TestDigits:
    """The test digits of the run's dataset, read the way the run reads them (view, chunk, permutation); a
    DataError for a run of another task, which reads no digit or reads blank steps after it."""
    if cfg.task != "mnist":
        raise DataError(
            f"this run learns the {cfg.task} task; the digit inspector follows runs that read a digit alone "
            "(task mnist). Its gradients over the whole sequence are on the Gradient flow page."
        )
    _, test = datamod.load(cfg.dataset, cfg.data_dir)
    perm = datamod.permutation(cfg.seed) if cfg.permute else None
    return TestDigits(
        test.images,
        test.labels,
        datamod.sequences(test.images, cfg.seq_len, perm),
        datamod.reading_order(cfg.seq_len, perm),
    )


@torch.no_grad()
def predictions(model: SeqClassifier, sequences: torch.Tensor, limit: int = PREDICT_LIMIT) -> np.ndarray:
    """Predicted classes of the first `limit` sequences (fused pass, in batches)."""
    head = sequences[:limit]
    out = [model(datamod.to_float(head[s : s + 500]))[0].argmax(1) for s in range(0, len(head), 500)]
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


def inspect(model: SeqClassifier, digits: TestDigits, index: int) -> Inspection:
    """Read test digit `index` with the unrolled pass; take dL/dx_t of the loss on its true label."""
    if not 0 <= index < len(digits.labels):
        raise IndexError(f"test digit {index} does not exist; pick 0 to {len(digits.labels) - 1}")
    x = datamod.to_float(digits.sequences[index : index + 1]).requires_grad_(True)  # (1, T, I)
    label = int(digits.labels[index])
    trace = model.unrolled(x)
    # the gradient with respect to the input only: the (cached, shared) model's .grad stays untouched
    (grad_x,) = torch.autograd.grad(F.cross_entropy(trace.logits, torch.tensor([label])), x)
    hs = torch.stack(trace.hs, 1)  # (1, T, H)
    with torch.no_grad():
        probs = torch.softmax(model.head(hs[0]), -1)  # (T, C)

    def np_(a: torch.Tensor) -> np.ndarray:
        return a.detach()[0].numpy()

    return Inspection(
        image=digits.images[index],
        label=label,
        positions=digits.positions,
        h=np_(hs),
        probs=probs.numpy(),
        grad_x=grad_x[0].norm(dim=1).numpy(),
        cell=np_(trace.cs) if trace.cs is not None else None,
        gates={name: np_(v) for name, v in trace.gates.items()},
    )


# ---- figures ----
def _image_axes(style: Style) -> dict:
    """Square pixels, row 0 at the top, a frame and no ticks; the image fills its column's height."""
    frame = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False, showline=True, mirror=True)
    return dict(
        xaxis=dict(frame, range=[-0.5, 27.5], constrain="domain"),
        yaxis=dict(frame, range=[27.5, -0.5], scaleanchor="x"),
        height=style.height,
        margin=dict(l=10, r=10, t=60, b=10),
    )


def reading_figure(insp: Inspection, t: int, key: str = "digit", style: Style = DEFAULT) -> go.Figure:
    """The digit with the pixels read so far bright, the rest dimmed, and step t's pixels framed."""
    read = np.zeros(784, bool)
    read[insp.positions[:t].reshape(-1)] = True
    shown = np.where(read.reshape(28, 28), insp.image, insp.image * 0.25)
    now = insp.positions[t - 1]
    frame = go.Scatter(
        x=now % 28,
        y=now // 28,
        mode="markers",
        marker=dict(symbol="square-open", size=max(6, 300 // 28), color="#d62728", line=dict(width=2)),
        hoverinfo="skip",
        showlegend=False,
    )
    image = go.Heatmap(z=shown, colorscale="Greys", reversescale=False, zmin=0, zmax=255, showscale=False)
    layout = base_layout(style, f"Digit (label {insp.label}): time step {t} of {insp.T}", key, **_image_axes(style))
    return go.Figure(data=[image, frame], layout=layout)


def sensitivity_figure(insp: Inspection, key: str = "digit-sens", style: Style = DEFAULT) -> go.Figure:
    """||dL/dx_t|| painted onto the pixels each step reads, with the digit's outline on top."""
    sens = insp.sensitivity_map()
    heat = go.Heatmap(
        z=sens,
        colorscale="Inferno",
        colorbar=dict(title="||dL/dx_t||", title_side="right"),
        hovertemplate="row %{y}, column %{x}<br>||dL/dx_t|| = %{z:.3g}<extra></extra>",
    )
    outline = go.Contour(
        z=insp.image.astype(float),
        contours=dict(start=100, end=100, coloring="none"),
        line=dict(color="#7fdbff", width=2),
        showscale=False,
        hoverinfo="skip",
    )
    title = "||dL/dx_t||, painted on the pixels each step reads"
    return go.Figure(data=[heat, outline], layout=base_layout(style, title, key, **_image_axes(style)))


def _time_columns(T: int) -> np.ndarray:
    """Indices of the time steps a heatmap shows: every one up to MAX_TIME_COLUMNS, evenly strided above."""
    return np.unique(np.linspace(0, T - 1, min(T, MAX_TIME_COLUMNS)).round().astype(int))


def units_heatmap(
    values: np.ndarray,
    t: int,
    title: str,
    key: str,
    style: Style = DEFAULT,
    zrange: tuple[float, float] | None = None,
    colorscale: str = "RdBu",
) -> go.Figure:
    """A (T, H) array as units (up) by time step (across), with a line at time step t."""
    cols = _time_columns(len(values))
    finite = values[np.isfinite(values)]
    if zrange is None:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        zrange = (-bound, bound)
    heat = go.Heatmap(
        x=cols + 1,
        z=values[cols].T,
        zmin=zrange[0],
        zmax=zrange[1],
        colorscale=colorscale,
        hovertemplate="t = %{x}<br>unit %{y}<br>%{z:.3f}<extra></extra>",
    )
    layout = base_layout(style, title, key, xaxis=axis("time step t"), yaxis=axis("unit"))
    layout["shapes"] = [dict(type="line", x0=t, x1=t, y0=0, y1=1, yref="paper", line=dict(color="black", width=2))]
    return go.Figure(data=[heat], layout=layout)


def answer(probs: np.ndarray) -> str:
    """The class a model answers from its probabilities (C,) and how sure it is, written one way wherever the
    inspector says it: '7 (13.3%)' (its verdict read '7 (13.3%)' above a chart titled '7, 13%')."""
    return f"{int(probs.argmax())} ({words.percent(float(probs.max()))})"


def probabilities_figure(insp: Inspection, t: int, key: str = "digit-probs", style: Style = DEFAULT) -> go.Figure:
    """The class probabilities if the sequence stopped after each step: how the decision forms."""
    steps = np.arange(1, insp.T + 1)
    traces = [
        go.Scatter(
            x=steps,
            y=insp.probs[:, c],
            name=f"{c}" + (" (true)" if c == insp.label else ""),
            mode="lines+markers",
            line=dict(color=CLASS_COLORS[c], width=4 if c == insp.label else 1.5),
            # a few markers a line (T is 28 to 784), enough to tell it by its shape
            marker=dict(symbol=CLASS_SYMBOLS[c], size=11 if c == insp.label else 8, maxdisplayed=12),
        )
        for c in range(insp.probs.shape[1])
    ]
    title = f"Class probabilities after each step; after step {t}: {answer(insp.probs[t - 1])}"
    layout = base_layout(style, title, key, xaxis=axis("time step t"), yaxis=axis("probability", range=[0, 1.02]))
    layout["shapes"] = [dict(type="line", x0=t, x1=t, y0=0, y1=1, yref="paper", line=dict(color="black", width=2))]
    return go.Figure(data=traces, layout=layout)
