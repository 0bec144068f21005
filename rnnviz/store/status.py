"""A run's lifecycle, as the store records it: one `Status` for every state a run can be in."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The states of a run. A str enum: the store's `status` column holds these strings, so a status read
    back from SQLite or a DataFrame compares equal to its member."""

    # launched as part of a set, waiting for a free slot under the cap on runs training at once; it has no
    # process yet, so it is never reaped, and the next trainer to end (or the dashboard) starts it
    WAITING = "waiting"
    QUEUED = "queued"  # its trainer process is starting
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # a user asked it to stop; it kept what it recorded
    DIVERGED = "diverged"  # its loss became NaN or infinite
    FAILED = "failed"  # an error ended it; `error` says which
    INTERRUPTED = "interrupted"  # its trainer process died without finishing (killed, machine rebooted)


ACTIVE = (Status.QUEUED, Status.RUNNING)  # runs with a trainer process
UNFINISHED = (Status.WAITING, *ACTIVE)  # runs that have not ended: pages keep polling while one is picked
RESUMABLE = (Status.STOPPED, Status.FAILED, Status.INTERRUPTED)  # runs that can go on from their checkpoint
