"""Print the numbers docs/why-it-vanishes.md sets beside Cooijmans et al. 2017 (arXiv:1603.09025), figure 1.

1(b): the expected tanh'(x) for x ~ N(0, s^2) against s, and, for each tanh RNN of a store, the measured mean
slope on its probe batch beside that expectation at the measured std of its pre-activations, at the first
step and at the end. 1(a): ||dL/dh_t|| / ||dL/dh_T|| against t for the same runs, and for an untrained
pixel-by-pixel tanh RNN (784 steps, the paper's setting).

    python scripts/why_check.py STORE [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import checkpoints  # noqa: E402
from rnnviz import data as datamod  # noqa: E402
from rnnviz.config import preset  # noqa: E402
from rnnviz.models import build_model  # noqa: E402
from rnnviz.probes import probe  # noqa: E402
from rnnviz.store import Store  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


def expected_slope(std: float) -> float:
    """E[1 - tanh(x)^2] for x ~ N(0, std^2), by quadrature on a fine grid."""
    x = np.linspace(-12, 12, 200_001) * max(std, 1e-6)
    density = np.exp(-0.5 * (x / std) ** 2) / (std * np.sqrt(2 * np.pi))
    return float(np.trapezoid((1 - np.tanh(x) ** 2) * density, x))


def measured(model, x, y) -> tuple[float, float, np.ndarray]:
    """Pre-activation std, mean tanh slope and ||dL/dh_t|| / ||dL/dh_T|| on a probe batch."""
    arrays, _ = probe(model, x, y, 0.99, 10, jacobian_examples=0)
    with torch.no_grad():
        std = float(model.unrolled(x).preact.std())
    grad = arrays["grad_h"].astype(float)
    return std, float(arrays["tanh_slope"].mean()), grad / grad[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    slopes = ", ".join(f"s {s:g}: {expected_slope(s):.3f}" for s in (0.1, 0.5, 1, 2, 4))
    print(f"1(b): E[tanh'(x)], x ~ N(0, s^2): {slopes}")
    _, test = datamod.load("mnist", args.data_dir, progress=False)
    y = torch.from_numpy(test.labels[:100].astype(np.int64))
    with Store(args.store) as store:
        runs = store.runs()
        for run_id in sorted(runs.loc[runs["name"].str.startswith("blog-rnn"), "run_id"]):
            cfg = store.config(run_id)
            x = datamod.to_float(datamod.sequences(test.images[: cfg.probe_batch], cfg.seq_len))
            torch.manual_seed(cfg.seed)
            model = build_model(cfg)  # the weights of the first probe, before any update
            states = {"step 1": model.state_dict()}
            states["end"] = checkpoints.load(store.checkpoint_path(run_id))["model"]
            for when, state in states.items():
                model.load_state_dict(state)
                std, slope, ratio = measured(model, x, y[: len(x)])
                print(
                    f"run {run_id} (seed {cfg.seed}) {when}: pre-activation std {std:.2f}, mean tanh slope {slope:.3f} "
                    f"(Gaussian at that std {expected_slope(std):.3f}); ||dL/dh_t||/||dL/dh_T|| at t = 1, 7, 14, 21: "
                    + ", ".join(f"{ratio[t - 1]:.2g}" for t in (1, 7, 14, 21))
                )
    cfg = preset("pixel-rnn")
    x = datamod.to_float(datamod.sequences(test.images[:100], cfg.seq_len))
    torch.manual_seed(0)
    std, slope, ratio = measured(build_model(cfg), x, y)
    print(
        f"pixel-rnn (784 steps), untrained: pre-activation std {std:.2f}, mean tanh slope {slope:.3f}; "
        "||dL/dh_t||/||dL/dh_T|| at t = 1, 200, 400, 600, 700, 750: "
        + ", ".join(f"{ratio[t - 1]:.2g}" for t in (1, 200, 400, 600, 700, 750))
    )


if __name__ == "__main__":
    main()
