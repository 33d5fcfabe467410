"""controller.core.entitlements: what a login may request, by the check's own rules."""

from __future__ import annotations

import pytest

from controller.core.entitlements import requestable
from tests.factories import example_catalog

CAT = example_catalog()


@pytest.mark.parametrize(
    ("login", "offered"),
    [
        ("alice", ["aws-prod-readonly", "azure-prod-contributor", "gcp-prod-logs-viewer"]),
        ("ALICE", ["aws-prod-readonly", "azure-prod-contributor", "gcp-prod-logs-viewer"]),
        ("carol", ["aws-prod-admin", "aws-prod-readonly", "azure-prod-contributor",
                   "gcp-prod-logs-viewer"]),
        ("erin", ["azure-prod-contributor", "gcp-prod-logs-viewer"]),  # not in engineering
        ("mallory", []),  # no identity
    ],
)  # fmt: skip
def test_requestable_follows_identities_and_requesters(login: str, offered: list[str]) -> None:
    offers, refusals = requestable(CAT, login)
    assert [o.entitlement.name for o in offers] == offered
    assert sorted(
        [o.entitlement.name for o in offers] + [r.entitlement.name for r in refusals]
    ) == (sorted(CAT.entitlements))
    for o in offers:
        assert o.principals == CAT.identities[login.lower()]


def test_a_catalog_team_wins_over_one_resolved_elsewhere() -> None:
    cat = example_catalog()
    members = {"@acme/engineering": frozenset({"erin"})}  # only a catalog team is used first
    offers, _ = requestable(cat, "erin", members)
    assert "aws-prod-readonly" not in [o.entitlement.name for o in offers]
