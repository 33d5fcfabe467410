"""The policy engine. PURE: values in (catalog, grants, changes, reviews, now), values out.

No I/O, no clock, no environment. The shell gathers a snapshot, calls these functions, and acts
on what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from controller.core.model import (
    GRANTS_DIR,
    GRANTS_PLACEHOLDER,
    ApprovalRule,
    Catalog,
    ChangeKind,
    Entitlement,
    FileChange,
    Finding,
    Grant,
    GrantFile,
    Review,
    ReviewState,
    Severity,
)
from controller.core.times import format_duration, format_rfc3339, parse_rfc3339

# The rule ids the policy engine emits (the grant-file rules live in grantfile.py).
RULES: Mapping[str, str] = {
    "entitlement.unknown": "the grant names an entitlement that is not in the catalog",
    "requester.unknown": "the requester (PR author) is not known, so eligibility cannot be checked",
    "requester.principal": "the requester may not ask for this principal (catalog identities)",
    "requester.not-allowed": "the requester is not among the entitlement's requesters",
    "reason.empty": "the reason is empty",
    "expiry.past": "expires_at is not in the future",
    "duration.exceeded": "expires_at - max(now, starts_at) is longer than the max_duration",
    "grant.immutable": "a changed grant changed its principal, entitlement or starts_at",
    "grant.overlap": "(warning) another grant gives the same principal the same entitlement",
    "azure.disjoint": "grants of one Azure principal, scope and role whose windows leave a gap",
    "azure.duration": "an Azure PIM grant's window is shorter than the 5 minutes Azure accepts",
    "grant.expired": "(warning) a grant on the branch has expired and awaits removal",
    "change.not-expiry": "a change presented as an expiry does more than delete expired grants",
    "grant.mode": "an entry under grants/ is not a regular file (executable, submodule, ...)",
    "change.inexact": "the change cannot be judged exactly as it would merge (status: pending)",
    "duration.capped": "(warning) the duration asked is longer than max_duration: capped at merge",
    "duration.window": "a request's expires_at is later than its duration from now",
    "break-glass.not-allowed": "break-glass asked for an entitlement without break_glass",
    "break-glass.kind": "break-glass is for new requests only, never extensions or other changes",
    "break-glass.duration": "a break-glass grant lasts longer than break_glass.max_duration",
}


def mode_finding(path: str, mode: str, kind: str = "blob") -> Finding:
    """The finding for an entry under grants/ that is not a regular file (mode from the tree:
    an executable file, a submodule/gitlink, anything else git can store)."""
    what = {"commit": "a submodule (gitlink)", "tree": "a directory"}.get(kind)
    if what is None:
        what = "an executable file" if mode == "100755" else f"an entry of mode {mode}"
    return Finding(
        "grant.mode",
        path,
        None,
        f"{what} under grants/ is refused: a grant is a regular, non-executable file",
    )


UNMATERIALISED = "grant.unmaterialised"


def is_grant_path(path: str) -> bool:
    return path.startswith(GRANTS_DIR + "/") and path != GRANTS_PLACEHOLDER


@dataclass(frozen=True)
class GrantChange:
    path: str
    change: FileChange
    kind: ChangeKind
    before: Grant | None
    after: Grant | None

    @property
    def grant(self) -> Grant | None:
        return self.after or self.before


@dataclass(frozen=True)
class Decision:
    """What a change is, what it needs, and what is wrong with it."""

    kind: ChangeKind
    needs_approval: bool
    approval_rules: tuple[ApprovalRule, ...]
    findings: tuple[Finding, ...]
    changes: tuple[GrantChange, ...] = ()
    other_paths: tuple[str, ...] = ()
    # open requests (the clock starts at approval): judged as materialised now; jitctl writes
    # their expires_at when it merges, and the check judges that file again
    materialise: tuple[str, ...] = ()
    break_glass: bool = False  # asked for and allowed: merges without approval, reviewed later

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ChangeSet:
    """One gathered snapshot of a change: everything the engine needs, nothing it must fetch.

    ``base`` and ``head`` hold the changed grant paths as read at each side (a path absent from
    a side is absent from its mapping). ``related`` are the other grants at head for the same
    principal and entitlement as a changed grant (for overlap notices; on Azure, every grant
    sharing its PIM assignment), ``related_counts`` how many files name each such pair.
    ``members`` resolves
    teams to logins; a team missing from it counts as no one.
    """

    catalog: Catalog
    changed: Mapping[str, FileChange]
    base: Mapping[str, GrantFile]
    head: Mapping[str, GrantFile]
    author: str | None
    now: datetime
    related: Sequence[Grant] = ()
    # (principal, entitlement) -> how many other files at head name both (related may hold
    # only some of them: enough to know that a live one exists)
    related_counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    claimed_kind: ChangeKind | None = None
    problems: tuple[Finding, ...] = ()  # the gatherer could not read the change exactly
    break_glass: bool = False  # the requester marked the change break-glass


def team_members(
    catalog: Catalog, extra: Mapping[str, frozenset[str]] | None = None
) -> dict[str, frozenset[str]]:
    """Catalog-defined teams, overlaid by teams resolved elsewhere (e.g. GitHub)."""
    out = {team: frozenset(logins) for team, logins in catalog.teams.items()}
    if extra:
        for team, logins in extra.items():
            out.setdefault(team, frozenset(logins))
    return out


def is_member(login: str, names: Iterable[str], members: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``login`` is named directly or through a team. Unresolved teams: no one."""
    low = login.lower()
    for name in names:
        if name.startswith("@"):
            if low in {m.lower() for m in members.get(name, frozenset())}:
                return True
        elif name.lower() == low:
            return True
    return False


