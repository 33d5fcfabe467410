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
from functools import cached_property

from controller.core.model import Catalog, FileChange, Grant, Review, ReviewState
from controller.core.policy import ApprovalOutcome, evaluate_approvals, team_members
from controller.core.times import format_duration, format_rfc3339, parse_rfc3339

__all__ = [
    "RULES",
    "AuditEvent",
    "AuditFinding",
    "AuditReport",
    "CommitRecord",
    "CommitSignature",
    "EventKind",
    "History",
    "LagStats",
    "PathChange",
    "Proof",
    "Trust",
    "Window",
    "build_report",
    "person",
    "prove",
    "replay",
]

# The finding rules of the audit report (stable ids, documented in the README).
RULES: dict[str, str] = {
    "audit.unproven": "a grant or extension in a commit not proven to be jitctl's own merge",
    "audit.no-approval": "a grant or extension reached the default branch unapproved",
    "audit.approval": "a grant's recorded approvals do not meet the catalog at its parent",
    "audit.no-pr": "a grant merged on GitHub without a Jit-PR trailer",
    "audit.removed-late": "a grant file was removed more than --late-after after its expires_at",
    "audit.overdue": "a grant file is still on the default branch after its expires_at",
    "audit.edited-in-place": "a principal, entitlement, reason or ticket edited in place",
    "audit.renamed": "a grant file was moved to another id (the access continued)",
    "audit.invalid-file": "a file under grants/ on the default branch is not a valid grant",
    "audit.trust-changed": "the audit's trust root (catalog audit key, signer files) changed",
    "audit.live": "(info) access still live at the end of the report",
    "audit.break-glass-unreviewed": "(error) a break-glass grant was not approved after the fact "
    "within its review_within",
}

# error: access that is not proven or not approved; warning: clean-up and hygiene; info.
SEVERITY: dict[str, str] = {
    "audit.unproven": "error",
    "audit.no-approval": "error",
    "audit.approval": "error",
    "audit.no-pr": "error",
    "audit.live": "info",
}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def severity(rule: str) -> str:
    return SEVERITY.get(rule, "warning")


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
class CommitSignature:
    """What git said of a commit's signature: ``%G?`` (G good, B bad, U good but untrusted,
    X/Y expired, R revoked, E cannot check, N none), ``%GS`` signer, ``%GK`` key, ``%GP``
    primary key fingerprint. An SSH key reads ``SHA256:...``; an OpenPGP key is hex."""

    status: str = "N"
    signer: str = ""
    key: str = ""
    primary: str = ""

    @property
    def ssh(self) -> bool:
        return self.key.startswith("SHA256:")


@dataclass(frozen=True)
class Trust:
    """What the audited tree says to trust (read by the adapter, from git alone)."""

    ssh: bool = False  # the allowed-signers file was read: git verified SSH signatures with it
    github: bool = False  # GitHub's OpenPGP key was read: git verified OpenPGP signatures with it
    github_bots: tuple[str, ...] = ()
    signers_path: str | None = None
    github_keys_path: str | None = None
    problems: tuple[str, ...] = ()  # why some proof is impossible


@dataclass(frozen=True)
class Proof:
    """Who made a commit, as far as git can prove it. ``by``: the signer principal (SSH) or the
    GitHub App bot; ``how``: ``ssh`` or ``github``; ``why``: what is missing when unproven."""

    proven: bool
    by: str | None = None
    how: str | None = None
    why: str = ""

    @property
    def label(self) -> str | None:
        return f"{self.how}:{self.by}" if self.proven else None


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
    signature: CommitSignature | None = None
    catalog: Catalog | None = None  # catalog.yaml at the first parent (what judged the change)
    catalog_problem: str | None = None  # why there is none

    @property
    def author(self) -> str:
        return person(self.author_name, self.author_email)

    @property
    def committer(self) -> str:
        return person(self.committer_name, self.committer_email)

    @cached_property
    def _by_key(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for tk, v in self.trailers:
            if v.strip():
                out.setdefault(tk.strip().lower(), []).append(v.strip())
        return out

    def values(self, key: str) -> list[str]:
        """The values of trailer ``key`` (case-insensitive), in order."""
        return list(self._by_key.get(key.lower(), ()))

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
    proven: bool = False  # the commit is proven to be jitctl's own (signature, see Proof)
    proof: str | None = None  # how: "ssh:<signer>" or "github:<app bot>"
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
    requested_by: str | None = None
    approved_by: tuple[str, ...] = ()  # every approval that counted (grant and extensions)
    prs: tuple[int, ...] = ()
    proven: bool = False  # the grant and every extension are proven and approved
    grant_commit: str = ""
    module: str | None = None  # the entitlement's module at the grant (None: not in the catalog)

    @property
    def cloud_ended(self) -> bool:
        """Whether a cloud-side condition ended the access at expires_at (every module puts
        one on its grants); False when the entitlement was unknown to the catalog."""
        return self.module is not None

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
    trust: Trust = field(default_factory=Trust)  # what proved the commits (review records too)


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
    requested_by: str | None = None
    approved_by: list[str] = field(default_factory=list)
    prs: list[int] = field(default_factory=list)
    grant_commit: str = ""
    module: str | None = None

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
            requested_by=self.requested_by,
            approved_by=tuple(dict.fromkeys(self.approved_by)),
            prs=tuple(dict.fromkeys(self.prs)),
            proven=not self.unreviewed,
            grant_commit=self.grant_commit,
            module=self.module,
        )


