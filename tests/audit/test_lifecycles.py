"""The audit core, table-driven: commit records -> events, windows and findings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.audit.lifecycles import (
    AuditReport,
    CommitRecord,
    CommitSignature,
    EventKind,
    History,
    PathChange,
    Proof,
    Trust,
    build_report,
    person,
    prove,
)
from controller.audit.lifecycles import replay as _replay
from controller.core.model import FileChange, Grant
from tests.factories import example_catalog, make_grant, t

A, M, D = FileChange.ADDED, FileChange.MODIFIED, FileChange.DELETED
BOT = "jitctl-bot <bot@example.com>"
TRUST = Trust(ssh=True, github=True, github_bots=("jitctl[bot]",))
SIGNED = CommitSignature("G", "jitctl@example.com", "SHA256:jitctl-key")
CATALOG = example_catalog()


def replay(records: list[CommitRecord]) -> History:
    """The replay as the CLI runs it: the audited tree trusts jitctl's SSH key and App."""
    return _replay(records, TRUST)


def rec(
    sha: str,
    at: str,
    changes: tuple[PathChange, ...] = (),
    trailers: str = "",
    *,
    author: tuple[str, str] = ("Alice", "alice@example.com"),
    side: CommitRecord | None = None,
    signature: CommitSignature | None = SIGNED,
) -> CommitRecord:
    pairs = tuple(
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in trailers.splitlines() if line.strip())
    )
    return CommitRecord(
        sha=sha * 40 if len(sha) == 1 else sha,
        parents=("p" * 40, side.sha) if side else ("p" * 40,),
        author_name=author[0],
        author_email=author[1],
        authored_at=t(at),
        committer_name="jitctl-bot",
        committer_email="bot@example.com",
        committed_at=t(at),
        trailers=pairs,
        changes=changes,
        side=side,
        signature=signature,
        catalog=CATALOG,
    )


def add(g: Grant) -> PathChange:
    return PathChange(g.path, A, None, g)


def mod(before: Grant, after: Grant) -> PathChange:
    return PathChange(after.path, M, before, after)


def rm(g: Grant) -> PathChange:
    return PathChange(g.path, D, g, None)


G = make_grant()  # alice-ro, alice@example.com, aws-prod-readonly, expires 16:00
G_LATER = make_grant(expires_at=t("2026-11-24T20:00:00Z"))
REQ = "Jit-Kind: request\nJit-Grant: alice-ro\nRequested-by: alice\nApproved-by: carol"
SIDE = rec(
    "s", "2026-11-24T09:00:00Z", (), "Jit-Kind: request\nJit-Grant: alice-ro\nRequested-by: alice"
)


def row(e: Any) -> tuple[Any, ...]:
    """The fields a case asserts: event, grant, actor, at, commit[0], unreviewed, approvers."""
    return (e.event.value, e.grant, e.actor, e.at, e.commit[0], e.unreviewed, e.approvers)


