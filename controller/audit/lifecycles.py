"""The audit core. PURE: commit records in, audit events, access windows and findings out.

Git history is the audit log. The adapter (``auditlog.py``) reads the default branch's
first-parent history into :class:`CommitRecord` values: who wrote and committed each commit,
when, its trailers, and the grant files it added, modified or deleted (diffed against the first
parent, parsed). :func:`replay` turns them into :class:`AuditEvent` records and
:class:`Window` values (one per access lifecycle), and :func:`build_report` cuts out a period,
applies the filters and adds the findings an auditor reads first.

The trailers jitctl writes (``git interpret-trailers`` semantics; keys are case-insensitive):

* a merge of a request/extension (a merge commit locally, a squash on GitHub):
  ``Jit-Kind: request|extension|mixed``, ``Jit-Grant: <id>`` (one per grant),
  ``Requested-by: <login>``, ``Approved-by: <login>`` (one per approval that counted) and, on
  GitHub, ``Jit-PR: <number>``;
* an expiry: ``Jit-Kind: expiry`` and ``Expired-Grant: <id> <expires_at>`` per grant;
* a revocation: ``Jit-Kind: revocation``, ``Jit-Grant: <id>``, ``Revoked-by: <login>``;
* the request commit on the branch (a local merge's second parent): ``Jit-Kind: request``,
  ``Jit-Grant: <id>``, ``Requested-by: <login>``.

A change to a grant without them is still reported, marked ``unreviewed``.

Events (``AuditEvent.event``): ``requested``, ``approved``, ``granted``, ``extended``,
``edited`` (an in-place change that is not an extension), ``renamed`` (the file moved to another
id, the access continues), ``revoked``, ``expired``. A lifecycle is keyed by (grant id, the
commit that granted it): ``lifecycle = "<id>@<sha[:12]>"``; re-adding an id after it ended starts
a new lifecycle; a principal or entitlement edited in place ends one lifecycle (``revoked``) and
starts another (``granted``), with an ``audit.edited-in-place`` finding.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from controller.core.model import FileChange, Grant
from controller.core.times import format_duration, format_rfc3339, parse_rfc3339

__all__ = [
    "RULES",
    "AuditEvent",
    "AuditFinding",
    "AuditReport",
    "CommitRecord",
    "EventKind",
    "History",
    "LagStats",
    "PathChange",
    "Window",
    "build_report",
    "person",
    "replay",
]

# The finding rules of the audit report (stable ids, documented in the README).
RULES: dict[str, str] = {
    "audit.no-approval": "a grant or extension reached the default branch unapproved",
    "audit.removed-late": "a grant file was removed more than --late-after after its expires_at",
    "audit.overdue": "a grant file is still on the default branch after its expires_at",
    "audit.edited-in-place": "a principal, entitlement, reason or ticket edited in place",
    "audit.renamed": "a grant file was moved to another id (the access continued)",
    "audit.invalid-file": "a file under grants/ on the default branch is not a valid grant",
    "audit.live": "(info) access still live at the end of the report",
    "audit.break-glass-unreviewed": "(error) a break-glass grant was not approved after the fact "
    "within its review_within",
}


class EventKind(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    GRANTED = "granted"
    EXTENDED = "extended"
    EDITED = "edited"
    RENAMED = "renamed"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PathChange:
    """One file under grants/ changed by a commit, against its first parent."""

    path: str
    status: FileChange
    before: Grant | None = None  # the parsed grant in the first parent (None: absent/invalid)
    after: Grant | None = None  # the parsed grant in the commit (None: deleted/invalid)
    problem: str | None = None  # why the file in the commit is not a valid grant


@dataclass(frozen=True)
class CommitRecord:
    """One commit of the default branch's first-parent history, as git recorded it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: datetime
    committer_name: str
    committer_email: str
    committed_at: datetime
    subject: str = ""
    trailers: tuple[tuple[str, str], ...] = ()
    changes: tuple[PathChange, ...] = ()
    # a merge's second parent when it is read (its changes are not): where the request was made
    side: CommitRecord | None = None

    @property
    def author(self) -> str:
        return person(self.author_name, self.author_email)

    @property
    def committer(self) -> str:
        return person(self.committer_name, self.committer_email)

    def values(self, key: str) -> list[str]:
        """The values of trailer ``key`` (case-insensitive), in order."""
        k = key.lower()
        return [v.strip() for tk, v in self.trailers if tk.strip().lower() == k and v.strip()]

    def value(self, key: str) -> str | None:
        vs = self.values(key)
        return vs[0] if vs else None


