"""Caps on what one click in the dashboard can start, and the cores they share."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .run import RunConfig
from .settings import ConfigError


def cores() -> int:
    """The CPU cores of this machine, at least 1."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Limits:
    """Caps on what one click in the dashboard can start, so a stray value cannot exhaust the machine.
    Set with $RNNVIZ_MAX_HIDDEN, $RNNVIZ_MAX_STEPS, $RNNVIZ_MAX_BATCH and $RNNVIZ_MAX_ACTIVE_RUNS."""

    hidden_size: int = 1024  # largest hidden layer
    steps: int = 200_000  # longest run
    batch_size: int = 2048  # largest batch
    # Runs training at once: one per core, so that each gets a core of its own (more only slow each other).
    active_runs: int = field(default_factory=cores)

    @staticmethod
    def env_name(field_name: str) -> str:
        """The environment variable that sets a cap: hidden_size -> RNNVIZ_MAX_HIDDEN."""
        return f"RNNVIZ_MAX_{field_name.upper().removesuffix('_SIZE')}"

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in dataclasses.fields(cls):
            name = cls.env_name(f.name)
            if os.environ.get(name):
                try:
                    values[f.name] = int(os.environ[name])
                except ValueError:
                    raise ConfigError(f.name, f"${name} must be a whole number, got {os.environ[name]!r}") from None
        return cls(**values)

    def check(self, cfg: RunConfig) -> None:
        """Raise ConfigError naming every field of cfg above its cap."""
        found = self.problems(cfg)
        if found:
            raise ConfigError.of(found)

    def problems(self, cfg: RunConfig) -> list[ConfigError]:
        """Every field of cfg (a config of the right types) above its cap."""
        found = []
        for name in ("hidden_size", "steps", "batch_size"):
            cap, value = getattr(self, name), getattr(cfg, name)
            if value > cap:
                found.append(
                    ConfigError(name, f"at most {cap} here (got {value}); raise ${self.env_name(name)} to allow more")
                )
        return found