CASES: list[tuple[str, list[CommitRecord], list[tuple[Any, ...]]]] = [
    (
        "local merge: requested at the request commit, approvals, granted by the merger",
        [rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ, side=SIDE)],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T09:00:00Z"), "s", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
        ],
    ),
    (
        "squash without a side: requested at the merge; two approvers",
        [rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ + "\nApproved-by: dave\nJit-PR: 42")],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            (
                "approved",
                "alice-ro",
                "carol",
                t("2026-11-24T10:00:00Z"),
                "a",
                False,
                ("carol", "dave"),
            ),
            (
                "approved",
                "alice-ro",
                "dave",
                t("2026-11-24T10:00:00Z"),
                "a",
                False,
                ("carol", "dave"),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol", "dave")),
        ],
    ),
    (
        "direct push: unreviewed, requested by the author",
        [rec("a", "2026-11-24T10:00:00Z", (add(G),))],
        [
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T10:00:00Z"),
                "a",
                True,
                (),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", True, ()),
        ],
    ),
    (
        "request trailers naming another grant do not approve this one",
        [
            rec(
                "a",
                "2026-11-24T10:00:00Z",
                (add(G),),
                REQ.replace("Jit-Grant: alice-ro", "Jit-Grant: x"),
            )
        ],
        [
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T10:00:00Z"),
                "a",
                True,
                (),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", True, ()),
        ],
    ),
    (
        "expiry commit: expired by the committer",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec(
                "b",
                "2026-11-24T16:10:00Z",
                (rm(G),),
                "Jit-Kind: expiry\nExpired-Grant: alice-ro 2026-11-24T16:00:00Z",
            ),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("expired", "alice-ro", BOT, t("2026-11-24T16:10:00Z"), "b", False, ()),
        ],
    ),
    (
        "revocation commit: revoked by Revoked-by",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec(
                "b",
                "2026-11-24T11:00:00Z",
                (rm(G),),
                "Jit-Kind: revocation\nJit-Grant: alice-ro\nRevoked-by: dave",
            ),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("revoked", "alice-ro", "dave", t("2026-11-24T11:00:00Z"), "b", False, ()),
        ],
    ),
    (
        "deletions by hand: revoked before expires_at, expired at or after it (both unreviewed)",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),)),
            rec(
                "b",
                "2026-11-24T11:00:00Z",
                (rm(G),),
                author=("Bob", "9+bob@users.noreply.github.com"),
            ),
            rec("c", "2026-11-24T12:00:00Z", (add(G),)),
            rec("d", "2026-11-24T16:00:00Z", (rm(G),)),
        ],
        [
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T10:00:00Z"),
                "a",
                True,
                (),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", True, ()),
            ("revoked", "alice-ro", "bob", t("2026-11-24T11:00:00Z"), "b", True, ()),
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T12:00:00Z"),
                "c",
                True,
                (),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T12:00:00Z"), "c", True, ()),
            ("expired", "alice-ro", BOT, t("2026-11-24T16:00:00Z"), "d", True, ()),
        ],
    ),
    (
        "extension with approval; then one without",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec(
                "b",
                "2026-11-24T15:00:00Z",
                (mod(G, G_LATER),),
                REQ.replace("request", "extension").replace("carol", "dave"),
            ),
            rec(
                "c",
                "2026-11-24T19:00:00Z",
                (mod(G_LATER, make_grant(expires_at=t("2026-11-24T22:00:00Z"))),),
            ),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("requested", "alice-ro", "alice", t("2026-11-24T15:00:00Z"), "b", False, ()),
            ("approved", "alice-ro", "dave", t("2026-11-24T15:00:00Z"), "b", False, ("dave",)),
            ("extended", "alice-ro", BOT, t("2026-11-24T15:00:00Z"), "b", False, ("dave",)),
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T19:00:00Z"),
                "c",
                True,
                (),
            ),
            ("extended", "alice-ro", BOT, t("2026-11-24T19:00:00Z"), "c", True, ()),
        ],
    ),
    (
        "principal edited in place: one lifecycle ends, another begins",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec(
                "b", "2026-11-24T11:00:00Z", (mod(G, make_grant(principal="mallory@example.com")),)
            ),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("revoked", "alice-ro", BOT, t("2026-11-24T11:00:00Z"), "b", True, ()),
            (
                "requested",
                "alice-ro",
                "Alice <alice@example.com>",
                t("2026-11-24T11:00:00Z"),
                "b",
                True,
                (),
            ),
            ("granted", "alice-ro", BOT, t("2026-11-24T11:00:00Z"), "b", True, ()),
        ],
    ),
    (
        "rename by hand: the access continues under the new id",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec("b", "2026-11-24T11:00:00Z", (rm(G), add(make_grant(id="alice-ro2")))),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("renamed", "alice-ro2", BOT, t("2026-11-24T11:00:00Z"), "b", True, ()),
        ],
    ),
    (
        "reason edited in place; expiry shortened (no finding for that)",
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec("b", "2026-11-24T11:00:00Z", (mod(G, make_grant(reason="other")),)),
            rec(
                "c",
                "2026-11-24T12:00:00Z",
                (
                    mod(
                        make_grant(reason="other"),
                        make_grant(reason="other", expires_at=t("2026-11-24T13:00:00Z")),
                    ),
                ),
            ),
        ],
        [
            ("requested", "alice-ro", "alice", t("2026-11-24T10:00:00Z"), "a", False, ()),
            ("approved", "alice-ro", "carol", t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("granted", "alice-ro", BOT, t("2026-11-24T10:00:00Z"), "a", False, ("carol",)),
            ("edited", "alice-ro", BOT, t("2026-11-24T11:00:00Z"), "b", True, ()),
            ("edited", "alice-ro", BOT, t("2026-11-24T12:00:00Z"), "c", True, ()),
        ],
    ),
]


