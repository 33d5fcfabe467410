"""What a GitHub merge records about teams it resolved through GitHub (Approver-Team)."""

from __future__ import annotations

from dataclasses import replace

from controller.core.model import ApprovalRule, ChangeKind
from controller.core.policy import Decision
from controller.formats.trailers import merge_message, parse_trailers
from controller.github.approvals import resolved_teams
from tests.factories import example_catalog


def test_only_teams_github_resolved_are_recorded() -> None:
    catalog = example_catalog()  # defines @acme/sre, @acme/security, @acme/engineering
    rules = (ApprovalRule(("@acme/sre", "@acme/dba"), 1), ApprovalRule(("erin",), 1))
    decision = Decision(ChangeKind.REQUEST, True, rules, ())
    members = {"@acme/dba": frozenset({"Carol", "frank"}), "@acme/sre": frozenset({"dave"})}
    got = resolved_teams(decision, ["carol", "dave", "erin"], catalog, members)
    assert got == [("@acme/dba", "carol")]  # @acme/sre is the catalog's: nothing to claim
    msg = merge_message("b", ChangeKind.REQUEST, ["g"], "alice", ["carol"], pr=3, teams=got)
    assert ("Approver-Team", "@acme/dba carol") in parse_trailers(msg.text())
    no_rules = replace(decision, approval_rules=())
    assert resolved_teams(no_rules, ["carol"], catalog, members) == []