def classify(change: FileChange, before: Grant | None, now: datetime) -> ChangeKind:
    if change is FileChange.ADDED:
        return ChangeKind.REQUEST
    if change is FileChange.MODIFIED:
        return ChangeKind.EXTENSION
    if before is not None and before.expires_at <= now:
        return ChangeKind.EXPIRY
    return ChangeKind.REVOCATION


def overall_kind(kinds: set[ChangeKind], has_other_files: bool) -> ChangeKind:
    if not kinds:
        return ChangeKind.NONE
    if has_other_files:
        return ChangeKind.MIXED
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {ChangeKind.REVOCATION, ChangeKind.EXPIRY}:
        return ChangeKind.REVOCATION
    return ChangeKind.MIXED


def check_change(cs: ChangeSet) -> Decision:
    """Judge a change (base -> head) by the catalog at the base."""
    findings: list[Finding] = list(cs.problems)
    changes: list[GrantChange] = []
    other: list[str] = []
    opened: list[str] = []
    for path in sorted(cs.changed):
        change = cs.changed[path]
        if path == GRANTS_PLACEHOLDER:
            continue
        if not is_grant_path(path):
            other.append(path)
            continue
        before_file = cs.base.get(path)
        after_file = cs.head.get(path)
        before = before_file.grant if before_file else None
        after = after_file.grant if after_file else None
        if change is FileChange.MODIFIED and before is None:
            # the base side never was a valid grant: judge the new text as a new request
            change = FileChange.ADDED
        request = after_file.open if after_file is not None else None
        if request is not None and change is FileChange.ADDED:
            # the clock starts at approval: judge the grant it becomes if merged now
            ent = cs.catalog.entitlements.get(request.entitlement)
            after = request.materialise(cs.now, ent.max_duration if ent else None)
            opened.append(path)
            if ent is not None and request.duration > ent.max_duration:
                findings.append(
                    Finding(
                        "duration.capped",
                        path,
                        request.lines.get("duration"),
                        f"asks for {format_duration(request.duration)}; {ent.name} allows at "
                        f"most {format_duration(ent.max_duration)}, so access will end "
                        f"{format_duration(ent.max_duration)} after approval",
                        Severity.WARNING,
                    )
                )
        kind = classify(change, before, cs.now)
        changes.append(GrantChange(path, change, kind, before, after))
        if change is FileChange.DELETED:
            continue
        if after_file is not None:
            findings.extend(
                f
                for f in after_file.findings
                if not (request is not None and path in opened and f.rule == UNMATERIALISED)
            )
        if after is None:
            continue
        findings.extend(_check_grant(cs, after, before))

    kinds = {c.kind for c in changes}
    kind = overall_kind(kinds, bool(other))
    if cs.claimed_kind is ChangeKind.EXPIRY:
        findings.extend(_check_claimed_expiry(cs, changes, other))
    rules: list[ApprovalRule] = []
    for c in changes:
        if c.kind in (ChangeKind.REQUEST, ChangeKind.EXTENSION) and c.after is not None:
            ent = cs.catalog.entitlements.get(c.after.entitlement)
            if ent is not None:
                rules.extend(r for r in ent.approvals if r not in rules)
    # someone else's revocation needs what the grant needed: its entitlement's approvals
    foreign = [c for c in changes if c.kind is ChangeKind.REVOCATION and not may_revoke(cs, c)]
    for c in foreign:
        ent = cs.catalog.entitlements.get(c.before.entitlement) if c.before else None
        if ent is not None:
            rules.extend(r for r in ent.approvals if r not in rules)
    needs = kind in (ChangeKind.REQUEST, ChangeKind.EXTENSION, ChangeKind.MIXED) or bool(foreign)
    break_glass = False
    if cs.break_glass:
        bg = _check_break_glass(cs, kind, changes)
        findings.extend(bg)
        # allowed only when every grant may break glass; otherwise the findings refuse it
        break_glass = not bg
        needs = needs and not break_glass
    return Decision(
        kind=kind,
        needs_approval=needs,
        approval_rules=tuple(rules),
        findings=tuple(findings),
        changes=tuple(changes),
        other_paths=tuple(other),
        materialise=tuple(opened),
        break_glass=break_glass,
    )


