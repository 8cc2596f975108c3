"""The command line, `python starter.py`: the parser and entry in `cli`, the commands by what
they touch (intake, inspect, actions, records), and what they share in `common`."""

from commands.cli import main, parser

__all__ = ["main", "parser"]
