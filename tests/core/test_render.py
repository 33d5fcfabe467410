from __future__ import annotations

from datetime import timedelta

from controller.core.render import render
from tests.factories import NOW, example_catalog, make_grant

CAT = example_catalog()


def test_render_passes_active_and_pending_never_expired() -> None:
    grants = [
        make_grant(id="active"),
        make_grant(
            id="pending", starts_at=NOW + timedelta(hours=1), expires_at=NOW + timedelta(hours=2)
        ),
        make_grant(id="expired-now", expires_at=NOW),
        make_grant(id="gcp", principal="alice@example.com", entitlement="gcp-prod-logs-viewer"),
    ]
    out = render(grants, CAT, NOW)
    assert sorted(out.document["grants"]) == ["active", "gcp", "pending"]
    assert out.skipped_expired == ("expired-now",)
    active = out.document["grants"]["active"]
    assert active == {
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "module": "aws-iam-role",
        "target": {
            "account_id": "123456789012",
            "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "saml_provider_arn": "arn:aws:iam::123456789012:saml-provider/acme-idp",
        },
        "expires_at": "2026-11-24T16:00:00Z",
        "reason": "INC-1: debugging",
    }  # no starts_at, no ticket: optional in the schema, left out when the grant has none
    assert out.document["grants"]["pending"]["starts_at"] == "2026-11-24T13:00:00Z"
    assert out.document["grants"]["gcp"]["target"] == {
        "project": "acme-prod",
        "role": "roles/logging.viewer",
    }
    assert out.document["jitctl_render_version"] == 1
    assert out.document["now"] == "2026-11-24T12:00:00Z"


def test_overlapping_grants_keep_their_own_windows() -> None:
    a = make_grant(id="a", expires_at=NOW + timedelta(hours=1))
    b = make_grant(id="b", starts_at=NOW + timedelta(hours=3), expires_at=NOW + timedelta(hours=5))
    both = render([a, b], CAT, NOW).document["grants"]
    assert (both["a"].get("starts_at"), both["a"]["expires_at"]) == (None, "2026-11-24T13:00:00Z")
    # b's window is not stretched back to a's end: the gap stays a gap
    assert (both["b"]["starts_at"], both["b"]["expires_at"]) == (
        "2026-11-24T15:00:00Z",
        "2026-11-24T17:00:00Z",
    )
    # when a expires, b is untouched
    later = render([a, b], CAT, NOW + timedelta(hours=1)).document["grants"]
    assert list(later) == ["b"]
    assert later["b"] == both["b"]


def test_unknown_entitlement_is_a_finding() -> None:
    out = render([make_grant(entitlement="gone")], CAT, NOW)
    assert out.document["grants"] == {}
    assert [f.rule for f in out.findings] == ["entitlement.unknown"]


def test_optional_values_are_written_when_the_grant_has_them() -> None:
    g = make_grant(
        id="full", starts_at=NOW - timedelta(hours=1), ticket="INC-1", reason="INC-1: debugging"
    )
    entry = render([g], CAT, NOW).document["grants"]["full"]
    assert (entry["starts_at"], entry["ticket"]) == ("2026-11-24T11:00:00Z", "INC-1")