@dataclass
class _Replay:
    events: list[AuditEvent] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    findings: list[AuditFinding] = field(default_factory=list)
    open: dict[str, _Life] = field(default_factory=dict)  # path -> the lifecycle living there
    break_glass: list[BreakGlassGrant] = field(default_factory=list)
    trust: Trust = field(default_factory=Trust)
    proofs: dict[str, Proof] = field(default_factory=dict)  # commit -> its proof
    # (catalog, entitlement, approvers, requester, claimed teams) -> the approvals' outcome
    outcomes: dict[tuple[object, ...], ApprovalOutcome] = field(default_factory=dict)

    def proof(self, rec: CommitRecord) -> Proof:
        hit = self.proofs.get(rec.sha)
        if hit is None:
            hit = self.proofs[rec.sha] = prove(rec, self.trust)
        return hit

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
        proof = self.proof(rec)
        values["proven"], values["proof"] = proof.proven, proof.label
        values.update(kw)
        ev = AuditEvent(**values)  # type: ignore[arg-type]
        self.events.append(ev)
        return ev

    def finding(
        self,
        rule: str,
        life: _Life | None,
        grant: Grant | None,
        rec: CommitRecord,
        message: str,
        flagged: bool = False,
    ) -> None:
        """A finding; unless ``flagged`` (the event already carries it), flag its event."""
        g = life.grant if life else grant
        self.findings.append(
            AuditFinding(
                rule=rule,
                severity=severity(rule),
                grant=g.id if g else "",
                lifecycle=life.key if life else "",
                principal=g.principal if g else "",
                entitlement=g.entitlement if g else "",
                at=rec.committed_at,
                commit=rec.sha,
                message=message,
            )
        )
        if flagged:
            return
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


def _claimed_teams(rec: CommitRecord) -> dict[str, frozenset[str]]:
    """``Approver-Team: @org/team login``: team membership the merger resolved on GitHub (a
    claim; catalog-defined teams always win over it)."""
    out: dict[str, set[str]] = {}
    for value in rec.values("Approver-Team"):
        team, _, login = value.partition(" ")
        if team.startswith("@") and login.strip():
            out.setdefault(team, set()).add(login.strip())
    return {team: frozenset(logins) for team, logins in out.items()}


def _approvers(rec: CommitRecord) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rec.values("Approved-by")))


_GITHUB_BOT = re.compile(
    r"\A(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\[bot\])@users\.noreply\.github\.com\Z"
)
_SIG_STATUS = {
    "B": "its signature does not verify (bad signature)",
    "X": "its signature has expired",
    "Y": "it is signed by an expired key",
    "R": "it is signed by a revoked key",
    "E": "its signature cannot be checked (a key the audited tree does not list)",
    "U": "it is signed by a key the audited tree does not list",
}


