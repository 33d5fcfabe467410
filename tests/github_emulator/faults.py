"""Fault injection: make the next matching request(s) fail the way GitHub fails."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["5xx", "rate_limit", "timeout", "merge_500_after_merge", "move_head", "push"]
FAULT_KINDS: tuple[str, ...] = (
    "5xx",
    "rate_limit",
    "timeout",
    "merge_500_after_merge",
    "move_head",
    "push",  # run the fault's ``action`` (e.g. a contributor's push), then handle the request
)

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "0000:0000:0000000:0000000:00000000."
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)


@dataclass
class Fault:
    """One armed fault: ``method`` ("*" = any) and ``path_regex`` (searched in the path)."""

    method: str
    path_regex: re.Pattern[str]
    kind: str
    remaining: int
    status: int = 502  # for 5xx
    retry_after: int = 60  # for rate_limit
    hold: float = 1.5  # for timeout: seconds to hold before dropping the connection
    fired: int = 0
    action: Callable[[], object] | None = None  # for push


@dataclass
class FaultPlan:
    """The armed faults, consumed in the order they were injected."""

    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; one of {FAULT_KINDS}")
        if fault.kind == "5xx" and not 500 <= fault.status <= 599:
            raise ValueError(f"5xx fault needs a 5xx status, got {fault.status}")
        with self._lock:
            self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this request, consumed once."""
        with self._lock:
            for fault in self.faults:
                if fault.remaining <= 0:
                    continue
                if fault.method not in ("*", method.upper()):
                    continue
                if fault.path_regex.search(path):
                    fault.remaining -= 1
                    fault.fired += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self.faults if f.remaining > 0]
