"""Table-driven tests of the pure policy engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from controller.core.model import (
    ApprovalRule,
    ChangeKind,
    FileChange,
    Finding,
    Grant,
    GrantFile,
    Review,
    ReviewState,
    Severity,
)
from controller.core.policy import (
    ChangeSet,
    check_change,
    check_tree,
    evaluate_approvals,
    plan_expiry,
    team_members,
    tree_findings,
)
from tests.factories import EXAMPLE_CATALOG_TEXT as EXAMPLE
from tests.factories import NOW, example_catalog, make_grant, t

CAT = example_catalog()


def changeset(
    *,
    added: Sequence[Grant] = (),
    modified: Sequence[tuple[Grant, Grant]] = (),
    deleted: Sequence[Grant] = (),
    other: Sequence[str] = (),
    author: str | None = "alice",
    related: Sequence[Grant] = (),
    claimed: ChangeKind | None = None,
    bad_files: Sequence[GrantFile] = (),
) -> ChangeSet:
    changed: dict[str, FileChange] = {}
    base: dict[str, GrantFile] = {}
    head: dict[str, GrantFile] = {}
    for g in added:
        changed[g.path] = FileChange.ADDED
        head[g.path] = GrantFile(g.path, g)
    for before, after in modified:
        changed[after.path] = FileChange.MODIFIED
        base[before.path] = GrantFile(before.path, before)
        head[after.path] = GrantFile(after.path, after)
    for g in deleted:
        changed[g.path] = FileChange.DELETED
        base[g.path] = GrantFile(g.path, g)
    for gf in bad_files:
        changed[gf.path] = FileChange.ADDED
        head[gf.path] = gf
    for p in other:
        changed[p] = FileChange.MODIFIED
    return ChangeSet(
        catalog=CAT,
        changed=changed,
        base=base,
        head=head,
        author=author,
        now=NOW,
        related=related,
        claimed_kind=claimed,
    )


def rules_of(findings: Sequence[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


# (name, changeset kwargs, expected kind, expected rule ids)
CASES: list[tuple[str, dict[str, Any], ChangeKind, list[str]]] = [
    ("valid request", {"added": [make_grant()]}, ChangeKind.REQUEST, []),
    (
        "unknown entitlement",
        {"added": [make_grant(entitlement="nope")]},
        ChangeKind.REQUEST,
        ["entitlement.unknown"],
    ),
    (
        "no author",
        {"added": [make_grant()], "author": None},
        ChangeKind.REQUEST,
        ["requester.unknown"],
    ),
    (
        "principal of someone else",
        {"added": [make_grant(principal="bob@example.com")]},
        ChangeKind.REQUEST,
        ["requester.principal"],
    ),
    (
        "author without identity",
        {"added": [make_grant()], "author": "mallory"},
        ChangeKind.REQUEST,
        ["requester.not-allowed", "requester.principal"],
    ),
    (
        "not among requesters",
        {
            "added": [
                make_grant(entitlement="aws-prod-admin", expires_at=NOW + timedelta(minutes=30))
            ]
        },
        ChangeKind.REQUEST,
        ["requester.not-allowed"],
    ),
    (
        "requester via team",
        {
            "added": [
                make_grant(
                    principal="carol@example.com",
                    entitlement="aws-prod-admin",
                    expires_at=NOW + timedelta(minutes=30),
                )
            ],
            "author": "carol",
        },
        ChangeKind.REQUEST,
        [],
    ),
    ("empty reason", {"added": [make_grant(reason="  ")]}, ChangeKind.REQUEST, ["reason.empty"]),
    (
        "expires in the past",
        {"added": [make_grant(expires_at=NOW - timedelta(seconds=1))]},
        ChangeKind.REQUEST,
        ["expiry.past"],
    ),
    (
        "expires exactly now",
        {"added": [make_grant(expires_at=NOW)]},
        ChangeKind.REQUEST,
        ["expiry.past"],
    ),
    (
        "exactly max duration",
        {"added": [make_grant(expires_at=NOW + timedelta(hours=12))]},
        ChangeKind.REQUEST,
        [],
    ),
    (
        "a second over max duration",
        {"added": [make_grant(expires_at=NOW + timedelta(hours=12, seconds=1))]},
        ChangeKind.REQUEST,
        ["duration.exceeded"],
    ),
    (
        "duration counted from a future starts_at",
        {
            "added": [
                make_grant(
                    starts_at=NOW + timedelta(days=2), expires_at=NOW + timedelta(days=2, hours=12)
                )
            ]
        },
        ChangeKind.REQUEST,
        [],
    ),
    (
        "duration from starts_at too long",
        {
            "added": [
                make_grant(
                    starts_at=NOW + timedelta(days=2), expires_at=NOW + timedelta(days=2, hours=13)
                )
            ]
        },
        ChangeKind.REQUEST,
        ["duration.exceeded"],
    ),
    (
        "past starts_at counts from now",
        {
            "added": [
                make_grant(starts_at=NOW - timedelta(hours=5), expires_at=NOW + timedelta(hours=12))
            ]
        },
        ChangeKind.REQUEST,
        [],
    ),
    (
        "extension",
        {
            "modified": [
                (
                    make_grant(),
                    make_grant(expires_at=NOW + timedelta(hours=6), reason="still on it"),
                )
            ]
        },
        ChangeKind.EXTENSION,
        [],
    ),
    (
        "extension changing principal",
        {
            "modified": [(make_grant(), make_grant(principal="alice-other@example.com"))],
            "author": "alice",
        },
        ChangeKind.EXTENSION,
        ["grant.immutable", "requester.principal"],
    ),
    (
        "extension changing entitlement",
        {"modified": [(make_grant(), make_grant(entitlement="gcp-prod-logs-viewer"))]},
        ChangeKind.EXTENSION,
        ["grant.immutable"],
    ),
    (
        "extension changing starts_at",
        {"modified": [(make_grant(), make_grant(starts_at=NOW + timedelta(hours=1)))]},
        ChangeKind.EXTENSION,
        ["grant.immutable"],
    ),
    (
        "extension beyond max",
        {"modified": [(make_grant(), make_grant(expires_at=NOW + timedelta(hours=13)))]},
        ChangeKind.EXTENSION,
        ["duration.exceeded"],
    ),
    (
        "extension by someone not eligible",
        {
            "modified": [(make_grant(), make_grant(expires_at=NOW + timedelta(hours=2)))],
            "author": "bob",
        },
        ChangeKind.EXTENSION,
        ["requester.principal"],
    ),
    ("revocation", {"deleted": [make_grant()], "author": "bob"}, ChangeKind.REVOCATION, []),
    ("expiry", {"deleted": [make_grant(expires_at=NOW)], "author": None}, ChangeKind.EXPIRY, []),
    (
        "expiry and revocation together",
        {"deleted": [make_grant(id="a", expires_at=NOW), make_grant(id="b")]},
        ChangeKind.REVOCATION,
        [],
    ),
    (
        "claimed expiry that revokes early",
        {
            "deleted": [make_grant(id="a", expires_at=NOW), make_grant(id="b")],
            "claimed": ChangeKind.EXPIRY,
        },
        ChangeKind.REVOCATION,
        ["change.not-expiry"],
    ),
    (
        "claimed expiry touching other files",
        {
            "deleted": [make_grant(expires_at=NOW)],
            "other": ["catalog.yaml"],
            "claimed": ChangeKind.EXPIRY,
        },
        ChangeKind.MIXED,
        ["change.not-expiry"],
    ),
    (
        "claimed expiry adding a grant",
        {
            "added": [make_grant(id="new")],
            "deleted": [make_grant(expires_at=NOW)],
            "claimed": ChangeKind.EXPIRY,
        },
        ChangeKind.MIXED,
        ["change.not-expiry"],
    ),
    (
        "claimed expiry, all expired",
        {
            "deleted": [make_grant(expires_at=NOW - timedelta(hours=1))],
            "claimed": ChangeKind.EXPIRY,
        },
        ChangeKind.EXPIRY,
        [],
    ),
    (
        "grant with catalog change is mixed",
        {"added": [make_grant()], "other": ["catalog.yaml"]},
        ChangeKind.MIXED,
        [],
    ),
    (
        "request and revocation is mixed",
        {"added": [make_grant(id="x")], "deleted": [make_grant(id="y")]},
        ChangeKind.MIXED,
        [],
    ),
    ("catalog only", {"other": ["catalog.yaml"]}, ChangeKind.NONE, []),
    ("nothing", {}, ChangeKind.NONE, []),
    (
        "bad file findings pass through",
        {
            "bad_files": [
                GrantFile(
                    "grants/x.hcl", None, (Finding("grant.syntax", "grants/x.hcl", 3, "bad"),)
                )
            ]
        },
        ChangeKind.REQUEST,
        ["grant.syntax"],
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "kind", "rules"), CASES, ids=[c[0] for c in CASES])
def test_check_change(
    name: str, kwargs: dict[str, Any], kind: ChangeKind, rules: list[str]
) -> None:
    d = check_change(changeset(**kwargs))
    assert d.kind is kind
    assert rules_of(d.errors) == sorted(rules)
    assert d.ok is (not rules)


def test_findings_name_file_and_line() -> None:
    g = make_grant(expires_at=NOW + timedelta(hours=13))
    [f] = check_change(changeset(added=[g])).findings
    assert (f.rule, f.file, f.line) == ("duration.exceeded", "grants/alice-ro.hcl", 4)
    assert "2026-11-25T00:00:00Z" in f.message  # the latest allowed expiry is suggested


def test_request_needs_the_entitlements_rules() -> None:
    d = check_change(
        changeset(
            added=[
                make_grant(
                    principal="carol@example.com",
                    entitlement="aws-prod-admin",
                    expires_at=NOW + timedelta(minutes=30),
                )
            ],
            author="carol",
        )
    )
    assert d.needs_approval
    assert d.approval_rules == (
        ApprovalRule(("@acme/sre",), 1),
        ApprovalRule(("@acme/security",), 1),
    )


@pytest.mark.parametrize(
    ("kwargs", "needs"),
    [
        ({"deleted": [make_grant()]}, False),
        ({"deleted": [make_grant(expires_at=NOW)]}, False),
        ({"other": ["README.md"]}, False),
        ({"added": [make_grant()]}, True),
        ({"added": [make_grant()], "other": ["x"]}, True),
    ],
)
def test_which_changes_need_approval(kwargs: dict[str, Any], needs: bool) -> None:
    assert check_change(changeset(**kwargs)).needs_approval is needs


def test_overlap_is_reported_as_a_warning_not_an_error() -> None:
    other = make_grant(id="alice-ro-2", expires_at=NOW + timedelta(hours=2))
    d = check_change(changeset(added=[make_grant()], related=[other]))
    assert d.ok
    [f] = d.findings
    assert (f.rule, f.severity) == ("grant.overlap", Severity.WARNING)
    assert "grants/alice-ro-2.hcl" in f.message


def test_expired_related_grant_is_no_overlap() -> None:
    other = make_grant(id="old", expires_at=NOW)
    assert check_change(changeset(added=[make_grant()], related=[other])).findings == ()


# --- defect 1: Azure keeps one PIM assignment per principal, role and scope -----------------

AZ = "11111111-1111-4111-8111-111111111111"


def az(gid: str, start: str | None, end: str, **kw: Any) -> Any:
    return make_grant(
        id=gid,
        principal=kw.pop("principal", AZ),
        entitlement=kw.pop("entitlement", "azure-prod-contributor"),
        starts_at=t(start) if start else None,
        expires_at=t(end),
        **kw,
    )


@pytest.mark.parametrize(
    ("other", "gap"),
    [
        (az("b", None, "2026-11-24T13:00:00Z"), False),  # both running: overlap
        (az("b", "2026-11-24T15:00:00Z", "2026-11-24T18:00:00Z"), False),  # overlaps the end
        (az("b", "2026-11-24T16:00:00Z", "2026-11-24T18:00:00Z"), False),  # touches
        (az("b", "2026-11-24T16:00:01Z", "2026-11-24T18:00:00Z"), True),  # one second apart
        (az("b", "2026-11-24T20:00:00Z", "2026-11-24T21:00:00Z"), True),  # later, disjoint
        (az("b", None, "2026-11-24T12:00:00Z"), False),  # expired: no assignment any more
        (az("b", "2026-11-24T20:00:00Z", "2026-11-24T21:00:00Z", principal="x"), False),
    ],
)
def test_defect1_azure_pim_grants_with_a_gap_are_refused(other: Any, gap: bool) -> None:
    grant = az("a", None, "2026-11-24T16:00:00Z")
    d = check_change(changeset(added=[grant], related=[other]))
    rules = [f.rule for f in d.errors]
    assert rules == (["azure.disjoint"] if gap else [])


def test_defect1_azure_pim_key_spans_entitlements_with_the_same_scope_and_role() -> None:
    from controller.core.policy import azure_siblings

    text = EXAMPLE.replace(
        "  azure-prod-contributor:",
        "  azure-prod-contributor-2:\n    description: same role\n    module: azure-pim\n"
        "    target:\n      scope: /SUBSCRIPTIONS/00000000-0000-4000-8000-000000000000/\n"
        "      role_definition_name: contributor\n    max_duration: 4h\n"
        "    approvers: ['@acme/sre']\n\n  azure-prod-contributor:",
    )
    from controller.formats.catalog import load_catalog

    cat = load_catalog(text)
    assert azure_siblings(cat, "azure-prod-contributor") == ("azure-prod-contributor-2",)
    assert azure_siblings(cat, "aws-prod-readonly") == ()
    files = [
        GrantFile("grants/a.hcl", az("a", None, "2026-11-24T14:00:00Z")),
        GrantFile(
            "grants/b.hcl",
            az(
                "b",
                "2026-11-24T15:00:00Z",
                "2026-11-24T16:00:00Z",
                entitlement="azure-prod-contributor-2",
            ),
        ),
    ]
    got = sorted(
        (f.file, f.rule) for f in check_tree(cat, files, NOW) if f.rule == "azure.disjoint"
    )
    assert got == [("grants/a.hcl", "azure.disjoint"), ("grants/b.hcl", "azure.disjoint")]


# --- whole tree ----------------------------------------------------------------------------


def test_check_tree() -> None:
    files = [
        GrantFile("grants/a.hcl", make_grant(id="a")),
        GrantFile("grants/b.hcl", make_grant(id="b")),  # overlaps a
        GrantFile("grants/c.hcl", make_grant(id="c", expires_at=NOW)),  # expired, no overlap
        GrantFile("grants/d.hcl", make_grant(id="d", entitlement="gone")),
        GrantFile("grants/e.hcl", make_grant(id="e", principal="e@x", reason="")),
        GrantFile(
            "grants/f.hcl",
            make_grant(
                id="f", principal="f@x", starts_at=NOW, expires_at=NOW + timedelta(hours=13)
            ),
        ),
    ]
    findings = check_tree(CAT, files, NOW)
    got = sorted((f.file, f.rule, f.severity.value) for f in findings)
    assert got == [
        ("grants/a.hcl", "grant.overlap", "warning"),
        ("grants/b.hcl", "grant.overlap", "warning"),
        ("grants/c.hcl", "grant.expired", "warning"),
        ("grants/d.hcl", "entitlement.unknown", "error"),
        ("grants/e.hcl", "reason.empty", "error"),
        ("grants/f.hcl", "duration.exceeded", "error"),
    ]


def test_tree_findings_is_check_tree_made_as_read() -> None:
    """``tree_findings`` (what ``check`` of every grant writes as it goes) gives the findings
    of ``check_tree`` in its order each time it is read, and is ok only without an error."""
    files = [
        GrantFile(f"grants/{p}{i}.hcl", make_grant(id=f"{p}{i}", principal=f"{p}@x"))
        for p in ("z", "a")
        for i in (2, 1, 3)
    ]
    overlaps = tree_findings(CAT, files, NOW)
    assert overlaps.ok
    assert list(overlaps) == list(overlaps) == check_tree(CAT, files, NOW)
    assert [(f.file, f.message) for f in overlaps][:2] == [
        ("grants/a1.hcl", "a@x also holds aws-prod-readonly through grants/a2.hcl, grants/a3.hcl"),
        ("grants/a2.hcl", "a@x also holds aws-prod-readonly through grants/a1.hcl, grants/a3.hcl"),
    ]
    bad = [*files, GrantFile("grants/e.hcl", make_grant(id="e", principal="e@x", reason=""))]
    with_error = tree_findings(CAT, bad, NOW)
    assert not with_error.ok
    assert [f.rule for f in with_error] == ["reason.empty"] + ["grant.overlap"] * 6


def test_plan_expiry_boundary() -> None:
    grants = [
        make_grant(id="at-now", expires_at=NOW),
        make_grant(id="second-later", expires_at=NOW + timedelta(seconds=1)),
        make_grant(id="long-ago", expires_at=NOW - timedelta(days=3)),
    ]
    assert [g.id for g in plan_expiry(grants, NOW)] == ["at-now", "long-ago"]


# --- approvals -----------------------------------------------------------------------------

HEAD = "h" * 40
OLD = "o" * 40
MEMBERS = team_members(CAT)
ONE_SRE = (ApprovalRule(("@acme/sre", "carol"), 1),)
SRE_AND_SEC = (ApprovalRule(("@acme/sre",), 1), ApprovalRule(("@acme/security",), 1))


def review(login: str, state: str = "APPROVED", commit: str = HEAD, rid: int = 1) -> Review:
    return Review(login=login, state=ReviewState(state), commit=commit, id=rid)


APPROVAL_CASES: list[tuple[str, tuple[ApprovalRule, ...], list[Review], bool]] = [
    ("no reviews", ONE_SRE, [], False),
    ("carol approves", ONE_SRE, [review("carol")], True),
    ("dave via team", ONE_SRE, [review("dave")], True),
    ("self approval never counts", ONE_SRE, [review("alice")], False),
    ("approver also author", ONE_SRE, [review("carol")], True),
    ("outsider", ONE_SRE, [review("bob")], False),
    ("stale approval", ONE_SRE, [review("carol", commit=OLD)], False),
    (
        "latest review wins: approval then changes",
        ONE_SRE,
        [review("carol", rid=1), review("carol", "CHANGES_REQUESTED", rid=2)],
        False,
    ),
    (
        "latest review wins: changes then approval",
        ONE_SRE,
        [review("carol", "CHANGES_REQUESTED", rid=1), review("carol", rid=2)],
        True,
    ),
    (
        "comment does not undo approval",
        ONE_SRE,
        [review("carol", rid=1), review("carol", "COMMENTED", rid=2)],
        True,
    ),
    (
        "dismissed approval",
        ONE_SRE,
        [review("carol", rid=1), review("carol", "DISMISSED", rid=2)],
        False,
    ),
    (
        "changes requested by another approver blocks",
        ONE_SRE,
        [review("carol", rid=1), review("dave", "CHANGES_REQUESTED", rid=2)],
        False,
    ),
    ("AND: only sre", SRE_AND_SEC, [review("carol")], False),
    ("AND: sre and security", SRE_AND_SEC, [review("carol"), review("erin")], True),
    ("two from sre", (ApprovalRule(("@acme/sre",), 2),), [review("carol"), review("dave")], True),
    (
        "two from sre, one twice",
        (ApprovalRule(("@acme/sre",), 2),),
        [review("carol", rid=1), review("carol", rid=2)],
        False,
    ),
    ("no rules: deny", (), [review("carol")], False),
]


@pytest.mark.parametrize(
    ("name", "rules", "reviews", "ok"), APPROVAL_CASES, ids=[c[0] for c in APPROVAL_CASES]
)
def test_evaluate_approvals(
    name: str, rules: tuple[ApprovalRule, ...], reviews: list[Review], ok: bool
) -> None:
    author = "carol" if name == "approver also author" else "alice"
    if name == "approver also author":
        reviews = [*reviews, review("dave")]
    out = evaluate_approvals(rules, reviews, head=HEAD, author=author, members=MEMBERS)
    assert out.satisfied is ok, out


def test_one_person_fills_one_rule_slot_only() -> None:
    members = {"@acme/sre": frozenset({"erin", "carol"}), "@acme/security": frozenset({"erin"})}
    out = evaluate_approvals(
        SRE_AND_SEC, [review("erin")], head=HEAD, author="alice", members=members
    )
    assert not out.satisfied
    # the matching finds the assignment that works: carol -> sre, erin -> security
    out = evaluate_approvals(
        SRE_AND_SEC, [review("erin"), review("carol")], head=HEAD, author="alice", members=members
    )
    assert out.satisfied
    assert out.approvers == ("carol", "erin")


def test_unresolvable_team_counts_as_no_one() -> None:
    rules = (ApprovalRule(("@acme/ghosts",), 1),)
    out = evaluate_approvals(rules, [review("carol")], head=HEAD, author="alice", members=MEMBERS)
    assert not out.satisfied
    assert ("carol", "not an approver for this entitlement") in out.ignored


def test_self_approval_is_reported() -> None:
    out = evaluate_approvals(ONE_SRE, [review("alice")], head=HEAD, author="alice", members=MEMBERS)
    assert out.ignored == (("alice", "the author's own approval never counts"),)
    assert out.missing == ("1 more from @acme/sre, carol",)


def test_local_approvals_without_head() -> None:
    out = evaluate_approvals(
        ONE_SRE, [review("carol", commit="")], head=None, author="alice", members=MEMBERS
    )
    assert out.satisfied


def test_dates_order_reviews() -> None:
    r1 = Review("carol", ReviewState.APPROVED, HEAD, t("2026-11-24T10:00:00Z"), id=9)
    r2 = Review("carol", ReviewState.CHANGES_REQUESTED, HEAD, t("2026-11-24T11:00:00Z"), id=1)
    out = evaluate_approvals(ONE_SRE, [r1, r2], head=HEAD, author="alice", members=MEMBERS)
    assert not out.satisfied


# --- the clock starts at approval ----------------------------------------------------------


def open_file(duration: timedelta, **kw: Any) -> GrantFile:
    from controller.core.model import OpenRequest

    values: dict[str, Any] = {
        "id": "alice-ro",
        "path": "grants/alice-ro.hcl",
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "duration": duration,
        "reason": "INC-1",
        "lines": {"grant": 1, "principal": 2, "entitlement": 3, "duration": 4, "reason": 5},
    }
    values.update(kw)
    req = OpenRequest(**values)
    unmat = Finding("grant.unmaterialised", req.path, 4, "no expires_at")
    return GrantFile(req.path, None, (unmat,), req)


@pytest.mark.parametrize(
    ("duration", "starts_at", "entitlement", "expires", "rules"),
    [
        (timedelta(hours=4), None, "aws-prod-readonly", "2026-11-24T16:00:00Z", []),
        # max 12h: capped, a warning
        (
            timedelta(hours=13),
            None,
            "aws-prod-readonly",
            "2026-11-25T00:00:00Z",
            ["duration.capped"],
        ),
        # starts later than now: the window starts then
        (
            timedelta(hours=1),
            "2026-11-24T20:00:00Z",
            "aws-prod-readonly",
            "2026-11-24T21:00:00Z",
            [],
        ),
        # starts_at already past: the clock starts at approval
        (
            timedelta(hours=1),
            "2026-11-24T10:00:00Z",
            "aws-prod-readonly",
            "2026-11-24T13:00:00Z",
            [],
        ),
        # unknown entitlement: no cap to apply, and a refusal
        (timedelta(hours=99), None, "nope", "2026-11-28T15:00:00Z", ["entitlement.unknown"]),
    ],
)
def test_open_request_is_judged_materialised_now(
    duration: timedelta, starts_at: str | None, entitlement: str, expires: str, rules: list[str]
) -> None:
    gf = open_file(duration, starts_at=t(starts_at) if starts_at else None, entitlement=entitlement)
    cs = ChangeSet(CAT, {gf.path: FileChange.ADDED}, {}, {gf.path: gf}, "alice", NOW)
    d = check_change(cs)
    assert d.kind is ChangeKind.REQUEST and d.needs_approval
    assert d.materialise == (gf.path,)
    (c,) = d.changes
    assert c.after is not None and c.after.expires_at == t(expires)
    assert c.after.duration == duration
    assert rules_of(d.findings) == rules


def test_open_request_materialises_in_whole_seconds() -> None:
    gf = open_file(timedelta(minutes=30))
    cs = ChangeSet(
        CAT, {gf.path: FileChange.ADDED}, {}, {gf.path: gf}, "alice", NOW.replace(microsecond=7)
    )
    (c,) = check_change(cs).changes
    assert c.after is not None and c.after.expires_at == t("2026-11-24T12:30:00Z")


def test_an_open_request_is_never_an_extension() -> None:
    before = make_grant(id="alice-ro", duration=timedelta(hours=4))
    gf = open_file(timedelta(hours=8))
    cs = ChangeSet(
        CAT,
        {gf.path: FileChange.MODIFIED},
        {gf.path: GrantFile(gf.path, before)},
        {gf.path: gf},
        "alice",
        NOW,
    )
    d = check_change(cs)
    assert not d.ok and d.materialise == ()
    assert "grant.unmaterialised" in rules_of(d.errors)


def test_the_duration_asked_is_immutable() -> None:
    before = make_grant(id="alice-ro", duration=timedelta(hours=1))
    after = make_grant(
        id="alice-ro", duration=timedelta(hours=4), expires_at=t("2026-11-24T17:00:00Z")
    )
    d = check_change(changeset(modified=[(before, after)]))
    assert rules_of(d.errors) == ["grant.immutable"]


def test_tree_check_refuses_an_open_request_on_the_branch() -> None:
    gf = open_file(timedelta(hours=1))
    assert rules_of(check_tree(CAT, [gf], NOW)) == ["grant.unmaterialised"]


# who may revoke whom without approval (policy.may_revoke)
REVOKERS = [
    # (author, grant overrides, members resolved elsewhere, needs approval)
    ("alice", {}, {}, False),  # the holder (identities: alice -> alice@example.com)
    ("carol", {}, {}, False),  # an approver of aws-prod-readonly (named, and in @acme/sre)
    ("dave", {}, {}, False),  # in @acme/sre, a catalog team
    ("bob", {}, {}, True),  # neither: his revocation of alice's grant needs approval
    (None, {}, {}, True),  # unknown author: deny when unsure
    ("bob", {"entitlement": "gone-from-the-catalog"}, {}, False),  # grants nothing anymore
    ("erin", {"entitlement": "aws-prod-admin"}, {}, False),  # one rule of two is enough
    ("bob", {"entitlement": "aws-prod-admin"}, {}, True),
    # a team the catalog does not define counts once resolved (GitHub), and not before
    ("zoe", {"entitlement": "gcp-prod-resolved"}, {}, True),
    ("zoe", {"entitlement": "gcp-prod-resolved"}, {"@acme/oncall": frozenset({"zoe"})}, False),
]


@pytest.mark.parametrize(("author", "over", "members", "needs"), REVOKERS)
def test_who_may_revoke_without_approval(
    author: str | None, over: dict[str, Any], members: dict[str, frozenset[str]], needs: bool
) -> None:
    from dataclasses import replace

    from controller.formats.catalog import load_catalog

    catalog = load_catalog(
        EXAMPLE + "\n  gcp-prod-resolved:\n    description: d\n    module: gcp-iam\n"
        "    target: {project: p, role: r}\n"
        "    max_duration: 1h\n    approvers: ['@acme/oncall']\n"
    )
    g = make_grant(**over)
    cs = replace(changeset(deleted=[g], author=author), catalog=catalog, members=members)
    d = check_change(cs)
    assert d.kind is ChangeKind.REVOCATION and d.ok
    assert d.needs_approval is needs
    if needs:  # what the grant needed: its entitlement's approvals
        ent = catalog.entitlements[g.entitlement]
        assert d.approval_rules == ent.approvals
    else:
        assert d.approval_rules == ()


def test_an_expiry_needs_no_one() -> None:
    d = check_change(changeset(deleted=[make_grant(expires_at=NOW)], author="bob"))
    assert (d.kind, d.needs_approval) == (ChangeKind.EXPIRY, False)


def test_the_holder_revoking_someone_else_too_needs_approval() -> None:
    mine, bobs = make_grant(), make_grant(id="bob-ro", principal="bob@example.com")
    d = check_change(changeset(deleted=[mine, bobs], author="alice"))
    assert (d.kind, d.needs_approval) == (ChangeKind.REVOCATION, True)
    assert d.approval_rules == CAT.entitlements["aws-prod-readonly"].approvals