@dataclass(frozen=True)
class AuditEvent:
    """One audit record. ``at`` is the committer date of ``commit``, the commit that did it."""

    event: EventKind
    grant: str
    lifecycle: str
    principal: str
    entitlement: str
    at: datetime
    actor: str
    commit: str
    pr: int | None = None
    approvers: tuple[str, ...] = ()
    expires_at: datetime | None = None
    reason: str | None = None
    ticket: str | None = None
    unreviewed: bool = False
    jit_kind: str | None = None
    previous: str | None = None  # renamed: the old id; edited: the attributes that changed
    lag_seconds: int | None = None  # revoked/expired after expires_at: how long after
    flags: tuple[str, ...] = ()  # the finding rules that point at this event
    # the duration asked for when the clock started at approval (``Grant.duration``)
    duration: timedelta | None = None


@dataclass(frozen=True)
class Window:
    """One access lifecycle: from the commit that granted it to the commit that removed it."""

    lifecycle: str
    grant: str  # the id at the end (renames)
    principal: str
    entitlement: str
    granted_at: datetime
    expires_at: datetime  # the last one (extensions)
    ended_at: datetime | None  # None: still on the branch
    end: EventKind | None  # revoked | expired | None
    end_commit: str | None = None
    unreviewed: bool = False

    @property
    def lag(self) -> timedelta | None:
        """How long the file outlived expires_at (None: removed before it, or not removed)."""
        if self.ended_at is None or self.ended_at < self.expires_at:
            return None
        return self.ended_at - self.expires_at


@dataclass(frozen=True)
class AuditFinding:
    rule: str
    severity: str  # "error" | "warning" | "info"
    grant: str
    lifecycle: str
    principal: str
    entitlement: str
    at: datetime
    commit: str | None
    message: str


@dataclass(frozen=True)
class BreakGlassGrant:
    """A grant merged without approval through break-glass: approve it by ``review_by``."""

    lifecycle: str
    grant: Grant
    granted_at: datetime
    review_by: datetime
    requester: str | None
    commit: str


@dataclass(frozen=True)
class History:
    events: tuple[AuditEvent, ...]
    windows: tuple[Window, ...]
    findings: tuple[AuditFinding, ...]
    break_glass: tuple[BreakGlassGrant, ...] = ()


@dataclass(frozen=True)
class LagStats:
    """Expiry lag (removal commit - expires_at) of the grants removed in the period."""

    count: int
    late: int
    p50: timedelta | None
    p95: timedelta | None
    max: timedelta | None


