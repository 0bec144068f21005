"""`python -m rnnviz` and the `rnnviz` console script: the command line lives in rnnviz/cli/."""

from __future__ import annotations

import sys

from .cli import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    sys.exit(main())