def prove(rec: CommitRecord, trust: Trust) -> Proof:
    """Who made ``rec``, as far as its signature and the audited tree's trust root prove it.

    SSH: git verified the signature against the allowed-signers file (at the commit's date):
    proven, by the signer's principal. OpenPGP: git verified it against GitHub's key, so GitHub
    made the commit and vouches for its author; proven only when that author is one of the
    GitHub App bots the catalog names (anyone with write access can merge on GitHub's web UI).
    """
    sig = rec.signature or CommitSignature()
    if sig.status == "N":
        return Proof(False, why="it is not signed")
    if sig.ssh:
        if sig.status == "G" and trust.ssh and sig.signer:
            return Proof(True, by=sig.signer, how="ssh")
        if not trust.ssh:
            return Proof(False, why="it is SSH-signed but no allowed-signers file is trusted")
        return Proof(False, why=f"{_SIG_STATUS.get(sig.status, 'unverified signature')} "
                     f"(SSH key {sig.key})")  # fmt: skip
    if sig.status in ("G", "U") and trust.github and sig.primary:
        m = _GITHUB_BOT.match(rec.author_email.strip())
        bot = m.group(1) if m else None
        if bot is not None and bot.lower() in {b.lower() for b in trust.github_bots}:
            return Proof(True, by=bot, how="github")
        allowed = ", ".join(trust.github_bots) or "none configured"
        return Proof(
            False,
            why=f"GitHub made it for {rec.author}, not for jitctl's App ({allowed}): a merge by "
            "hand on GitHub",
        )
    if not trust.github:
        return Proof(False, why="it is OpenPGP-signed but GitHub's key is not trusted")
    return Proof(False, why=f"{_SIG_STATUS.get(sig.status, 'unverified signature')} "
                 f"(OpenPGP key {sig.key})")  # fmt: skip


def replay(
    records: Iterable[CommitRecord],
    trust: Trust | None = None,
    trust_changes: Iterable[CommitRecord] = (),
) -> History:
    """Every event of every grant, oldest commit first (``records`` in first-parent order).

    ``trust`` is what the audited tree trusts (None: nothing, so nothing is proven);
    ``trust_changes`` the commits that changed the trust files (a finding each)."""
    st = _Replay(trust=trust or Trust())
    for rec in records:
        _replay_commit(st, rec)
    for rec in trust_changes:
        if not rec.parents:
            continue  # the repository's first commit sets the trust root up
        st.findings.append(
            AuditFinding(
                rule="audit.trust-changed",
                severity=severity("audit.trust-changed"),
                grant="",
                lifecycle="",
                principal="",
                entitlement="",
                at=rec.committed_at,
                commit=rec.sha,
                message=f"{rec.sha[:12]} by {rec.author} changed what the audit trusts "
                f"({rec.subject[:80]}); check that the change was reviewed",
            )
        )
    for life in st.open.values():
        st.windows.append(life.window())
    return History(
        tuple(st.events), tuple(st.windows), tuple(st.findings), tuple(st.break_glass), st.trust
    )


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