@dataclass(frozen=True)
class AuditReport:
    since: datetime | None
    until: datetime
    late_after: timedelta
    events: tuple[AuditEvent, ...]
    windows: tuple[Window, ...]  # overlapping the period; ended_at after until reads as None
    findings: tuple[AuditFinding, ...]
    lag: LagStats

    @property
    def warnings(self) -> tuple[AuditFinding, ...]:
        """The findings that call for action: errors and warnings."""
        return tuple(f for f in self.findings if f.severity in ("error", "warning"))

    @property
    def errors(self) -> tuple[AuditFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


# --------------------------------------------------------------------------- people

_NOREPLY = re.compile(
    r"\A(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)@users\.noreply\.github\.com\Z"
)


def _noreply_login(email: str) -> str | None:
    m = _NOREPLY.match(email.strip())
    return m.group(1) if m else None


def person(name: str, email: str) -> str:
    """A commit identity: the GitHub login when the email says it, else ``Name <email>``."""
    return _noreply_login(email) or f"{name} <{email}>"


# --------------------------------------------------------------------------- replay


@dataclass
class _Life:
    key: str
    grant: Grant
    granted_at: datetime
    unreviewed: bool

    def window(self, rec: CommitRecord | None = None, end: EventKind | None = None) -> Window:
        """This lifecycle's access window, ended by ``rec`` (None: still open)."""
        return Window(
            lifecycle=self.key,
            grant=self.grant.id,
            principal=self.grant.principal,
            entitlement=self.grant.entitlement,
            granted_at=self.granted_at,
            expires_at=self.grant.expires_at,
            ended_at=rec.committed_at if rec else None,
            end=end,
            end_commit=rec.sha if rec else None,
            unreviewed=self.unreviewed,
        )


@dataclass
class _Replay:
    events: list[AuditEvent] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    findings: list[AuditFinding] = field(default_factory=list)
    open: dict[str, _Life] = field(default_factory=dict)  # path -> the lifecycle living there
    break_glass: list[BreakGlassGrant] = field(default_factory=list)

    def event(self, kind: EventKind, life: _Life, rec: CommitRecord, **kw: object) -> AuditEvent:
        g = life.grant
        values: dict[str, object] = {
            "event": kind,
            "grant": g.id,
            "lifecycle": life.key,
            "principal": g.principal,
            "entitlement": g.entitlement,
            "at": rec.committed_at,
            "actor": rec.committer,
            "commit": rec.sha,
            "pr": _pr(rec),
            "expires_at": g.expires_at,
            "reason": g.reason,
            "ticket": g.ticket,
            "jit_kind": rec.value("Jit-Kind"),
            "duration": g.duration,
        }
        values.update(kw)
        ev = AuditEvent(**values)  # type: ignore[arg-type]
        self.events.append(ev)
        return ev

    def finding(
        self, rule: str, life: _Life | None, grant: Grant | None, rec: CommitRecord, message: str
    ) -> None:
        g = life.grant if life else grant
        self.findings.append(
            AuditFinding(
                rule=rule,
                severity="info" if rule == "audit.live" else "warning",
                grant=g.id if g else "",
                lifecycle=life.key if life else "",
                principal=g.principal if g else "",
                entitlement=g.entitlement if g else "",
                at=rec.committed_at,
                commit=rec.sha,
                message=message,
            )
        )
        # point the event this finding is about at it
        for i in range(len(self.events) - 1, -1, -1):
            ev = self.events[i]
            if ev.commit != rec.sha:
                break
            if life is not None and ev.lifecycle == life.key:
                self.events[i] = replace(ev, flags=(*ev.flags, rule))
                break

    def close(self, life: _Life, end: EventKind, rec: CommitRecord) -> None:
        self.windows.append(life.window(rec, end))


def _pr(rec: CommitRecord) -> int | None:
    v = rec.value("Jit-PR")
    if v is None:
        return None
    v = v.removeprefix("#")
    return int(v) if v.isdigit() else None


def _ids(rec: CommitRecord, key: str) -> set[str]:
    """Grant ids named by trailer ``key`` (the first word of each value)."""
    return {v.split()[0] for v in rec.values(key)}


def _approvers(rec: CommitRecord) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rec.values("Approved-by")))


def replay(records: Iterable[CommitRecord]) -> History:
    """Every event of every grant, oldest commit first (``records`` in first-parent order)."""
    st = _Replay()
    for rec in records:
        _replay_commit(st, rec)
    for life in st.open.values():
        st.windows.append(life.window())
    return History(tuple(st.events), tuple(st.windows), tuple(st.findings), tuple(st.break_glass))


def _break_glass_deadline(rec: CommitRecord, grant_id: str) -> datetime | None:
    """``Jit-Break-Glass: <id> <review_by>`` on a merge: the grant's review deadline."""
    for value in rec.values("Jit-Break-Glass"):
        parts = value.split()
        if len(parts) == 2 and parts[0] == grant_id:
            try:
                return parse_rfc3339(parts[1])
            except ValueError:
                return None
    return None


def _replay_commit(st: _Replay, rec: CommitRecord) -> None:
    jit_ids = _ids(rec, "Jit-Grant")
    kind = (rec.value("Jit-Kind") or "").lower()
    deleted = {c.path: c for c in rec.changes if c.status is FileChange.DELETED}
    renamed_from: dict[str, str] = {}  # new path -> old path
    for c in rec.changes:
        if c.status is not FileChange.ADDED or c.after is None or c.after.id in jit_ids:
            continue
        for old_path, d in deleted.items():
            life = st.open.get(old_path)
            before = life.grant if life else d.before
            if (
                old_path not in renamed_from.values()
                and life is not None
                and before is not None
                and before.principal == c.after.principal
                and before.entitlement == c.after.entitlement
                and before.id not in jit_ids
            ):
                renamed_from[c.path] = old_path
                break
    for c in rec.changes:
        if c.status is FileChange.DELETED:
            if c.path not in renamed_from.values():
                _delete(st, rec, c, kind, jit_ids)
        elif c.path in renamed_from:
            _rename(st, rec, renamed_from[c.path], c)
        elif c.after is None:
            g = st.open[c.path].grant if c.path in st.open else None
            st.finding(
                "audit.invalid-file",
                st.open.get(c.path),
                g,
                rec,
                f"{c.path} is not a valid grant file: {c.problem or 'unreadable'}",
            )
        elif c.status is FileChange.MODIFIED and c.path in st.open:
            _modify(st, rec, st.open[c.path], c.after, jit_ids)
        else:
            _grant(st, rec, c.path, c.after, jit_ids)


