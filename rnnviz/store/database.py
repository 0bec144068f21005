"""The run store: one connection with the methods of each of its parts, one idea a module."""

from __future__ import annotations

from .queue import Queue
from .reads import Reads
from .records import Records

# The parts are mixins over one `Connection` (connection.py) because they share its state: the connection, the
# path its messages name, whether it is read-only, and the scalar names' ids committed so far. The levels and
# the schema hold no state of their own, so they are functions of an SQLite connection (levels.py, schema.py).


class Store(Queue, Records, Reads):
    """A connection to a run store; create one per process (or thread) that uses it."""