@pytest.mark.parametrize(("records", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_events(records: list[CommitRecord], expected: list[tuple[Any, ...]]) -> None:
    assert [row(e) for e in replay(records).events] == expected


def test_lifecycles_are_keyed_by_id_and_granting_commit() -> None:
    h = replay(
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ),
            rec(
                "b",
                "2026-11-24T16:05:00Z",
                (rm(G),),
                "Jit-Kind: expiry\nExpired-Grant: alice-ro 2026-11-24T16:00:00Z",
            ),
            rec("c", "2026-11-24T17:00:00Z", (add(G_LATER),), REQ),
        ]
    )
    assert [w.lifecycle for w in h.windows] == ["alice-ro@" + "a" * 12, "alice-ro@" + "c" * 12]
    first, second = h.windows
    assert (first.end, first.ended_at, first.lag) == (
        EventKind.EXPIRED,
        t("2026-11-24T16:05:00Z"),
        timedelta(minutes=5),
    )
    assert (second.end, second.ended_at) == (None, None)
    assert {e.lifecycle for e in h.events if e.commit[0] == "c"} == {"alice-ro@" + "c" * 12}
    expired = next(e for e in h.events if e.event is EventKind.EXPIRED)
    assert expired.lag_seconds == 300 and expired.jit_kind == "expiry"


def test_findings_of_history() -> None:
    h = replay(
        [
            rec("a", "2026-11-24T10:00:00Z", (add(G),)),
            rec("b", "2026-11-24T11:00:00Z", (rm(G), add(make_grant(id="x")))),
            rec(
                "c",
                "2026-11-24T12:00:00Z",
                (mod(make_grant(id="x"), make_grant(id="x", entitlement="aws-prod-admin")),),
            ),
            rec(
                "d",
                "2026-11-24T12:30:00Z",
                (PathChange("grants/bad.hcl", A, None, None, "[grant.syntax] no"),),
            ),
        ]
    )
    assert [(f.rule, f.grant, f.commit[0] if f.commit else None) for f in h.findings] == [
        ("audit.no-approval", "alice-ro", "a"),
        ("audit.renamed", "x", "b"),
        ("audit.no-approval", "x", "c"),
        ("audit.edited-in-place", "x", "c"),
        ("audit.invalid-file", "", "d"),
    ]
    granted = [e for e in h.events if e.event is EventKind.GRANTED]
    assert [e.flags for e in granted] == [
        ("audit.no-approval",),
        ("audit.no-approval", "audit.edited-in-place"),
    ]
    assert [(w.principal, w.entitlement, w.end) for w in h.windows] == [
        ("alice@example.com", "aws-prod-readonly", EventKind.REVOKED),
        ("alice@example.com", "aws-prod-admin", None),
    ]


def _lag_history() -> list[CommitRecord]:
    """Ten grants, each expiring at 10:00 + i h and removed i*10 minutes late."""
    out: list[CommitRecord] = []
    for i in range(10):
        g = make_grant(
            id=f"g{i}",
            principal=f"p{i % 2}@example.com",
            expires_at=t("2026-11-24T10:00:00Z") + timedelta(hours=i),
        )
        out.append(
            rec(f"{i}a{'0' * 38}", "2026-11-24T09:00:00Z", (add(g),), REQ.replace("alice-ro", g.id))
        )
        removed = g.expires_at + timedelta(minutes=10 * i)
        out.append(
            rec(
                f"{i}b{'0' * 38}",
                removed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                (rm(g),),
                f"Jit-Kind: expiry\nExpired-Grant: {g.id} x",
            )
        )
    return out