def _grant(
    st: _Replay, rec: CommitRecord, path: str, grant: Grant, jit_ids: set[str], edited: bool = False
) -> None:
    approvers = _approvers(rec) if grant.id in jit_ids else ()
    life = _Life(f"{grant.id}@{rec.sha[:12]}", grant, rec.committed_at, not approvers)
    st.open[path] = life
    _request(st, rec, life, grant.id in jit_ids, approvers)
    st.event(EventKind.GRANTED, life, rec, approvers=approvers, unreviewed=not approvers)
    review_by = _break_glass_deadline(rec, grant.id) if grant.id in jit_ids else None
    if review_by is not None and not approvers:
        # break-glass: approved after the fact, or an error finding (build_report)
        st.break_glass.append(
            BreakGlassGrant(
                life.key, grant, rec.committed_at, review_by, rec.value("Requested-by"), rec.sha
            )
        )
    elif not approvers:
        st.finding(
            "audit.no-approval",
            life,
            None,
            rec,
            f"{grant.id} ({grant.principal} -> {grant.entitlement}) reached the default branch "
            f"in {rec.sha[:12]} with no recorded approval",
        )
    if edited:
        st.finding(
            "audit.edited-in-place",
            life,
            None,
            rec,
            f"{grant.id} was edited in place to give {grant.principal} -> {grant.entitlement}; "
            "a grant's principal and entitlement never change (request a new grant)",
        )


def _request(
    st: _Replay, rec: CommitRecord, life: _Life, managed: bool, approvers: tuple[str, ...]
) -> None:
    """``requested`` and one ``approved`` per approver, before a grant or an extension."""
    gid = life.grant.id
    side = rec.side
    by = rec.value("Requested-by") if managed else None
    at, commit = rec.committed_at, rec.sha
    if (
        managed
        and side is not None
        and (side.value("Jit-Kind") or "").lower() in ("request", "extension", "mixed")
        and gid in _ids(side, "Jit-Grant")
    ):
        at, commit = side.committed_at, side.sha
        by = by or side.value("Requested-by")
    st.event(
        EventKind.REQUESTED,
        life,
        rec,
        at=at,
        commit=commit,
        actor=by or rec.author,
        unreviewed=not approvers,
    )
    for login in approvers:
        st.event(EventKind.APPROVED, life, rec, actor=login, approvers=approvers)


def _modify(st: _Replay, rec: CommitRecord, life: _Life, new: Grant, jit_ids: set[str]) -> None:
    old = life.grant
    if (old.principal, old.entitlement) != (new.principal, new.entitlement):
        st.event(EventKind.REVOKED, life, rec, unreviewed=True)
        st.close(life, EventKind.REVOKED, rec)
        _grant(st, rec, new.path, new, jit_ids, edited=True)
        return
    starts_earlier = old.starts_at is not None and (
        new.starts_at is None or new.starts_at < old.starts_at
    )
    more = new.expires_at > old.expires_at or starts_earlier
    life.grant = new
    if more:
        approvers = _approvers(rec) if new.id in jit_ids else ()
        _request(st, rec, life, new.id in jit_ids, approvers)
        st.event(EventKind.EXTENDED, life, rec, approvers=approvers, unreviewed=not approvers)
        if not approvers:
            life.unreviewed = True
            st.finding(
                "audit.no-approval",
                life,
                None,
                rec,
                f"{new.id} was extended to {format_rfc3339(new.expires_at)} in {rec.sha[:12]} "
                "with no recorded approval",
            )
        return
    changed = [
        name
        for name in ("expires_at", "starts_at", "reason", "ticket")
        if getattr(old, name) != getattr(new, name)
    ]
    st.event(
        EventKind.EDITED,
        life,
        rec,
        previous=",".join(changed),
        unreviewed=new.id not in jit_ids,
    )
    if new.id not in jit_ids and set(changed) - {"expires_at"}:
        st.finding(
            "audit.edited-in-place",
            life,
            None,
            rec,
            f"{new.id}: {', '.join(changed)} edited in place in {rec.sha[:12]} "
            "without a reviewed change",
        )


