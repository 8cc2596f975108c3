"""The command line for intake systems, reviewers and operators: `python starter.py --help`.

The commands live in the `commands` package; this file only runs them.
"""

from __future__ import annotations

import asyncio

from commands import main, parser

__all__ = ["main", "parser"]

if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