def _judge(
    st: _Replay,
    rec: CommitRecord,
    grant: Grant,
    managed: bool,
    what: str,
    break_glass: bool = False,
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """Re-judge a grant or extension from git alone: who made the commit (its signature) and
    whether its recorded approvals meet the catalog as it was at the commit's first parent.
    Returns the recorded approvers and the (rule, message) findings, errors all."""
    approvers = _approvers(rec) if managed else ()
    out: list[tuple[str, str]] = []
    head = f"{grant.id} ({grant.principal} -> {grant.entitlement}) {what} in {rec.sha[:12]}"
    proof = st.proof(rec)
    if not proof.proven:
        trust = "; ".join(st.trust.problems)
        out.append(
            (
                "audit.unproven",
                f"{head} is not proven to be jitctl's merge: {proof.why}"
                + (f" ({trust})" if trust else ""),
            )
        )
    elif proof.how == "github" and _pr(rec) is None:
        out.append(("audit.no-pr", f"{head} was merged on GitHub without a Jit-PR trailer"))
    if not approvers:
        if not break_glass:  # break-glass: judged by its review after the fact (build_report)
            out.append(("audit.no-approval", f"{head} has no recorded approval"))
        return approvers, out
    requester = rec.value("Requested-by")
    if requester is None and rec.side is not None:
        requester = rec.side.value("Requested-by")
    problems: list[str] = []
    if requester is None:
        problems.append("no Requested-by: self-approval cannot be ruled out")
    elif requester.lower() in {a.lower() for a in approvers}:
        problems.append(f"{requester} approved their own request")
    catalog = rec.catalog
    ent = catalog.entitlements.get(grant.entitlement) if catalog is not None else None
    if catalog is None:
        problems.append(f"the catalog at its parent cannot be read ({rec.catalog_problem})")
    elif ent is None:
        problems.append(f"{grant.entitlement} is not in the catalog at its parent")
    else:
        claimed = _claimed_teams(rec) if proof.proven else {}
        key = (id(catalog), ent.name, approvers, requester, tuple(sorted(claimed.items())))
        outcome = st.outcomes.get(key)
        if outcome is None:  # histories repeat the same few combinations: judge each once
            outcome = st.outcomes[key] = evaluate_approvals(
                ent.approvals,
                [Review(a, ReviewState.APPROVED, "", id=i) for i, a in enumerate(approvers)],
                head=None,
                author=requester,
                members=team_members(catalog, claimed),
            )
        if not outcome.satisfied:
            rules = "; ".join(r.describe() for r in ent.approvals)
            missing = "; ".join(outcome.missing)
            ignored = "; ".join(f"{who}: {why}" for who, why in outcome.ignored)
            problems.append(
                f"approvals recorded: {', '.join(approvers)}; the catalog at its parent needs "
                f"{rules}; missing {missing}" + (f" (not counted: {ignored})" if ignored else "")
            )
    if problems:
        out.append(("audit.approval", f"{head}: " + "; ".join(problems)))
    return approvers, out


def _grant(
    st: _Replay, rec: CommitRecord, path: str, grant: Grant, jit_ids: set[str], edited: bool = False
) -> None:
    managed = grant.id in jit_ids
    review_by = _break_glass_deadline(rec, grant.id) if managed else None
    approvers, problems = _judge(
        st, rec, grant, managed, "was granted", break_glass=review_by is not None
    )
    # a break-glass grant stays unreviewed until approved after the fact (build_report)
    bad = bool(problems) or (review_by is not None and not approvers)
    life = _Life(f"{grant.id}@{rec.sha[:12]}", grant, rec.committed_at, bad)
    life.grant_commit = rec.sha
    ent = rec.catalog.entitlements.get(grant.entitlement) if rec.catalog is not None else None
    life.module = ent.module if ent is not None else None
    st.open[path] = life
    _request(st, rec, life, managed, approvers, bad)
    flags = tuple(rule for rule, _ in problems)
    st.event(EventKind.GRANTED, life, rec, approvers=approvers, unreviewed=bad, flags=flags)
    for rule, message in problems:
        st.finding(rule, life, None, rec, message, flagged=True)
    if review_by is not None and not approvers:
        # break-glass: approved after the fact, or an error finding (build_report)
        st.break_glass.append(
            BreakGlassGrant(
                life.key, grant, rec.committed_at, review_by, rec.value("Requested-by"), rec.sha
            )
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
    st: _Replay,
    rec: CommitRecord,
    life: _Life,
    managed: bool,
    approvers: tuple[str, ...],
    unreviewed: bool,
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
    actor = by or rec.author
    if life.requested_by is None:
        life.requested_by = actor
    life.approved_by.extend(approvers)
    pr = _pr(rec)
    if pr is not None:
        life.prs.append(pr)
    st.event(
        EventKind.REQUESTED,
        life,
        rec,
        at=at,
        commit=commit,
        actor=actor,
        unreviewed=unreviewed,
    )
    for login in approvers:
        st.event(
            EventKind.APPROVED, life, rec, actor=login, approvers=approvers, unreviewed=unreviewed
        )


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
        managed = new.id in jit_ids
        what = f"was extended to {format_rfc3339(new.expires_at)}"
        approvers, problems = _judge(st, rec, new, managed, what)
        bad = bool(problems)
        _request(st, rec, life, managed, approvers, bad)
        flags = tuple(rule for rule, _ in problems)
        st.event(EventKind.EXTENDED, life, rec, approvers=approvers, unreviewed=bad, flags=flags)
        if bad:
            life.unreviewed = True
        for rule, message in problems:
            st.finding(rule, life, None, rec, message, flagged=True)
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


@dataclass(frozen=True)
class _BreakGlassReview:
    """The review record that approved a break-glass grant: its commit, the approvals that
    count, and when they were given (a GitHub review's time as the record states it)."""

    rec: CommitRecord
    approvals: tuple[str, ...]
    at: datetime


def _break_glass_review(
    bg: BreakGlassGrant, reviews: Sequence[CommitRecord], trust: Trust
) -> tuple[_BreakGlassReview | None, list[str]]:
    """The first review record of ``bg`` after its merge that is proven to be jitctl's (the
    same proof as a merge: a trusted SSH signature, or GitHub's signature on a commit by the
    App) and whose approvals meet the entitlement's rules in the catalog at the record's parent,
    never counting the requester. Also why each other record of ``bg`` did not count."""
    notes: list[str] = []
    for rec in reviews:
        if rec.committed_at < bg.granted_at or bg.grant.id not in _ids(rec, "Jit-Grant"):
            continue
        proof = prove(rec, trust)
        if not proof.proven:
            notes.append(f"review {rec.sha[:12]} is not proven to be jitctl's: {proof.why}")
            continue
        approvals = _approvers(rec)
        catalog = rec.catalog
        ent = catalog.entitlements.get(bg.grant.entitlement) if catalog is not None else None
        if catalog is None or ent is None:
            why = rec.catalog_problem or f"{bg.grant.entitlement} is not in the catalog"
            notes.append(f"review {rec.sha[:12]} cannot be judged: {why}")
            continue
        outcome = evaluate_approvals(
            ent.approvals,
            [Review(a, ReviewState.APPROVED, "", id=i) for i, a in enumerate(approvals)],
            head=None,
            author=bg.requester,
            members=team_members(catalog, _claimed_teams(rec)),
        )
        if not outcome.satisfied:
            notes.append(
                f"review {rec.sha[:12]} ({', '.join(approvals) or 'no approval'}) does not meet "
                f"the rules: missing {'; '.join(outcome.missing)}"
            )
            continue
        at = _review_time(rec, outcome.approvers)
        if at < bg.granted_at:
            notes.append(f"review {rec.sha[:12]} names approvals given before the merge")
            continue
        return _BreakGlassReview(rec, outcome.approvers, at), notes
    return None, notes


def _review_time(rec: CommitRecord, approvers: Sequence[str]) -> datetime:
    """When the counted approvals were all given: the latest ``Jit-Review: <id> <login>
    <submitted_at>`` of each approver (a GitHub review the App read), else the record's own
    commit time; never after the record itself (a later time is not believed)."""
    given: dict[str, datetime] = {}
    for value in rec.values("Jit-Review"):
        parts = value.split()
        if len(parts) != 3:
            continue
        try:
            at = parse_rfc3339(parts[2])
        except ValueError:
            continue
        login = parts[1].lower()
        given[login] = max(at, given.get(login, at))
    times = [min(given.get(a.lower(), rec.committed_at), rec.committed_at) for a in approvers]
    return max(times, default=rec.committed_at)


def _percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


def _cloud(w: Window) -> str:
    """Whether the cloud had already ended the access (then lateness is a clean-up delay)."""
    if w.cloud_ended:
        return (
            f"the {w.module} module's cloud-side condition ended the access at expires_at, so "
            "this is a clean-up delay, not exposure"
        )
    return (
        f"{w.entitlement} was not in the catalog when granted, so no cloud-side condition is "
        "known to have ended the access: possible exposure until removal"
    )


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
                    f"{format_duration(late_after)}; {_cloud(w)}",
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
                    f"after its expires_at {format_rfc3339(w.expires_at)}; {_cloud(w)}"
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
        found, notes = _break_glass_review(bg, reviews, history.trust)
        if found is not None and bg.granted_at <= found.at <= bg.review_by:
            proof = prove(found.rec, history.trust)
            extra = [
                AuditEvent(
                    event=EventKind.APPROVED,
                    grant=bg.grant.id,
                    lifecycle=bg.lifecycle,
                    principal=bg.grant.principal,
                    entitlement=bg.grant.entitlement,
                    at=found.rec.committed_at,
                    actor=login,
                    commit=found.rec.sha,
                    pr=_pr(found.rec),
                    approvers=found.approvals,
                    expires_at=bg.grant.expires_at,
                    jit_kind="review",
                    proven=proof.proven,
                    proof=proof.label,
                )
                for login in found.approvals
            ]
            reviewed += [e for e in extra if in_period(e.at)]
            continue
        if found is None and bg.review_by > until:
            continue  # still within its review window
        at = found.rec.committed_at if found is not None else bg.review_by
        if not in_period(at):
            continue
        how = (
            f"was approved only at {format_rfc3339(found.at)} "
            f"({format_duration(found.at - bg.review_by)} late)"
            if found is not None
            else "was never approved after the fact"
        ) + (f" ({'; '.join(notes)})" if notes else "")
        findings.append(
            AuditFinding(
                rule="audit.break-glass-unreviewed",
                severity="error",
                grant=bg.grant.id,
                lifecycle=bg.lifecycle,
                principal=bg.grant.principal,
                entitlement=bg.grant.entitlement,
                at=at,
                commit=found.rec.sha if found is not None else bg.commit,
                message=f"break-glass grant {bg.grant.id} ({bg.grant.principal} -> "
                f"{bg.grant.entitlement}, merged in {bg.commit[:12]} without approval) {how}; "
                f"it had to be approved by {format_rfc3339(bg.review_by)}",
            )
        )
    if reviewed:  # the reviews' approvals, in time order among the other events
        events = tuple(sorted((*events, *reviewed), key=lambda e: e.at))
    lags.sort()
    order = {rule: i for i, rule in enumerate(RULES)}
    findings.sort(
        key=lambda f: (_SEVERITY_RANK.get(f.severity, 9), order.get(f.rule, 99), f.at, f.grant)
    )
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