def _rename(st: _Replay, rec: CommitRecord, old_path: str, c: PathChange) -> None:
    life = st.open.pop(old_path)
    assert c.after is not None
    old_id = life.grant.id
    life.grant = c.after
    st.open[c.path] = life
    st.event(EventKind.RENAMED, life, rec, previous=old_id, unreviewed=True)
    st.finding(
        "audit.renamed",
        life,
        None,
        rec,
        f"{old_id} was renamed to {c.after.id} in {rec.sha[:12]}; grant ids never change "
        "(the access continued under the new id)",
    )


def _delete(st: _Replay, rec: CommitRecord, c: PathChange, kind: str, jit_ids: set[str]) -> None:
    life = st.open.pop(c.path, None)
    if life is None:
        if c.before is None:
            return  # an invalid file went away: it never granted anything
        life = _Life(f"{c.before.id}@unknown", c.before, rec.committed_at, True)
    g = life.grant
    expired_ids = _ids(rec, "Expired-Grant")
    lag = rec.committed_at - g.expires_at
    lag_seconds = int(lag.total_seconds()) if lag >= timedelta(0) else None
    if kind == "expiry" and g.id in expired_ids:
        end, actor, unreviewed = EventKind.EXPIRED, rec.committer, False
    elif g.id in jit_ids and kind not in ("", "expiry"):
        end, unreviewed = EventKind.REVOKED, False
        actor = rec.value("Revoked-by") or rec.value("Requested-by") or rec.author
    elif rec.committed_at >= g.expires_at:
        end, actor, unreviewed = EventKind.EXPIRED, rec.committer, True
    else:
        end, actor, unreviewed = EventKind.REVOKED, rec.author, True
    st.event(end, life, rec, actor=actor, unreviewed=unreviewed, lag_seconds=lag_seconds)
    st.close(life, end, rec)


# --------------------------------------------------------------------------- the report


def _break_glass_review(
    bg: BreakGlassGrant, reviews: Sequence[CommitRecord]
) -> tuple[CommitRecord | None, tuple[str, ...]]:
    """The first review of ``bg`` after its merge with an approval that is not the
    requester's own, and those approvals."""
    for rec in reviews:
        if rec.committed_at < bg.granted_at or bg.grant.id not in _ids(rec, "Jit-Grant"):
            continue
        requester = (bg.requester or "").lower()
        approvals = tuple(a for a in _approvers(rec) if a.lower() != requester)
        if approvals:
            return rec, approvals
    return None, ()


def _percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


def _match(pattern: str | None, value: str) -> bool:
    return pattern is None or fnmatchcase(value, pattern)


