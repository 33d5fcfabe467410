"""The one exception type for operational failures (bad input files, git, GitHub, I/O)."""

from __future__ import annotations


class JitError(Exception):
    """An operational failure a user can fix. The CLI prints ``Error: <message>`` and exits 2."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} [{self.rule}]" if self.rule else base
