"""The values a run's settings choose from; the cells and their facts are rnnviz/cells.py's, re-exported here."""

from __future__ import annotations

# the cells and their facts live in rnnviz/cells.py (gates, the path gate, ...); GATES and TANH_GATES re-exported
from ..cells import CELLS, GATES, TANH_GATES  # noqa: F401

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