def test_report_lag_stats_and_late_removals() -> None:
    r = build_report(replay(_lag_history()), until=t("2026-11-25T00:00:00Z"))
    assert (r.lag.count, r.lag.late) == (10, 3)  # 70, 80, 90 minutes > 1h
    assert (r.lag.p50, r.lag.p95, r.lag.max) == (
        timedelta(minutes=40),
        timedelta(minutes=90),
        timedelta(minutes=90),
    )
    assert [(f.rule, f.grant) for f in r.findings] == [
        ("audit.removed-late", "g7"),
        ("audit.removed-late", "g8"),
        ("audit.removed-late", "g9"),
    ]
    r2 = build_report(
        replay(_lag_history()), until=t("2026-11-25T00:00:00Z"), late_after=timedelta(hours=2)
    )
    assert r2.lag.late == 0 and r2.findings == ()


def test_report_period_and_filters() -> None:
    h = replay(_lag_history())
    r = build_report(h, since=t("2026-11-24T12:00:00Z"), until=t("2026-11-24T14:30:00Z"))
    # expired g2 (12:20), g3 (13:30); g4 expires 14:00, removed 14:40 > until: overdue at until
    assert [(e.event.value, e.grant) for e in r.events] == [("expired", "g2"), ("expired", "g3")]
    assert [w.grant for w in r.windows] == ["g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"]
    assert r.windows[2].ended_at is None
    rules = [(f.rule, f.grant) for f in r.findings]
    assert ("audit.overdue", "g4") in rules and ("audit.live", "g5") in rules
    assert [f.grant for f in r.warnings] == ["g4"]
    only = build_report(h, until=t("2026-11-25T00:00:00Z"), principal="p1@*")
    assert {e.principal for e in only.events} == {"p1@example.com"}
    assert build_report(h, until=t("2026-11-25T00:00:00Z"), entitlement="gcp-*").events == ()


def test_empty_history() -> None:
    r = build_report(replay([]), until=t("2026-11-25T00:00:00Z"))
    assert r == AuditReport(None, t("2026-11-25T00:00:00Z"), timedelta(hours=1), (), (), (), r.lag)
    assert r.lag.count == 0 and r.lag.max is None


@pytest.mark.parametrize(
    ("name", "email", "expected"),
    [
        ("Alice", "12345+alice@users.noreply.github.com", "alice"),
        ("Bob", "bob@users.noreply.github.com", "bob"),
        ("GitHub", "noreply@github.com", "GitHub <noreply@github.com>"),
        ("Eve", "eve@example.com", "Eve <eve@example.com>"),
    ],
)
def test_person(name: str, email: str, expected: str) -> None:
    assert person(name, email) == expected


# --- re-judging from git alone: who made the commit, and do its approvals hold --------------

ADMIN = make_grant(id="bob-admin", principal="bob@example.com", entitlement="aws-prod-admin")
TWO = make_grant(id="bob-rds", principal="bob@example.com", entitlement="azure-prod-contributor")


def _granted(trailers: str, grant: Grant = G, **kw: Any) -> tuple[list[str], list[str]]:
    h = replay([rec("a", "2026-11-24T10:00:00Z", (add(grant),), trailers, **kw)])
    granted = next(e for e in h.events if e.event is EventKind.GRANTED)
    return list(granted.flags), [f.severity for f in h.findings]


@pytest.mark.parametrize(
    ("trailers", "grant", "flags"),
    [
        (REQ, G, []),
        # an approver who is not eligible (alice is not in @acme/sre, nor carol)
        (REQ.replace("carol", "erin"), G, ["audit.approval"]),
        # self-approval: carol asks and approves
        (REQ.replace("Requested-by: alice", "Requested-by: carol"), G, ["audit.approval"]),
        # no requester: self-approval cannot be ruled out
        (REQ.replace("Requested-by: alice\n", ""), G, ["audit.approval"]),
        # aws-prod-admin: one of @acme/sre AND one of @acme/security (AND across rules)
        (REQ.replace("alice-ro", "bob-admin").replace("alice", "bob"), ADMIN, ["audit.approval"]),
        (
            REQ.replace("alice-ro", "bob-admin").replace("alice", "bob") + "\nApproved-by: erin",
            ADMIN,
            [],
        ),
        # one person fills one slot: carol twice is still one approval
        (
            REQ.replace("alice-ro", "bob-rds").replace("alice", "bob") + "\nApproved-by: carol",
            TWO,
            ["audit.approval"],
        ),
        (
            REQ.replace("alice-ro", "bob-rds").replace("alice", "bob") + "\nApproved-by: dave",
            TWO,
            [],
        ),
        # the grant is not named by Jit-Grant: its approvals are not its own
        (REQ.replace("Jit-Grant: alice-ro", "Jit-Grant: other"), G, ["audit.no-approval"]),
    ],
    ids=[
        "approved",
        "not-an-approver",
        "self-approval",
        "no-requester",
        "admin-one-rule-only",
        "admin-both-rules",
        "two-approvers-same-person-twice",
        "two-approvers",
        "not-named",
    ],
)
def test_approvals_are_re_judged(trailers: str, grant: Grant, flags: list[str]) -> None:
    got, severities = _granted(trailers, grant)
    assert got == flags
    assert set(severities) <= {"error"}


