"""Reviewers asked: opening a request PR (or the first evaluation of a PR opened by hand) asks
the approvers the catalog names, users and teams, once; the comment names who is still needed."""

from __future__ import annotations

import json

from controller.core.model import ApprovalRule
from controller.formats.catalog import load_catalog
from controller.github.reviewers import Asked, asked_in, reviewers_for
from tests.factories import EXAMPLE_CATALOG_TEXT, example_catalog, grant_text
from tests.ghworld import REPO, World, git, world

__all__ = ["world"]

# the security team is not defined in the catalog: it is resolved (and asked) on GitHub
GITHUB_TEAMS_CATALOG = EXAMPLE_CATALOG_TEXT.replace('  "@acme/security": [erin]\n', "")


def requests(w: World, number: int) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(by, u, t) for n, by, u, t in w.gh.emu.state.review_requests if n == number]


def test_reviewers_for_is_pure_and_never_the_author() -> None:
    cat = load_catalog(GITHUB_TEAMS_CATALOG)
    rules = (ApprovalRule(("@acme/sre",), 1), ApprovalRule(("@acme/security", "erin"), 1))
    # a catalog team is asked through its members; a GitHub team of the repo's org as a team
    assert reviewers_for(rules, cat, "carol", "acme") == Asked(
        frozenset({"dave", "erin"}), frozenset({"security"})
    )
    # a team of another organisation cannot be asked on this repository
    other = (ApprovalRule(("@other/sre", "Bob"), 1),)
    assert reviewers_for(other, example_catalog(), "bob", "acme") == Asked()
    asked = Asked(frozenset({"dave"}), frozenset({"security"}))
    assert asked_in("x\n" + asked.marker() + "\n") == asked
    assert asked_in("no marker") == Asked()


def test_request_open_pr_asks_the_approvers_once(world: World) -> None:
    w = world
    r = w.jitctl(
        "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1", "--as", "alice",
        "--open-pr", login="alice",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    number = max(w.pulls())
    # approvers: @acme/sre (carol, dave, from the catalog) and carol
    assert requests(w, number) == [("alice", ("carol", "dave"), ())]
    # re-evaluations ask no one again
    for _ in range(3):
        w.jitctl("approvals", "--pr", str(number))
    assert len(requests(w, number)) == 1
    (comment,) = [c for c in w.gh.emu.state.comments if c.issue_number == number]
    # named, not @-mentioned (no ping on each edit of the comment)
    assert "Still needed:** 1 more from @\u200bacme/sre, carol" in comment.body
    assert "Review requested from: carol, dave" in comment.body


def test_a_pr_opened_by_hand_is_asked_at_its_first_evaluation(world: World) -> None:
    w = world
    w.gh.emu.commit_files("main", {"catalog.yaml": GITHUB_TEAMS_CATALOG}, "teams", author="dave")
    git(w.clone, "pull", "-q")
    git(w.clone, "checkout", "-q", "-b", "req")
    (w.clone / "grants/carol-admin.hcl").write_text(
        grant_text(
            principal="carol@example.com",
            entitlement="aws-prod-admin",
            expires_at="2026-11-24T12:30:00Z",
        )
    )
    git(w.clone, "add", "-A")
    git(w.clone, "commit", "-qm", "admin please")
    git(w.clone, "push", "-q", "origin", "req")
    with w.client("carol") as g:
        number = (
            g.get_repo(REPO).create_pull(title="admin", body="", head="req", base="main").number
        )
    r = w.jitctl("approvals", "--pr", str(number), "--format", "json")
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout)["missing"] == [
        "1 more from @acme/sre",
        "1 more from @acme/security",
    ]
    # dave (sre, from the catalog; carol is the author) and the GitHub team security
    assert requests(w, number) == [
        (w.gh.emu.state.apps[w.gh.app_id].bot_login, ("dave",), ("security",))
    ]
    w.approve(number, "dave")
    w.jitctl("approvals", "--pr", str(number))
    w.jitctl("approvals", "--pr", str(number))
    assert len(requests(w, number)) == 1
    (comment,) = [c for c in w.gh.emu.state.comments if c.issue_number == number]
    assert "Still needed:** 1 more from @\u200bacme/security" in comment.body
    assert "Counted:** dave" in comment.body


def test_nobody_is_asked_for_a_revocation(world: World) -> None:
    w = world
    w.gh.emu.commit_files("main", {"grants/x.hcl": grant_text()}, "granted", author="carol")
    w.gh.emu.commit_files("rm", {"grants/x.hcl": None}, "revoke", author="alice", start=w.gh.emu.ref("main"))  # fmt: skip  # noqa: E501
    with w.client("alice") as g:
        number = g.get_repo(REPO).create_pull(title="rm", body="", head="rm", base="main").number
    w.jitctl("approvals", "--pr", str(number))
    assert requests(w, number) == []


# --- the reviewers' to-do list -------------------------------------------------------------


def test_list_requested_shows_open_requests_and_their_approvals(world: World) -> None:
    w = world
    w.gh.emu.commit_files("main", {"grants/old.hcl": grant_text()}, "granted", author="carol")
    r = w.jitctl(
        "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1", "--as", "alice",
        "--open-pr", login="alice",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    first = max(w.pulls())
    r = w.jitctl(
        "request", "gcp-prod-logs-viewer", "--for", "1h", "--reason", "logs", "--as", "bob",
        "--fixed-end", "--open-pr", login="bob",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    second = max(w.pulls())
    w.approve(first, "carol")
    # a revocation PR is no one's to-do
    w.gh.emu.commit_files("rm", {"grants/old.hcl": None}, "revoke", author="alice", start=w.gh.emu.ref("main"))  # fmt: skip  # noqa: E501
    with w.client("alice") as g:
        g.get_repo(REPO).create_pull(title="rm", body="", head="rm", base="main")
    before = (len(w.gh.emu.state.statuses), len(w.gh.emu.state.comments))
    r = w.jitctl("list", "--state", "requested", "--format", "json", login="dave")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["requests"]
    got = [
        (x["pr"], x["author"], [(g["entitlement"], g["from_approval"]) for g in x["grants"]],
         x["approvers"], x["missing"])
        for x in rows
    ]  # fmt: skip
    assert got == [
        (first, "alice", [("aws-prod-readonly", True)], ["carol"], []),
        (second, "bob", [("gcp-prod-logs-viewer", False)], [], ["1 more from @acme/sre"]),
    ]
    # read-only: nothing posted
    assert (len(w.gh.emu.state.statuses), len(w.gh.emu.state.comments)) == before
    r = w.jitctl("list", "--state", "requested", login="dave")
    assert r.exit_code == 0, r.output
    assert (
        f"#{first} alice: aws-prod-readonly for alice@example.com (4h from approval); " in r.output
    )
    assert "approvals: carol; approved" in r.output
    assert (
        f"#{second} bob: gcp-prod-logs-viewer" in r.output
        and "needs 1 more from @acme/sre" in r.output
    )