def may_revoke(cs: ChangeSet, c: GrantChange) -> bool:
    """Whether the change's author may delete this live grant without approval: its holder
    (the catalog's identities give the author its principal; the requester is one, since
    requesters ask for their own identities) or one of the people who may approve its
    entitlement. Anyone else's revocation, or one by an unknown author, needs the
    entitlement's approvals: revoking lowers privilege, but taking someone's access away
    mid-incident is not for anyone who can open a pull request. A grant the catalog no longer
    describes (invalid file, removed entitlement) grants nothing: anyone may delete it."""
    g = c.before
    ent = cs.catalog.entitlements.get(g.entitlement) if g is not None else None
    if g is None or ent is None:
        return True
    if cs.author is None:
        return False
    if g.principal in identities_of(cs.catalog, cs.author):
        return True
    members = team_members(cs.catalog, cs.members)
    return any(is_member(cs.author, r.from_, members) for r in ent.approvals)


def _check_break_glass(
    cs: ChangeSet, kind: ChangeKind, changes: Sequence[GrantChange]
) -> list[Finding]:
    """Break-glass: only new requests, only for entitlements with ``break_glass``, only within
    its ``max_duration``. Every refusal is a finding (deny when unsure)."""
    out: list[Finding] = []
    if kind is not ChangeKind.REQUEST or not changes:
        where = changes[0].path if changes else "(change)"
        out.append(
            Finding(
                "break-glass.kind",
                where,
                None,
                f"break-glass is for new requests only; this change is {kind.value}",
            )
        )
        return out
    for c in changes:
        g = c.after
        if g is None:
            continue
        ent = cs.catalog.entitlements.get(g.entitlement)
        if ent is None:
            out.append(
                Finding(
                    "break-glass.not-allowed",
                    g.path,
                    g.line_of("entitlement"),
                    "break-glass needs a known entitlement",
                )
            )
            continue
        if ent.break_glass is None:
            out.append(
                Finding(
                    "break-glass.not-allowed",
                    g.path,
                    g.line_of("entitlement"),
                    f"{ent.name} has no break_glass in the catalog; ask for approval instead",
                )
            )
            continue
        start = max(cs.now, g.starts_at) if g.starts_at else cs.now
        if g.expires_at - start > ent.break_glass.max_duration:
            out.append(
                Finding(
                    "break-glass.duration",
                    g.path,
                    g.line_of("expires_at"),
                    f"break-glass access would last {format_duration(g.expires_at - start)}, "
                    f"longer than the {format_duration(ent.break_glass.max_duration)} that "
                    f"{ent.name}'s break_glass allows",
                )
            )
    return out


