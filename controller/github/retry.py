"""Retries for forge calls: which calls may be repeated, how long to wait, and when to stop.

The rule: a read or an idempotent write may be retried after a 5xx or a timeout; a create or a
merge may not (its outcome is unknown, so the caller re-reads state instead). A secondary rate
limit (403 or 429 with ``Retry-After``) means GitHub did not process the request, so every call
may wait for it (capped) and try again.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class CallKind(enum.Enum):
    READ = "read"
    IDEMPOTENT = "idempotent"  # a write whose repetition has the same effect (a status, a PATCH)
    UNSAFE = "unsafe"  # a create or a merge: never repeated blindly


class Failure(enum.Enum):
    """How one attempt failed, as far as retrying is concerned."""

    RATE_LIMITED = "rate_limited"  # not processed: safe to repeat after the wait
    TRANSIENT = "transient"  # 5xx, timeout, dropped connection: outcome unknown
    FINAL = "final"  # any other answer: a clear outcome for the caller


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries per call, the first included
    backoff: float = 0.5  # seconds before the 2nd try; doubles, with jitter
    backoff_cap: float = 8.0
    retry_after_cap: float = 60.0  # never wait longer than this for a Retry-After
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        base = min(self.backoff * (2 ** (attempt - 1)), self.backoff_cap)
        jitter: float = 0.5 + random.random() / 2  # jitter, not crypto
        return float(base * jitter)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return float(value)
            except ValueError:
                return None
    return None


class Uncertain(Exception):
    """A call whose outcome is unknown (5xx or timeout on an unsafe call, or retries spent)."""

    def __init__(self, what: str, cause: BaseException) -> None:
        super().__init__(f"{what}: {cause}")
        self.what = what
        self.cause = cause


def call_with_retry(
    policy: RetryPolicy,
    kind: CallKind,
    what: str,
    fn: Callable[[], T],
    classify: Callable[[BaseException], tuple[Failure, float | None]],
) -> T:
    """Run ``fn`` under ``policy``. FINAL failures propagate unchanged; a transient failure
    that may not (or may no longer) be retried becomes ``Uncertain``."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            failure, retry_after = classify(exc)
            if failure is Failure.FINAL:
                raise
            may_retry = failure is Failure.RATE_LIMITED or kind is not CallKind.UNSAFE
            if not may_retry or attempt >= policy.attempts:
                raise Uncertain(what, exc) from exc
            policy.sleep(policy.delay(attempt, retry_after))
