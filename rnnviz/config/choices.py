"""The values a run's settings choose from, and the facts of each cell they name."""

from __future__ import annotations

CELLS = ("rnn", "lstm", "gru")
# each cell's gates, in torch's order of the weight blocks
GATES: dict[str, tuple[str, ...]] = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
# the gates that are a tanh, ranging over -1..1 (the LSTM's and the GRU's candidate); the others are sigmoids
TANH_GATES = ("g", "n")
NONLINEARITIES = ("tanh", "relu")
INITS = ("default", "glorot", "orthogonal", "identity")
HEAD_INITS = ("same", "normal")
OPTIMIZERS = ("adam", "sgd")
VIEWS = ("rows", "chunks", "pixels")
# what a run learns (rnnviz/tasks.py): MNIST's digits in a view; the digit, then blank steps; the adding problem
TASKS = ("mnist", "delayed", "adding")
DEVICES = ("auto", "cpu", "cuda")
DATASETS = ("mnist", "fashion-mnist")
WATCHED = "external"  # the dataset of runs recorded by rnnviz.watch (a user's own loop and data)
MAX_LR = 10.0
TEST_HEADS = (128, 256)  # the first test digits the TensorFlow tutorials report their accuracy on, besides the split
