"""The ``jitctl`` command line: one small module per command family.

Each command parses its options, calls the library and formats the result. ``app`` holds the
group, the global options and the shared option decorators, and ``app.COMMANDS`` says which
module defines each command: a command's module is imported only when the command is used, so
that start-up does not pay for every command's dependencies.
"""

from __future__ import annotations

from controller.cli.app import main

__all__ = ["main"]
