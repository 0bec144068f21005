"""The quantity registry: every quantity rnnviz records, declared once (cf. Cockpit's cockpit/quantities/ and
TensorBoard's plugin folders). A quantity has a name, a kind, a title and an axis title, a log axis or not, the
cells it applies to, and how it is made: from the probe's one shared unrolled pass (`compute`, a function of
quantities.shared.Pass), from the arrays so recorded (`derive`, for a scalar), or by the training loop itself
(`source`). The probe records what the registry lists for a cell; views (rnnviz/views/) declare the quantities
they read, and their titles come from here. No torch here, so the dashboard can read the titles quickly.

Adding one: docs/adding-a-quantity.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..cells import CELLS, GATES

SCALAR, PER_STEP, PER_UNIT, HISTOGRAM = "scalar", "per time step", "per unit", "histogram"
KINDS = (SCALAR, PER_STEP, PER_UNIT, HISTOGRAM)
PROBE, STEP, EVALUATION, WATCHED_ONLY = "probe", "every step", "evaluation", "watched model"
STREAM = re.compile(r"^l\d+r?/")  # a watched model's layer and direction: streams.stream_name
ALL = (*CELLS, "custom")  # custom: a watched model's own cell (rnnviz.watch with step=...)


@dataclass(frozen=True)
class Quantity:
    """One recorded quantity, or a family of them: "{gate}" in a name stands for each of the cell's gates that
    `gates` keeps, "{param}" for each parameter, "{name}" for each tanh a custom cell names."""

    name: str
    kind: str  # one of KINDS
    title: str  # a chart's title, in words; {threshold} is the run's saturation threshold
    axis: str  # the value's axis title
    log: bool = False  # drawn on a log axis
    cells: tuple[str, ...] = ALL  # the cells it applies to
    source: str = PROBE  # PROBE: made by the probe's unrolled pass; else what records it
    # the probe's pass -> the tensor (or, for a family, {gate: tensor}); None where the pass does not give it
    compute: Callable[[Any], Any] | None = None
    derive: Callable[[dict[str, Any]], float | None] | None = None  # a probe scalar from the arrays recorded
    gates: Callable[[str], bool] = lambda g: True  # which of a cell's gates a "{gate}" family covers
    note: str = ""  # how it is made, in words (the docs table)

    @property
    def family(self) -> bool:
        return "{" in self.name

    @property
    def prefix(self) -> str:
        """The name up to its placeholder: "gate_mean_t/" for "gate_mean_t/{gate}"."""
        return self.name.split("{")[0]

    def names(self, cell: str) -> list[str]:
        """The names it is recorded under for a cell (a gate family: one per gate; a probe-time family of
        parameters or named tanhs: its pattern)."""
        if "{gate}" in self.name:
            return [self.name.format(gate=g) for g in GATES.get(cell, ()) if self.gates(g)]
        return [self.name]

    def matches(self, recorded: str) -> bool:
        """Whether a recorded name is this quantity (a watched model's stream records "l1r/grad_h" as "grad_h")."""
        name = STREAM.sub("", recorded)
        return name == self.name or (self.family and name.startswith(self.prefix) and len(name) > len(self.prefix))


@functools.cache
def _registry() -> dict[str, Quantity]:
    from .recorded import QUANTITIES  # the table imports this module's names

    return {q.name: q for q in QUANTITIES}


def registry() -> dict[str, Quantity]:
    """Every quantity, by name (families under their pattern)."""
    return _registry()


def find(name: str) -> Quantity | None:
    """The quantity a recorded name is (an exact name before a family's pattern; a watched model's stream's
    "l1r/grad_h" is "grad_h"), or None."""
    reg = _registry()
    name = STREAM.sub("", name)
    if name in reg:
        return reg[name]
    return next((q for q in reg.values() if q.family and q.matches(name)), None)


def of_cell(cell: str, source: str = PROBE) -> Iterator[Quantity]:
    """The quantities a cell's probe (or another source) records."""
    return (q for q in _registry().values() if cell in q.cells and q.source == source)


def titles(name: str, threshold: float) -> tuple[str, str] | None:
    """A recorded quantity's chart title and axis title, or None for a name the registry does not hold."""
    q = find(name)
    if q is None or q.family:
        return None
    return q.title.format(threshold=threshold), q.axis


def is_log(name: str) -> bool:
    """Whether a recorded quantity is drawn on a log axis."""
    q = find(name)
    return q is not None and q.log


def table() -> str:
    """The registry as the markdown table docs/adding-a-quantity.md holds (a test keeps the two the same)."""
    rows = ["| name | kind | title | axis | log | cells | made by |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for q in _registry().values():
        made = f"{q.source}: {q.note}" if q.note else q.source
        cells = "all" if q.cells == ALL else ", ".join(q.cells)
        cols = [f"`{q.name}`", q.kind, q.title, q.axis, "log" if q.log else "", cells, made]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |")
    return "\n".join(rows)