def test_approvals_are_judged_by_the_catalog_at_the_parent() -> None:
    """A commit that adds carol as an approver cannot use her approval: the parent's catalog
    (the record's catalog) is what judges it, not today's."""
    strict = example_catalog()
    ent = strict.entitlements["aws-prod-readonly"]
    from dataclasses import replace

    from controller.core.model import ApprovalRule

    only_dave = replace(ent, approvals=(ApprovalRule(("dave",), 1),))
    strict = replace(strict, entitlements={**strict.entitlements, ent.name: only_dave})
    r = replace(rec("a", "2026-11-24T10:00:00Z", (add(G),), REQ), catalog=strict)
    h = replay([r])
    assert [f.rule for f in h.findings] == ["audit.approval"]
    assert "1 more from dave" in h.findings[0].message
    gone = replace(r, catalog=None, catalog_problem="catalog.yaml: YAML syntax error")
    assert [f.rule for f in replay([gone]).findings] == ["audit.approval"]


@pytest.mark.parametrize(
    ("signature", "author", "trust", "proof"),
    [
        (SIGNED, "alice@example.com", TRUST, Proof(True, "jitctl@example.com", "ssh")),
        (None, "alice@example.com", TRUST, Proof(False, why="it is not signed")),
        (CommitSignature("N"), "a@example.com", TRUST, Proof(False, why="it is not signed")),
        (
            CommitSignature("U", "", "SHA256:other"),
            "alice@example.com",
            TRUST,
            Proof(
                False,
                why="it is signed by a key the audited tree does not list (SSH key SHA256:other)",
            ),
        ),
        (
            CommitSignature("B", "", "SHA256:jitctl-key"),
            "alice@example.com",
            TRUST,
            Proof(
                False,
                why="its signature does not verify (bad signature) (SSH key SHA256:jitctl-key)",
            ),
        ),
        (
            SIGNED,
            "alice@example.com",
            Trust(),
            Proof(False, why="it is SSH-signed but no allowed-signers file is trusted"),
        ),
        (
            CommitSignature(
                "G", "GitHub", "B5690EEEBB952194", "968479A1AFF927E37D1A566BB5690EEEBB952194"
            ),
            "123+jitctl[bot]@users.noreply.github.com",
            TRUST,
            Proof(True, "jitctl[bot]", "github"),
        ),
        (
            CommitSignature(
                "G", "GitHub", "B5690EEEBB952194", "968479A1AFF927E37D1A566BB5690EEEBB952194"
            ),
            "carol@example.com",
            TRUST,
            Proof(
                False,
                why="GitHub made it for Alice <carol@example.com>, not for jitctl's App "
                "(jitctl[bot]): a merge by hand on GitHub",
            ),
        ),
        (
            CommitSignature("E", "", "B5690EEEBB952194"),
            "123+jitctl[bot]@users.noreply.github.com",
            TRUST,
            Proof(
                False,
                why="its signature cannot be checked (a key the audited tree does not "
                "list) (OpenPGP key B5690EEEBB952194)",
            ),
        ),
    ],
    ids=[
        "ssh-trusted",
        "unsigned",
        "status-n",
        "ssh-unknown-key",
        "ssh-bad",
        "ssh-no-trust-root",
        "github-app",
        "github-by-hand",
        "github-unknown-key",
    ],
)
def test_prove(signature: CommitSignature | None, author: str, trust: Trust, proof: Proof) -> None:
    r = rec("a", "2026-11-24T10:00:00Z", signature=signature, author=("Alice", author))
    assert prove(r, trust) == proof