def _check_claimed_expiry(
    cs: ChangeSet, changes: Sequence[GrantChange], other: Sequence[str]
) -> list[Finding]:
    out: list[Finding] = []
    for path in other:
        out.append(
            Finding("change.not-expiry", path, None, "an expiry change may only delete grants")
        )
    for c in changes:
        if c.kind is ChangeKind.EXPIRY:
            continue
        if c.change is FileChange.DELETED and c.before is not None:
            msg = (
                f"grant {c.before.id} expires at {format_rfc3339(c.before.expires_at)}, "
                f"after now ({format_rfc3339(cs.now)}); an expiry may not remove it early"
            )
            out.append(Finding("change.not-expiry", c.path, None, msg))
        else:
            out.append(
                Finding(
                    "change.not-expiry", c.path, None, "an expiry change may only delete grants"
                )
            )
    return out


def _check_grant(cs: ChangeSet, grant: Grant, before: Grant | None) -> list[Finding]:
    """The rules for a grant that a change adds or modifies."""
    out: list[Finding] = []
    path = grant.path

    def add(rule: str, attr: str, message: str, severity: Severity = Severity.ERROR) -> None:
        out.append(Finding(rule, path, grant.line_of(attr), message, severity))

    if before is not None:
        for attr in ("principal", "entitlement", "starts_at", "duration"):
            old, new = getattr(before, attr), getattr(grant, attr)
            if old != new:
                add(
                    "grant.immutable",
                    attr,
                    f"{attr} changed from {_show(old)} to {_show(new)}; only expires_at, reason "
                    "and ticket may change. Revoke this grant and request a new one instead",
                )
    ent = cs.catalog.entitlements.get(grant.entitlement)
    if ent is None:
        known = ", ".join(sorted(cs.catalog.entitlements))
        add(
            "entitlement.unknown",
            "entitlement",
            f"entitlement {grant.entitlement!r} is not in the catalog; known: {known}",
        )
    out.extend(_check_requester(cs, grant, ent))
    if not grant.reason.strip():
        add("reason.empty", "reason", "reason is empty; say why you need this access")
    if grant.expires_at <= cs.now:
        add(
            "expiry.past",
            "expires_at",
            f"expires_at {format_rfc3339(grant.expires_at)} is not after now "
            f"({format_rfc3339(cs.now)})",
        )
    elif ent is not None:
        start = max(cs.now, grant.starts_at) if grant.starts_at else cs.now
        length = grant.expires_at - start
        if before is None and grant.duration is not None and length > grant.duration:
            add(
                "duration.window",
                "expires_at",
                f"expires_at {format_rfc3339(grant.expires_at)} is more than the "
                f"{format_duration(grant.duration)} asked for after now "
                f"({format_rfc3339(cs.now)}); a request with a duration gets its expires_at "
                "when jitctl merges it: remove expires_at",
            )
        if length > ent.max_duration:
            add(
                "duration.exceeded",
                "expires_at",
                f"access would last {format_duration(length)}, longer than the "
                f"{format_duration(ent.max_duration)} that {ent.name} allows; set expires_at "
                f"no later than {format_rfc3339(start + ent.max_duration)}",
            )
        if ent.module == "azure-pim" and length < AZURE_PIM_MIN_WINDOW:
            add(
                "azure.duration",
                "expires_at",
                f"access would last {format_duration(length)}; Azure PIM refuses an assignment "
                f"shorter than {format_duration(AZURE_PIM_MIN_WINDOW)} (the apply would fail); "
                f"set expires_at no earlier than {format_rfc3339(start + AZURE_PIM_MIN_WINDOW)}",
            )
    live = sorted(
        (
            o
            for o in cs.related
            if o.path != grant.path
            and o.principal == grant.principal
            and o.entitlement == grant.entitlement
            and o.expires_at > cs.now
        ),
        key=lambda o: o.path,
    )
    if live:
        # one notice, naming a few: a principal may hold thousands of such grants
        shown = ", ".join(f"{o.path} (until {format_rfc3339(o.expires_at)})" for o in live[:3])
        total = max(cs.related_counts.get((grant.principal, grant.entitlement), 0), len(live))
        more = total - min(len(live), 3)
        tail = f" and {more} more grant file(s) naming them" if more > 0 else ""
        add(
            "grant.overlap",
            "principal",
            f"{grant.principal} also holds {grant.entitlement} through {shown}{tail}; the "
            "windows are kept separately",
            Severity.WARNING,
        )
    if grant.expires_at > cs.now:
        out.extend(_check_azure_gap(cs, grant))
    return out


