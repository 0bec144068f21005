"""RunConfig, the one description of a training run, its validation, the caps and the named presets:
`from rnnviz.config import RunConfig, preset, ...` reaches every part."""

from __future__ import annotations

from .choices import (
    CELLS,
    DATASETS,
    DEVICES,
    GATES,
    HEAD_INITS,
    INITS,
    MAX_LR,
    NONLINEARITIES,
    OPTIMIZERS,
    TANH_GATES,
    TASKS,
    TEST_HEADS,
    VIEWS,
    WATCHED,
)
from .limits import Limits, cores
from .presets import (
    EXECUTION_ONLY,
    PRESET_HELP,
    PRESETS,
    REMEDIES,
    SGD_EPOCHS,
    UNNAMED,
    named_for_changes,
    preset,
    remedies,
    rnn_vs_lstm,
)
from .run import FIELDS, RunConfig, rule_of
from .settings import POSITIVE, SECTIONS, ConfigError, Form, Rule, setting, value_text

__all__ = [
    "CELLS",
    "DATASETS",
    "DEVICES",
    "EXECUTION_ONLY",
    "FIELDS",
    "GATES",
    "HEAD_INITS",
    "INITS",
    "MAX_LR",
    "NONLINEARITIES",
    "OPTIMIZERS",
    "POSITIVE",
    "PRESETS",
    "PRESET_HELP",
    "REMEDIES",
    "SECTIONS",
    "SGD_EPOCHS",
    "TANH_GATES",
    "TASKS",
    "TEST_HEADS",
    "UNNAMED",
    "VIEWS",
    "WATCHED",
    "ConfigError",
    "Form",
    "Limits",
    "Rule",
    "RunConfig",
    "cores",
    "named_for_changes",
    "preset",
    "remedies",
    "rnn_vs_lstm",
    "rule_of",
    "setting",
    "value_text",
]
