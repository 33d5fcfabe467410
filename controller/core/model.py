"""The values jitctl works with: grants, the catalog, findings, reviews and decisions.

Everything here is a frozen dataclass or an enum; nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

GRANTS_DIR = "grants"
GRANT_SUFFIX = ".hcl"
# an empty file that keeps grants/ in git; never a grant, never a finding
GRANTS_PLACEHOLDER = "grants/.gitkeep"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in one file. ``rule`` is a stable id documented in the README."""

    rule: str
    file: str
    line: int | None
    message: str
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "severity": self.severity.value,
        }


@dataclass(frozen=True)
class Grant:
    """One parsed, well-formed grant file ``grants/<id>.hcl``. Times are timezone-aware."""

    id: str
    path: str
    principal: str
    entitlement: str
    expires_at: datetime
    reason: str
    starts_at: datetime | None = None
    ticket: str | None = None
    # attribute name -> 1-based line number in the file (``"grant"`` is the block's line)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)
    # the duration the requester asked for, when the clock started at approval (a record:
    # expires_at is what counts)
    duration: timedelta | None = None

    def line_of(self, attribute: str) -> int:
        return self.lines.get(attribute, self.lines.get("grant", 1))


@dataclass(frozen=True)
class OpenRequest:
    """A request whose clock starts at approval: it asks for ``duration`` and has no
    ``expires_at`` yet. It becomes a grant only when jitctl merges it (``materialise``)."""

    id: str
    path: str
    principal: str
    entitlement: str
    duration: timedelta
    reason: str
    starts_at: datetime | None = None
    ticket: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def materialise(self, at: datetime, cap: timedelta | None) -> Grant:
        """The grant when approved and merged at ``at``: the clock starts at ``at`` (whole
        seconds, rounded down) or at ``starts_at`` if later, and runs for the duration asked,
        never longer than ``cap`` (the entitlement's max_duration)."""
        start = at.replace(microsecond=0)
        if self.starts_at is not None and self.starts_at > start:
            start = self.starts_at
        granted = self.duration if cap is None else min(self.duration, cap)
        lines = dict(self.lines)
        lines.setdefault("expires_at", lines.get("duration", lines.get("grant", 1)))
        return Grant(
            id=self.id,
            path=self.path,
            principal=self.principal,
            entitlement=self.entitlement,
            expires_at=start + granted,
            reason=self.reason,
            starts_at=self.starts_at,
            ticket=self.ticket,
            lines=lines,
            duration=self.duration,
        )


class GrantState(enum.StrEnum):
    PENDING = "pending"  # starts_at in the future
    ACTIVE = "active"
    EXPIRED = "expired"  # expires_at <= now


def grant_state(grant: Grant, now: datetime) -> GrantState:
    if grant.expires_at <= now:
        return _EXPIRED
    if grant.starts_at is not None and grant.starts_at > now:
        return _PENDING
    return _ACTIVE


def grant_states(
    expires_at: Sequence[datetime], starts_at: Sequence[datetime | None], now: datetime
) -> list[GrantState]:
    """``grant_state`` of each grant given as columns (its expires_at and starts_at)."""
    return [
        _EXPIRED if e <= now else _PENDING if s is not None and s > now else _ACTIVE
        for e, s in zip(expires_at, starts_at, strict=True)
    ]


# the members, looked up once (an enum member lookup is a descriptor call: a list of 100,000)
_EXPIRED, _PENDING, _ACTIVE = GrantState.EXPIRED, GrantState.PENDING, GrantState.ACTIVE


@dataclass(frozen=True)
class ApprovalRule:
    """At least ``count`` approvals from the logins or teams in ``from_``."""

    from_: tuple[str, ...]
    count: int

    def describe(self) -> str:
        return f"{self.count} of {', '.join(self.from_)}"

    def as_dict(self) -> dict[str, Any]:
        return {"from": list(self.from_), "count": self.count}


@dataclass(frozen=True)
class BreakGlass:
    """An entitlement's emergency path: granted without approval for at most ``max_duration``,
    then approved after the fact within ``review_within`` of the merge."""

    max_duration: timedelta
    review_within: timedelta


# the events a notification target may subscribe to (catalog ``notify: [{events: [...]}]``)
NOTIFY_EVENTS = (
    "requested",
    "approved",
    "granted",
    "expiring",
    "expired",
    "revoked",
    "break-glass",
    "failed",
    "drift",
    "closed",
)


@dataclass(frozen=True)
class NotifyTarget:
    """One notification target: a URL in the catalog (not a secret) or the name of an
    environment variable holding it (secret URLs), and the events it receives."""

    url: str | None
    url_env: str | None
    events: frozenset[str]
    line: int | None = None

    @property
    def name(self) -> str:
        """How messages name this target without revealing a secret URL."""
        return f"${self.url_env}" if self.url_env else f"{self.url}"


@dataclass(frozen=True)
class Entitlement:
    name: str
    description: str
    module: str
    target: Mapping[str, Any] = field(compare=False, hash=False)
    max_duration: timedelta
    approvals: tuple[ApprovalRule, ...]
    requesters: tuple[str, ...] | None = None  # None: anyone with an identity may ask
    break_glass: BreakGlass | None = None  # None: no emergency path


@dataclass(frozen=True)
class AuditTrust:
    """Whom the audit trusts as jitctl's own hand (catalog key ``audit``).

    ``signers``: a file in the repository in git's SSH allowed-signers format; a commit whose
    SSH signature verifies against it (at the commit's date) was made by jitctl's local signer.
    ``github_keys``: a file in the repository holding GitHub's OpenPGP commit-signing key
    (web-flow); a commit it signed was made by GitHub, and its author is GitHub's record of who
    made it. ``github_bots``: the GitHub App bot logins (``jitctl[bot]``) whose GitHub-signed
    commits are jitctl's merges.
    """

    signers: str | None = None
    github_keys: str | None = None
    github_bots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    version: int
    default_max_duration: timedelta
    default_min_approvals: int
    identities: Mapping[str, tuple[str, ...]] = field(compare=False, hash=False)
    teams: Mapping[str, tuple[str, ...]] = field(compare=False, hash=False)
    entitlements: Mapping[str, Entitlement] = field(compare=False, hash=False)
    notify: tuple[NotifyTarget, ...] = ()
    request_ttl: timedelta = timedelta(hours=24)  # an open request PR older than this is closed
    audit: AuditTrust = field(default_factory=AuditTrust)


class ReviewState(enum.StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class Review:
    login: str
    state: ReviewState
    commit: str  # the head sha the review was given on
    submitted_at: datetime | None = None
    id: int = 0  # forge order; later reviews have larger ids


class ChangeKind(enum.StrEnum):
    REQUEST = "request"
    EXTENSION = "extension"
    REVOCATION = "revocation"
    EXPIRY = "expiry"
    MIXED = "mixed"
    NONE = "none"


class FileChange(enum.StrEnum):
    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"


@dataclass(frozen=True)
class GrantFile:
    """The result of reading one file under ``grants/``: a grant, or the findings that stop it."""

    path: str
    grant: Grant | None
    findings: tuple[Finding, ...] = ()
    # a well-formed request that asks for a duration from approval (no expires_at yet); such a
    # file is never a grant by itself (``grant`` is None, with a ``grant.unmaterialised`` error)
    open: OpenRequest | None = None