# What Azure PIM accepts of an active assignment's schedule (Microsoft Learn, "Assign Azure
# resource roles in Privileged Identity Management": an assignment "can't be assigned for a
# duration of less than five minutes"), and the longest window every role management policy
# admits: the policy's "expire active assignments after" (rule Expiration_Admin_Assignment) takes
# P15D, P30D, P90D, P180D or P365D (azurerm_role_management_policy, active_assignment_rules.
# expire_after), so 15 days is the most a catalog can allow and be accepted under any policy.
AZURE_PIM_MIN_WINDOW = timedelta(minutes=5)
AZURE_PIM_MAX_WINDOW = timedelta(days=15)


def azure_assignment_key(catalog: Catalog, grant: Grant) -> tuple[str, str, str] | None:
    """Azure identifies a PIM assignment by scope|role|principal (case-insensitively): grants
    with the same key share one assignment (modules/grants). None for other modules."""
    ent = catalog.entitlements.get(grant.entitlement)
    if ent is None or ent.module != "azure-pim":
        return None
    scope = str(ent.target.get("scope", "")).rstrip("/").lower()
    role = str(ent.target.get("role_definition_name", "")).lower()
    return (grant.principal.lower(), scope, role)


def azure_siblings(catalog: Catalog, entitlement: str) -> tuple[str, ...]:
    """The other entitlements whose grants share an Azure assignment with ``entitlement``'s."""
    ent = catalog.entitlements.get(entitlement)
    if ent is None or ent.module != "azure-pim":
        return ()
    key = (
        str(ent.target.get("scope", "")).rstrip("/").lower(),
        str(ent.target.get("role_definition_name", "")).lower(),
    )
    return tuple(
        sorted(
            name
            for name, e in catalog.entitlements.items()
            if name != entitlement
            and e.module == "azure-pim"
            and (
                str(e.target.get("scope", "")).rstrip("/").lower(),
                str(e.target.get("role_definition_name", "")).lower(),
            )
            == key
        )
    )


# The overlap search's cheap test (git/snapshot.py related_grants): a principal may hold
# thousands of grant files of one entitlement, most of them expired when the expiry run lags, and
# only live ones matter (overlap notices and Azure's gap rule keep expires_at > now). A file is
# set aside unparsed only when its text proves it holds no live grant: the name expires_at occurs
# exactly once, on a line of its own that sets it to a plain quoted RFC 3339 time at or before
# now. Were that line inside a comment or a heredoc, the file would have no expires_at attribute
# at all and the strict reader would refuse it (no grant); otherwise it IS the attribute, and the
# quoted text (no escape, no template: only the characters of a time) is its value.
_EXPIRES_LINE = re.compile(
    rb'^[ \t]*expires_at[ \t]*=[ \t]*"([0-9Tt:.Zz+-]{1,40})"[ \t]*\r?$', re.MULTILINE
)


def expired_by_text(data: bytes, now: datetime) -> bool:
    """True only when a grant file's bytes prove it holds no grant live at ``now`` (see above);
    False whenever unsure (then the file is parsed)."""
    if data.count(b"expires_at") != 1:
        return False
    m = _EXPIRES_LINE.search(data)
    if m is None:
        return False
    instant = _instant(m.group(1))
    return instant is not None and instant <= now


@lru_cache(maxsize=1024)
def _instant(text: bytes) -> datetime | None:
    """A quoted time's instant (None if not RFC 3339): most grant files share a few expiries."""
    try:
        return parse_rfc3339(text.decode("ascii"))
    except ValueError:
        return None


def windows_leave_a_gap(grants: Sequence[Grant], now: datetime) -> bool:
    """Whether the union of the grants' windows [starts_at or now, expires_at) is not one window:
    some window's end, other than the latest, lies inside no other window."""
    last = max(g.expires_at for g in grants)
    for g in grants:
        if g.expires_at == last:
            continue
        if not any(
            o is not g and (o.starts_at or now) <= g.expires_at < o.expires_at for o in grants
        ):
            return True
    return False


