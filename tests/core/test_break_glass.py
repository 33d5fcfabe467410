"""Break-glass in the pure policy engine: who may skip approval, for what, for how long."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from controller.core.model import ChangeKind
from controller.core.policy import check_change, plan_reminders
from tests.core.test_policy import changeset
from tests.factories import NOW, make_grant, t

ADMIN = make_grant(
    id="dave-admin",
    principal="dave@example.com",
    entitlement="aws-prod-admin",
    expires_at=NOW + timedelta(hours=1),
)


def decide(**kw: object):  # type: ignore[no-untyped-def]
    author = kw.pop("author", "dave")
    return check_change(replace(changeset(author=author, **kw), break_glass=True))  # type: ignore[arg-type]


def rules(d) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(f.rule for f in d.findings)


def test_allowed_break_glass_needs_no_approval() -> None:
    d = decide(added=[ADMIN])
    assert d.ok and d.break_glass
    assert d.kind is ChangeKind.REQUEST
    assert not d.needs_approval


def test_without_the_flag_the_same_request_needs_approval() -> None:
    d = check_change(changeset(author="dave", added=[ADMIN]))
    assert d.ok and d.needs_approval and not d.break_glass


def test_refused_for_an_entitlement_without_break_glass() -> None:
    ro = make_grant(id="alice-ro")
    d = decide(added=[ro], author="alice")
    assert rules(d) == ["break-glass.not-allowed"]
    assert not d.ok and d.needs_approval and not d.break_glass


def test_refused_beyond_break_glass_max_duration() -> None:
    long = replace(ADMIN, expires_at=NOW + timedelta(minutes=61))
    d = decide(added=[long])
    # longer than the entitlement's 1h too: both say so
    assert rules(d) == ["break-glass.duration", "duration.exceeded"]


@pytest.mark.parametrize("shape", ["extension", "revocation", "two-entitlements"])
def test_only_new_requests_for_break_glass_entitlements(shape: str) -> None:
    if shape == "extension":
        later = replace(ADMIN, expires_at=NOW + timedelta(minutes=50))
        soon = replace(ADMIN, expires_at=NOW + timedelta(minutes=10))
        d = decide(modified=[(soon, later)])
        assert rules(d) == ["break-glass.kind"]
    elif shape == "revocation":
        d = decide(deleted=[ADMIN])
        assert rules(d) == ["break-glass.kind"]
    else:
        # one break-glass grant cannot carry another entitlement through with it
        other = make_grant(id="dave-ro", principal="dave@example.com")
        d = decide(added=[ADMIN, other])
        assert rules(d) == ["break-glass.not-allowed"]
    assert not d.ok and not d.break_glass


def test_break_glass_does_not_skip_the_requester_rules() -> None:
    """alice is not among aws-prod-admin's requesters: break-glass does not change that."""
    mine = replace(ADMIN, principal="alice@example.com")
    d = decide(added=[mine], author="alice")
    assert "requester.not-allowed" in rules(d)
    assert not d.ok


def test_reminders_are_the_live_grants_expiring_within_the_window() -> None:
    a = make_grant(id="a", expires_at=t("2026-11-24T12:20:00Z"))
    b = make_grant(id="b", expires_at=t("2026-11-24T12:30:00Z"))
    c = make_grant(id="c", expires_at=t("2026-11-24T12:30:01Z"))
    gone = make_grant(id="gone", expires_at=NOW)
    assert plan_reminders([c, b, a, gone], NOW, timedelta(minutes=30)) == (a, b)
