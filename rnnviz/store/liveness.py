"""Whether a run's trainer process still lives: by pid and, on Linux, the process's start time, so that a
pid the system reused for another process is not mistaken for the trainer."""

from __future__ import annotations

import os
from pathlib import Path


def proc_start(pid: int) -> str | None:
    """Start time of a live, non-zombie process (Linux /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def process_alive(pid: int | None, start: str | None) -> bool:
    if not pid:
        return False
    if Path("/proc/self/stat").exists():
        now = proc_start(pid)
        return now is not None and (start is None or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