def _check_azure_gap(cs: ChangeSet, grant: Grant) -> list[Finding]:
    key = azure_assignment_key(cs.catalog, grant)
    if key is None:
        return []
    group = [grant] + [
        o
        for o in cs.related
        if o.path != grant.path
        and o.expires_at > cs.now
        and azure_assignment_key(cs.catalog, o) == key
    ]
    if len(group) < 2 or not windows_leave_a_gap(group, cs.now):
        return []
    others = ", ".join(sorted(o.path for o in group if o is not grant))
    return [
        Finding(
            "azure.disjoint",
            grant.path,
            grant.line_of("starts_at" if grant.starts_at else "expires_at"),
            f"{grant.principal} holds the same Azure role at the same scope through {others}, "
            "and Azure keeps ONE PIM assignment per principal, role and scope: the windows must "
            "overlap or touch (one schedule over a gap would grant access nobody approved). "
            "Request this window once the other has ended, or change it to overlap",
        )
    ]


def _check_requester(cs: ChangeSet, grant: Grant, ent: Entitlement | None) -> list[Finding]:
    def finding(rule: str, attr: str, message: str) -> Finding:
        return Finding(rule, grant.path, grant.line_of(attr), message)

    if cs.author is None:
        return [
            finding(
                "requester.unknown",
                "grant",
                "the requester is unknown (no --author, no PR author), so eligibility cannot be "
                "checked; a change that adds or extends a grant needs a known requester",
            )
        ]
    out: list[Finding] = []
    principals = identities_of(cs.catalog, cs.author)
    if grant.principal not in principals:
        allowed = ", ".join(principals) if principals else "none"
        out.append(
            finding(
                "requester.principal",
                "principal",
                f"{cs.author} may not request access for {grant.principal!r}; the catalog's "
                f"identities give {cs.author} these principals: {allowed}",
            )
        )
    if ent is not None and ent.requesters is not None:
        members = team_members(cs.catalog, cs.members)
        if not is_member(cs.author, ent.requesters, members):
            out.append(
                finding(
                    "requester.not-allowed",
                    "entitlement",
                    f"{cs.author} may not request {ent.name}; requesters: "
                    f"{', '.join(ent.requesters)}",
                )
            )
    return out