def build_report(
    history: History,
    *,
    until: datetime,
    since: datetime | None = None,
    principal: str | None = None,
    entitlement: str | None = None,
    late_after: timedelta = timedelta(hours=1),
    reviews: Sequence[CommitRecord] = (),
) -> AuditReport:
    """The period [since, until] of ``history``, filtered (globs), with the findings first.

    Findings: every history finding in the period, ``audit.removed-late`` for each removal more
    than ``late_after`` after expires_at, ``audit.overdue`` for each file still on the branch at
    ``until`` after its expires_at, and ``audit.live`` (info) for access live at ``until``.
    """

    def keep(p: str, e: str) -> bool:
        return _match(principal, p) and _match(entitlement, e)

    def in_period(at: datetime) -> bool:
        return (since is None or at >= since) and at <= until

    events = tuple(
        e for e in history.events if keep(e.principal, e.entitlement) and in_period(e.at)
    )
    windows: list[Window] = []
    for w in history.windows:
        if not keep(w.principal, w.entitlement) or w.granted_at > until:
            continue
        if w.ended_at is not None and since is not None and w.ended_at < since:
            continue
        if w.ended_at is not None and w.ended_at > until:
            w = replace(w, ended_at=None, end=None, end_commit=None)
        windows.append(w)
    findings = [
        f
        for f in history.findings
        if keep(f.principal, f.entitlement) and in_period(f.at) and f.rule != "audit.live"
    ]
    lags: list[timedelta] = []
    late = 0
    for w in windows:
        lag = w.lag
        if lag is None or w.ended_at is None or not in_period(w.ended_at):
            continue
        lags.append(lag)
        if lag > late_after:
            late += 1
            findings.append(
                AuditFinding(
                    rule="audit.removed-late",
                    severity="warning",
                    grant=w.grant,
                    lifecycle=w.lifecycle,
                    principal=w.principal,
                    entitlement=w.entitlement,
                    at=w.ended_at,
                    commit=w.end_commit,
                    message=f"{w.grant} expired at {format_rfc3339(w.expires_at)} and was "
                    f"removed {format_duration(lag)} later ({w.end}); allowed: "
                    f"{format_duration(late_after)}",
                )
            )
    for w in windows:
        if w.ended_at is not None:
            continue
        overdue = w.expires_at <= until
        findings.append(
            AuditFinding(
                rule="audit.overdue" if overdue else "audit.live",
                severity="warning" if overdue else "info",
                grant=w.grant,
                lifecycle=w.lifecycle,
                principal=w.principal,
                entitlement=w.entitlement,
                at=until,
                commit=None,
                message=(
                    f"{w.grant} is still on the branch {format_duration(until - w.expires_at)} "
                    f"after its expires_at {format_rfc3339(w.expires_at)}"
                    if overdue
                    else f"{w.principal} has {w.entitlement} until "
                    f"{format_rfc3339(w.expires_at)} ({w.grant})"
                ),
            )
        )
    reviewed: list[AuditEvent] = []
    for bg in history.break_glass:
        if not keep(bg.grant.principal, bg.grant.entitlement):
            continue
        found, approvals = _break_glass_review(bg, reviews)
        if found is not None and found.committed_at <= bg.review_by:
            extra = [
                AuditEvent(
                    event=EventKind.APPROVED,
                    grant=bg.grant.id,
                    lifecycle=bg.lifecycle,
                    principal=bg.grant.principal,
                    entitlement=bg.grant.entitlement,
                    at=found.committed_at,
                    actor=login,
                    commit=found.sha,
                    approvers=approvals,
                    expires_at=bg.grant.expires_at,
                    jit_kind="review",
                )
                for login in approvals
            ]
            reviewed += [e for e in extra if in_period(e.at)]
            continue
        if found is None and bg.review_by > until:
            continue  # still within its review window
        at = found.committed_at if found is not None else bg.review_by
        if not in_period(at):
            continue
        how = (
            f"was approved only at {format_rfc3339(found.committed_at)} "
            f"({format_duration(found.committed_at - bg.review_by)} late)"
            if found is not None
            else "was never approved after the fact"
        )
        findings.append(
            AuditFinding(
                rule="audit.break-glass-unreviewed",
                severity="error",
                grant=bg.grant.id,
                lifecycle=bg.lifecycle,
                principal=bg.grant.principal,
                entitlement=bg.grant.entitlement,
                at=at,
                commit=found.sha if found is not None else bg.commit,
                message=f"break-glass grant {bg.grant.id} ({bg.grant.principal} -> "
                f"{bg.grant.entitlement}, merged in {bg.commit[:12]} without approval) {how}; "
                f"it had to be approved by {format_rfc3339(bg.review_by)}",
            )
        )
    if reviewed:  # the reviews' approvals, in time order among the other events
        events = tuple(sorted((*events, *reviewed), key=lambda e: e.at))
    lags.sort()
    order = {rule: i for i, rule in enumerate(RULES)}
    findings.sort(key=lambda f: (order.get(f.rule, 99), f.at, f.grant))
    return AuditReport(
        since=since,
        until=until,
        late_after=late_after,
        events=events,
        windows=tuple(windows),
        findings=tuple(findings),
        lag=LagStats(
            count=len(lags),
            late=late,
            p50=_percentile(lags, 0.50),
            p95=_percentile(lags, 0.95),
            max=lags[-1] if lags else None,
        ),
    )
