"""How one run setting is described, once: its help, the values it may take (its Rule), its section and how the
Train form shows it. Validation, the command line's flags and the Train form all read a setting from here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A config value a user gave is out of range; `field` names it for forms and flags. An error raised for
    several values (`ConfigError.of`) carries every one in `problems`, and the first one's field and message."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.problems = [self]

    @classmethod
    def of(cls, problems: list[ConfigError]) -> ConfigError:
        """One error to raise for every problem found, so a form or a command line can name them all."""
        if len(problems) == 1:
            return problems[0]
        error = cls(problems[0].field, problems[0].message)
        error.problems = list(problems)
        error.args = ("; ".join(str(p) for p in problems),)
        return error


@dataclass(frozen=True)
class Rule:
    """The values a config field may take: validation, the command line's flags and the Train form all read
    it from the field's description (`setting`). Bounds are numbers; `why` says what the bound is for (shown
    with a one-sided bound, or with the upper one of two)."""

    choices: tuple[str, ...] = ()
    low: float | None = None
    low_open: bool = False  # > low, not >= low
    high: float | None = None
    high_open: bool = False
    high_text: str = ""  # how the upper bound reads, for one too long to print
    why: str = ""
    finite: bool = False

    def problem(self, v: Any) -> str | None:
        """What is wrong with a value of the right type, or None."""
        if self.choices and v not in self.choices:
            return f"unknown value {v!r}; choose one of {', '.join(self.choices)}"
        if self.finite and not math.isfinite(v):
            return f"must be a finite number, got {v}"
        # written as "not ok" so that NaN is out of every range
        low_bad = self.low is not None and not (v > self.low if self.low_open else v >= self.low)
        high_bad = self.high is not None and not (v < self.high if self.high_open else v <= self.high)
        if self.low is not None and self.high is not None and not self.why and (low_bad or high_bad):
            return f"must be between {self.low:g} and {self._high()}, got {v}"
        if low_bad:
            why = f" ({self.why})" if self.why and self.high is None else ""
            return f"must be {'>' if self.low_open else '>='} {self.low:g}{why}, got {v}"
        if high_bad:
            return f"must be at most {self.high:g} ({self.why}), got {v:g}"
        return None

    def bounds(self) -> str:
        """The range in words, for a field's tooltip ("> 0, at most 10"); empty for a field without bounds."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'below' if self.high_open else 'at most'} {self._high()}")
        if self.finite:
            parts.append("a finite number")
        return ", ".join(parts)

    def _high(self) -> str:
        return self.high_text or f"{self.high:g}"


POSITIVE = Rule(low=0, low_open=True)

# The parts of a run a setting belongs to; the Train form lays its fields out by them.
SECTIONS = ("run", "model", "optimisation", "task", "view", "data", "execution", "probe", "evaluation", "saturation")


@dataclass(frozen=True)
class Form:
    """How the Train form shows a setting where its type and rule do not say. A number's `step` makes it a
    number field (a float without one is typed as text: a learning rate spans decades); `applies` names the
    setting and value it applies to (greyed out otherwise); `label` is for a name that does not read as words."""

    step: float | None = None
    format: str | None = None
    label: str = ""
    placeholder: str = ""
    applies: tuple[str, str] | None = None


def setting(default: Any, help: str, rule: Rule = Rule(), *, section: str, form: Form = Form()) -> Any:
    """A dataclass field described once: its help and its rule feed validation, the CLI flags and the form; its
    section and `form` place it in the form."""
    if section not in SECTIONS:
        raise ValueError(f"section {section!r} is not one of {', '.join(SECTIONS)}")
    return field(default=default, metadata={"help": help, "rule": rule, "section": section, "form": form})


def value_text(value: Any) -> str:
    """A setting's value as a run's name shows it: on/off, 0.001, 128."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)