def identities_of(catalog: Catalog, login: str) -> tuple[str, ...]:
    """The principals ``login`` may request for (catalog ``identities``; case-insensitive)."""
    for name, principals in catalog.identities.items():
        if name.lower() == login.lower():
            return principals
    return ()


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return format_rfc3339(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    return "(none)" if value is None else repr(value)


@dataclass(frozen=True)
class TreeFindings:
    """What ``tree_findings`` found, in the order ``check_tree`` lists it: every finding of a
    file, the catalog or Azure (``findings``), then the ``grant.overlap`` warnings, made one
    group at a time as they are read. Every overlapping grant's message names all the others in
    its group, so at 100,000 grants those messages were most of ``check``'s memory (42 of the
    55 MB); a group holds only its grants. Iterable more than once, with the same findings."""

    findings: tuple[Finding, ...]
    # (principal, entitlement, the live grants that overlap), by principal and entitlement
    overlaps: tuple[tuple[str, str, tuple[Grant, ...]], ...]

    @property
    def ok(self) -> bool:
        """No error among the findings (an overlap is a warning)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def __iter__(self) -> Iterator[Finding]:
        yield from self.findings
        for principal, entitlement, live in self.overlaps:
            yield from _overlap_findings(principal, entitlement, live)


def _overlap_findings(principal: str, entitlement: str, live: Sequence[Grant]) -> Iterator[Finding]:
    for g in live:
        others = ", ".join(o.path for o in live if o is not g)
        yield Finding(
            "grant.overlap",
            g.path,
            g.line_of("principal"),
            f"{principal} also holds {entitlement} through {others}",
            Severity.WARNING,
        )


def check_tree(
    catalog: Catalog, files: Iterable[GrantFile], now: datetime, *, open_requests: bool = False
) -> list[Finding]:
    """Check every grant on a branch (no change, no requester): files, catalog, overlaps.

    ``open_requests``: files being written (``check FILE...``), where an open request (a
    duration, no expires_at yet) is judged as the grant it becomes if merged now; on a branch
    it is never a grant (``grant.unmaterialised``)."""
    return list(tree_findings(catalog, files, now, open_requests=open_requests))


def tree_findings(
    catalog: Catalog, files: Iterable[GrantFile], now: datetime, *, open_requests: bool = False
) -> TreeFindings:
    """``check_tree``'s findings, the overlap warnings made only as they are read (for
    ``jitctl check`` of every grant, which writes them as it goes)."""
    out: list[Finding] = []
    by_key: dict[tuple[str, str], list[Grant]] = {}
    by_azure: dict[tuple[str, str, str], list[Grant]] = {}
    for gf in sorted(files, key=lambda g: g.path):
        g = gf.grant
        request = gf.open if open_requests else None
        if request is None:
            out.extend(gf.findings)
        else:
            ent = catalog.entitlements.get(request.entitlement)
            g = request.materialise(now, ent.max_duration if ent else None)
            out.extend(f for f in gf.findings if f.rule != UNMATERIALISED)
            if ent is not None and request.duration > ent.max_duration:
                out.append(
                    Finding(
                        "duration.capped",
                        gf.path,
                        g.line_of("duration"),
                        f"asks for {format_duration(request.duration)}; {ent.name} allows at "
                        f"most {format_duration(ent.max_duration)}",
                        Severity.WARNING,
                    )
                )
        if g is None:
            continue
        ent = catalog.entitlements.get(g.entitlement)
        if ent is None:
            out.append(
                Finding(
                    "entitlement.unknown",
                    g.path,
                    g.line_of("entitlement"),
                    f"entitlement {g.entitlement!r} is not in the catalog",
                )
            )
        if not g.reason.strip():
            out.append(Finding("reason.empty", g.path, g.line_of("reason"), "reason is empty"))
        if g.expires_at <= now:
            out.append(
                Finding(
                    "grant.expired",
                    g.path,
                    g.line_of("expires_at"),
                    f"expired at {format_rfc3339(g.expires_at)}; `jitctl expire` removes it",
                    Severity.WARNING,
                )
            )
        elif (
            ent is not None
            and g.starts_at is not None
            and g.expires_at - g.starts_at > (ent.max_duration)
        ):
            out.append(
                Finding(
                    "duration.exceeded",
                    g.path,
                    g.line_of("expires_at"),
                    f"window {format_duration(g.expires_at - g.starts_at)} is longer than the "
                    f"{format_duration(ent.max_duration)} that {ent.name} allows",
                )
            )
        by_key.setdefault((g.principal, g.entitlement), []).append(g)
        azure = azure_assignment_key(catalog, g)
        if azure is not None and g.expires_at > now:
            by_azure.setdefault(azure, []).append(g)
    for group in by_azure.values():
        if len(group) > 1 and windows_leave_a_gap(group, now):
            for g in group:
                others = ", ".join(o.path for o in group if o is not g)
                out.append(
                    Finding(
                        "azure.disjoint",
                        g.path,
                        g.line_of("expires_at"),
                        f"{g.principal} holds the same Azure role at the same scope through "
                        f"{others}; Azure keeps one PIM assignment per principal, role and scope, "
                        "and these windows leave a gap",
                    )
                )
    overlaps: list[tuple[str, str, tuple[Grant, ...]]] = []
    for (principal, entitlement), grants in sorted(by_key.items()):
        live = tuple(g for g in grants if g.expires_at > now)
        if len(live) > 1:
            overlaps.append((principal, entitlement, live))
    return TreeFindings(tuple(out), tuple(overlaps))


# --- approvals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalOutcome:
    satisfied: bool
    approvers: tuple[str, ...]  # the approvals that counted, in the assignment that met the rules
    missing: tuple[str, ...]  # human-readable: what is still needed
    ignored: tuple[tuple[str, str], ...]  # (login, why it did not count)
    blocked_by: tuple[str, ...] = ()  # eligible approvers whose latest review requests changes


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """The latest deciding review per reviewer (COMMENTED/PENDING never override a decision)."""
    latest: dict[str, Review] = {}
    for r in sorted(reviews, key=lambda r: (r.submitted_at is None, r.submitted_at, r.id)):
        if r.state in (ReviewState.COMMENTED, ReviewState.PENDING):
            continue
        latest[r.login.lower()] = r
    return latest


def evaluate_approvals(
    rules: Sequence[ApprovalRule],
    reviews: Iterable[Review],
    *,
    head: str | None,
    author: str | None,
    members: Mapping[str, frozenset[str]],
    also: Iterable[str] = (),
) -> ApprovalOutcome:
    """Do the reviews meet every rule (AND)? One person counts toward one rule slot only.

    Only the latest deciding review per reviewer counts, only an approval given on ``head``
    (None: any commit, for local merges where approvals name no commit) or on a commit in
    ``also`` (the open request that ``head`` only materialises), never the author's.
    """
    accepted = {head, *also}
    ignored: list[tuple[str, str]] = []
    valid: list[str] = []
    blocked: list[str] = []
    everyone = [name for rule in rules for name in rule.from_]
    for login, review in sorted(latest_reviews(reviews).items()):
        name = review.login
        if author is not None and login == author.lower():
            if review.state is ReviewState.APPROVED:
                ignored.append((name, "the author's own approval never counts"))
            continue
        if review.state is ReviewState.CHANGES_REQUESTED:
            if is_member(name, everyone, members):
                blocked.append(name)
            continue
        if review.state is not ReviewState.APPROVED:
            continue
        if head is not None and review.commit not in accepted:
            ignored.append((name, f"approved {review.commit[:12]}, not the current head"))
            continue
        if not is_member(name, everyone, members):
            ignored.append((name, "not an approver for this entitlement"))
            continue
        valid.append(name)

    assignment = _assign(rules, valid, members)
    missing: list[str] = []
    for i, rule in enumerate(rules):
        got = sum(1 for r in assignment.values() if r == i)
        if got < rule.count:
            missing.append(f"{rule.count - got} more from {', '.join(rule.from_)}")
    counted = tuple(sorted(assignment))
    for name in valid:
        if name not in assignment:
            ignored.append((name, "already counted toward another rule, or not needed"))
    if blocked:
        missing.append("changes requested by " + ", ".join(blocked))
    return ApprovalOutcome(
        satisfied=not missing and bool(rules),
        approvers=counted,
        missing=tuple(missing) if rules else ("no approval rule applies",),
        ignored=tuple(ignored),
        blocked_by=tuple(blocked),
    )


def _assign(
    rules: Sequence[ApprovalRule], approvers: Sequence[str], members: Mapping[str, frozenset[str]]
) -> dict[str, int]:
    """Maximum matching of approvers to rule slots (augmenting paths; inputs are small)."""
    slots = [i for i, rule in enumerate(rules) for _ in range(rule.count)]
    slot_owner: dict[int, str] = {}

    def eligible(name: str, slot: int) -> bool:
        return is_member(name, rules[slots[slot]].from_, members)

    def augment(name: str, seen: set[int]) -> bool:
        for s in range(len(slots)):
            if s in seen or not eligible(name, s):
                continue
            seen.add(s)
            if s not in slot_owner or augment(slot_owner[s], seen):
                slot_owner[s] = name
                return True
        return False

    for name in approvers:
        augment(name, set())
    return {name: slots[s] for s, name in slot_owner.items()}


# --- expiry --------------------------------------------------------------------------------


def plan_expiry(grants: Iterable[Grant], now: datetime) -> tuple[Grant, ...]:
    """The grants an expiry removes: exactly those with expires_at <= now, by path."""
    return tuple(sorted((g for g in grants if g.expires_at <= now), key=lambda g: g.path))


def plan_reminders(grants: Iterable[Grant], now: datetime, before: timedelta) -> tuple[Grant, ...]:
    """The grants still live that expire within ``before`` from now, soonest first."""
    due = (g for g in grants if now < g.expires_at <= now + before)
    return tuple(sorted(due, key=lambda g: (g.expires_at, g.path)))
