"""What rnnviz knows of each recurrent cell, in one place: its gates, which are a tanh, the gate that scales the
path from t to T, the tanh that makes h_t, and the gates' names and colours in words."""

from __future__ import annotations

CELLS = ("rnn", "lstm", "gru")
# each cell's gates, in torch's order of the weight blocks ("custom": a watched cell's own step, none rnnviz reads)
GATES: dict[str, tuple[str, ...]] = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
# the gates that are a tanh, ranging over -1..1 (the LSTM's and the GRU's candidate); the others are sigmoids
TANH_GATES = ("g", "n")
# the gate that scales the path from t to T: the LSTM's cell state c_t (f), the GRU's h_t through z
PATH_GATE = {"lstm": "f", "gru": "z"}
GATE_NAMES = {
    "i": "input",
    "f": "forget",
    "g": "candidate (tanh)",
    "o": "output",
    "r": "reset",
    "z": "update",
    "n": "candidate (tanh)",
}
# the tanh whose slope phi' scales the gradient through h_t (a vanilla RNN's is its nonlinearity)
CELL_TANH = {"lstm": "tanh(c)", "gru": "tanh(n)"}


def gates_of(cell: str) -> tuple[str, ...]:
    """A cell's gates; () for the vanilla RNN and a custom cell."""
    return GATES.get(cell, ())


def path_gate(cell: str) -> str | None:
    """The gate that scales a gated cell's path from t to T; None for a cell without one."""
    return PATH_GATE.get(cell)


def histogrammed(cell: str) -> list[str]:
    """What the probe histograms of a cell's gates, and the LSTM's cell state "c"."""
    return [*gates_of(cell), "c"] if cell == "lstm" else list(gates_of(cell))


GATE_LOW, GATE_HIGH = 0.1, 0.9  # Karpathy et al. 2015: a left- / right-saturated sigmoid gate
