"""The Train page's settings: a widget for every RunConfig field, built from the field's description (its type,
choices, help, bounds, section and form hints) as the command line builds its flags, and the values read back
into a config with every problem found. A new RunConfig field gets its widget here with no other edit."""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnnviz import data as datamod
from rnnviz.config import ConfigError, Limits, RunConfig
from rnnviz.data import DataError

# Fields the form leaves out, and why; every other field of RunConfig gets a widget.
NOT_IN_FORM = {
    "name": "the buttons name the runs: the preset's name and what differs from it",
    "device": "the dashboard trains on the machine serving it, where auto picks CUDA if there is one",
}
# The form's rows: a heading (or none) and its columns, each holding its sections' fields, section by section,
# in field order within one.
LAYOUT: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("", (("model",), ("optimisation",), ("task", "view", "data", "execution"))),
    ("Diagnostics", (("probe",), ("evaluation",), ("saturation",))),
)


def layout(config: type = RunConfig) -> list[tuple[str, list[list[dataclasses.Field]]]]:
    """The fields of `config` the form shows, row by row and column by column. Raises ValueError for a field in
    no column of the layout, so that a new section cannot drop its fields unseen."""
    fields = [f for f in dataclasses.fields(config) if f.name not in NOT_IN_FORM]
    placed = {section for _, columns in LAYOUT for column in columns for section in column}
    lost = [f.name for f in fields if f.metadata["section"] not in placed]
    if lost:
        raise ValueError(f"fields in no column of the Train form: {', '.join(lost)}")
    return [
        (heading, [[f for section in column for f in fields if f.metadata["section"] == section] for column in columns])
        for heading, columns in LAYOUT
    ]


def label(f: dataclasses.Field) -> str:
    """A field's label: its form hint's, else its name in words ("Hidden size")."""
    return f.metadata["form"].label or f.name.replace("_", " ").capitalize()


def tooltip(f: dataclasses.Field) -> str:
    """A field's help, and its bounds in words where it has some."""
    bounds = f.metadata["rule"].bounds()
    return f"{f.metadata['help']}. Allowed: {bounds}." if bounds else f.metadata["help"]


def typed_as_text(f: dataclasses.Field) -> bool:
    """A float without a step is typed as text (a learning rate spans decades), and read back as a number."""
    return str(f.type) == "float" and f.metadata["form"].step is None


def widget(f: dataclasses.Field, base: RunConfig, key: str, disabled: bool) -> Any:
    """One field's widget, by its type and rule, showing `base`'s value; returns what it holds."""
    value, hint, choices = getattr(base, f.name), f.metadata["form"], f.metadata["rule"].choices
    common: dict[str, Any] = dict(key=key, help=tooltip(f), disabled=disabled)
    if str(f.type) == "bool":
        return st.checkbox(label(f), value=bool(value), **common)
    if choices:
        return st.selectbox(label(f), choices, index=choices.index(value), **common)
    if str(f.type) == "str":
        return st.text_input(label(f), value=value, placeholder=hint.placeholder or None, **common)
    if typed_as_text(f):
        return st.text_input(label(f), value=f"{value:g}", **common)
    if str(f.type) == "int":
        return st.number_input(label(f), value=int(value), step=int(hint.step or 1), **common)
    return st.number_input(label(f), value=float(value), step=float(hint.step), format=hint.format, **common)


def settings_ui(base: RunConfig, prefix: str) -> tuple[dict[str, Any], dict[str, DeltaGenerator]]:
    """Every field's widget, laid out by section and filled with `base`; returns the values chosen and, for each
    field, the slot under its widget where a problem with it is shown. Keys are `{prefix}-{field}`; the fields
    are those of `base`'s class (RunConfig, or a class extending it)."""
    values: dict[str, Any] = {}
    slots: dict[str, DeltaGenerator] = {}
    for heading, columns in layout(type(base)):
        if heading:
            st.markdown(f"**{heading}**")
        for column, fields in zip(st.columns(len(columns)), columns):
            with column:
                for f in fields:
                    applies = f.metadata["form"].applies  # greyed out unless the setting it needs has its value
                    disabled = applies is not None and values.get(applies[0], getattr(base, applies[0])) != applies[1]
                    values[f.name] = widget(f, base, f"{prefix}-{f.name}", disabled)
                    slots[f.name] = st.empty()
    return values, slots


def parse(values: dict[str, Any], base: RunConfig) -> tuple[RunConfig, list[ConfigError]]:
    """Form values to a config (named as `base`), and every problem with them: text fields that must be numbers,
    values out of range or above the caps, data that is not on this machine."""
    out = dict(values, name=base.name)
    problems = []
    for f in dataclasses.fields(base):
        if f.name not in values:
            continue
        if typed_as_text(f):
            try:
                out[f.name] = float(str(values[f.name]).strip())
            except ValueError:
                problems.append(ConfigError(f.name, f"must be a number, got {values[f.name]!r}"))
                out[f.name] = getattr(base, f.name)  # a number in its place, so the other fields are still checked
        elif str(f.type) == "int":
            out[f.name] = int(values[f.name])
    cfg = type(base).from_dict(out)
    problems += cfg.problems()
    reported = {p.field for p in problems}
    try:
        problems += [p for p in Limits.from_env().problems(cfg) if p.field not in reported]
    except ConfigError as exc:  # a cap set to no number in the environment
        problems.append(exc)
    order = [f.name for f in dataclasses.fields(base)]
    return cfg, sorted(problems + data_problems(cfg), key=lambda p: order.index(p.field))


@st.cache_data(ttl=10, show_spinner=False)
def located(name: str) -> str | None:
    found = datamod.locate(name)
    return str(found) if found else None


def data_problems(cfg: RunConfig) -> list[ConfigError]:
    """The data a config reads, if it is not on this machine."""
    if cfg.task == "adding":
        return []  # drawn from the seed
    if cfg.data_dir:
        try:
            datamod.check_dir(cfg.data_dir)
        except DataError as exc:
            return [ConfigError("data_dir", str(exc))]
    elif located(cfg.dataset) is None and cfg.dataset != "mnist":
        return [
            ConfigError(
                "dataset",
                f"{cfg.dataset} is not on this machine; run `python -m rnnviz data "
                f"--dataset {cfg.dataset} --download` or give a data directory",
            )
        ]
    elif located(cfg.dataset) is None:
        return [ConfigError("dataset", "MNIST is not on this machine: download it below or give a data directory")]
    return []
