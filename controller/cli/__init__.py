"""The ``jitctl`` command line: one small module per command family.

Each command parses its options, calls the library and formats the result. ``app`` holds the
group, the global options and the shared option decorators; importing this package registers
every command on it.
"""

from __future__ import annotations

from controller.cli import (
    audit,
    check,
    demo,
    entitlements,
    fmt,
    grants,
    init,
    lifecycle,
    lint,
    notice,
    plan,
)
from controller.cli.app import main
from controller.cli.github import approvals, doctor

main.add_command(approvals)
main.add_command(doctor)

__all__ = [
    "audit",
    "check",
    "demo",
    "entitlements",
    "fmt",
    "grants",
    "init",
    "lifecycle",
    "lint",
    "main",
    "notice",
    "plan",
]