def test_unproven_and_github_without_pr() -> None:
    flags, severities = _granted(REQ, signature=None)
    assert flags == ["audit.unproven"] and severities == ["error"]
    gh = CommitSignature(
        "G", "GitHub", "B5690EEEBB952194", "968479A1AFF927E37D1A566BB5690EEEBB952194"
    )
    bot = ("jitctl[bot]", "123+jitctl[bot]@users.noreply.github.com")
    assert _granted(REQ, signature=gh, author=bot)[0] == ["audit.no-pr"]
    assert _granted(REQ + "\nJit-PR: 12", signature=gh, author=bot)[0] == []


def test_errors_rank_before_warnings_and_late_removal_says_cloud_ended() -> None:
    records = [
        rec("a", "2026-11-24T09:00:00Z", (add(G),), REQ, signature=None),
        rec("b", "2026-11-24T18:00:00Z", (rm(G),), "Jit-Kind: expiry\nExpired-Grant: alice-ro x"),
    ]
    r = build_report(replay(records), until=t("2026-11-25T00:00:00Z"))
    assert [(f.severity, f.rule) for f in r.findings] == [
        ("error", "audit.unproven"),
        ("warning", "audit.removed-late"),
    ]
    assert "cloud-side condition ended the access at expires_at" in r.findings[1].message
    assert "clean-up delay, not exposure" in r.findings[1].message
    unknown = make_grant(entitlement="not-in-catalog")
    records = [
        rec("a", "2026-11-24T09:00:00Z", (add(unknown),), REQ),
        rec(
            "b",
            "2026-11-24T18:00:00Z",
            (rm(unknown),),
            "Jit-Kind: expiry\nExpired-Grant: alice-ro x",
        ),
    ]
    r = build_report(replay(records), until=t("2026-11-25T00:00:00Z"))
    late = next(f for f in r.findings if f.rule == "audit.removed-late")
    assert "possible exposure until removal" in late.message


def test_github_team_membership_is_taken_from_a_proven_merge_only() -> None:
    """A rule names a team the catalog does not define (resolved on GitHub at approval time):
    the merger records what it resolved (Approver-Team); the audit takes that claim from a
    proven merge only, never from a hand-made commit, and never over the catalog's teams."""
    from dataclasses import replace

    from controller.core.model import ApprovalRule

    ent = CATALOG.entitlements["aws-prod-readonly"]
    dba = replace(ent, approvals=(ApprovalRule(("@acme/dba",), 1),))
    catalog = replace(CATALOG, entitlements={**CATALOG.entitlements, ent.name: dba})
    claim = REQ + "\nJit-PR: 3\nApprover-Team: @acme/dba carol"
    gh = CommitSignature(
        "G", "GitHub", "B5690EEEBB952194", "968479A1AFF927E37D1A566BB5690EEEBB952194"
    )
    bot = ("jitctl[bot]", "123+jitctl[bot]@users.noreply.github.com")

    def flags(trailers: str, **kw: Any) -> list[str]:
        r = replace(rec("a", "2026-11-24T10:00:00Z", (add(G),), trailers, **kw), catalog=catalog)
        return [f.rule for f in replay([r]).findings]

    assert flags(claim, signature=gh, author=bot) == []
    assert flags(REQ + "\nJit-PR: 3", signature=gh, author=bot) == ["audit.approval"]
    assert flags(claim, signature=None) == ["audit.unproven", "audit.approval"]
    # a claim never overrides a team the catalog defines: carol claimed into @acme/security
    sec = replace(ent, approvals=(ApprovalRule(("@acme/security",), 1),))
    catalog = replace(CATALOG, entitlements={**CATALOG.entitlements, ent.name: sec})
    r = replace(
        rec("a", "2026-11-24T10:00:00Z", (add(G),),
            REQ + "\nJit-PR: 3\nApprover-Team: @acme/security carol", signature=gh, author=bot),
        catalog=catalog,
    )  # fmt: skip
    assert [f.rule for f in replay([r]).findings] == ["audit.approval"]
