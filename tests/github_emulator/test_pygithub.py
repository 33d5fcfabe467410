"""Drive the emulator with pygithub over HTTP, and check the real git results."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path

import github
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import GithubException, InputGitTreeElement, UnknownObjectException

from .fixtures import EmulatedGitHub
from .helpers import Clone, client, git

Scenario = Callable[[EmulatedGitHub, Path], None]
SCENARIOS: list[Scenario] = []


def scenario(fn: Scenario) -> Scenario:
    """A test whose HTTP exchanges test_openapi.py also holds against GitHub's OpenAPI."""
    SCENARIOS.append(fn)
    return fn


def open_pr(gh: EmulatedGitHub, tmp: Path, branch: str = "grant-1", author: str = "alice") -> int:
    clone = Clone(gh, tmp / f"clone-{branch}")
    clone.branch(branch)
    clone.commit({f"grants/{branch}.hcl": 'grant {\n  principal = "a"\n}\n'}, f"Add {branch}")
    clone.push(branch)
    with client(gh, author) as g:
        pr = g.get_repo("acme/access").create_pull(
            title=f"Request {branch}", body="please", head=branch, base="main"
        )
        return pr.number


@scenario
def test_pull_request_review_status_comment_merge(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    main_before = gh.emu.ref("main")
    with client(gh, "alice") as g, client(gh, "carol") as g_carol:
        repo = g.get_repo("acme/access")
        pr = repo.get_pull(number)
        assert (pr.state, pr.mergeable, pr.mergeable_state) == ("open", True, "clean")
        assert pr.user.login == "alice"
        assert [f.filename for f in pr.get_files()] == ["grants/grant-1.hcl"]
        assert [c.commit.message for c in pr.get_commits()] == ["Add grant-1"]
        assert [p.number for p in repo.get_pulls(state="open", head="acme:grant-1")] == [number]
        assert list(repo.get_pulls(state="open", base="other")) == []

        review = g_carol.get_repo("acme/access").get_pull(number).create_review(event="APPROVE")
        assert (review.state, review.user.login, review.commit_id) == (
            "APPROVED",
            "carol",
            pr.head.sha,
        )
        with pytest.raises(GithubException) as own:
            pr.create_review(event="APPROVE")
        assert own.value.status == 422
        assert [(r.user.login, r.state) for r in pr.get_reviews()] == [("carol", "APPROVED")]

        commit = repo.get_commit(pr.head.sha)
        commit.create_status("pending", context="jitctl", description="checking")
        commit.create_status("success", context="jitctl", description="ok")
        combined = repo.get_commit(pr.head.sha).get_combined_status()
        assert (combined.state, combined.total_count) == ("success", 1)
        assert [s.state for s in commit.get_statuses()] == ["success", "pending"]

        comment = pr.create_issue_comment("jitctl: **approved**")
        comment.edit("jitctl: approved (edited)")
        assert pr.get_issue_comment(comment.id).body == "jitctl: approved (edited)"
        pr.add_to_labels("jit-grant")
        assert [label.name for label in pr.get_labels()] == ["jit-grant"]

        status = pr.merge(merge_method="merge", sha=pr.head.sha)
        assert status.merged
        merged = repo.get_pull(number)
        assert merged.merged and merged.state == "closed"
        assert merged.merge_commit_sha == status.sha == gh.emu.ref("main")
        assert merged.is_merged()
    parents = git(gh.bare_path, "rev-list", "--parents", "-n1", "main").split()[1:]
    assert parents == [main_before, gh.emu.pull(number).head_sha]
    assert "grants/grant-1.hcl" in git(gh.bare_path, "ls-tree", "-r", "--name-only", "main")
    assert git(gh.bare_path, "log", "-1", "--format=%s", "main") == (
        f"Merge pull request #{number} from acme/grant-1"
    )
    assert not gh.emu.errors


@scenario
def test_squash_and_rebase_merges(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    first = open_pr(gh, tmp_path, "grant-a")
    second = open_pr(gh, tmp_path, "grant-b")
    with client(gh, "alice") as g:
        repo = g.get_repo("acme/access")
        base = gh.emu.ref("main")
        result = repo.get_pull(first).merge(
            merge_method="squash", commit_title="Grant A", commit_message="squashed"
        )
        assert git(gh.bare_path, "rev-list", "--parents", "-n1", "main").split() == [
            result.sha,
            base,
        ]
        assert (
            git(gh.bare_path, "log", "-1", "--format=%B", "main").strip() == "Grant A\n\nsquashed"
        )
        # the second PR is now behind main; a rebase replays its commit on top
        pr2 = repo.get_pull(second)
        assert pr2.mergeable
        rebased = pr2.merge(merge_method="rebase")
    assert git(gh.bare_path, "rev-parse", f"{rebased.sha}^") == result.sha
    names = git(gh.bare_path, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert {"grants/grant-a.hcl", "grants/grant-b.hcl"} <= set(names)


@scenario
def test_sha_precondition_and_closed_pr(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    with client(gh, "alice") as g:
        repo = g.get_repo("acme/access")
        pr = repo.get_pull(number)
        seen = pr.head.sha
        gh.emu.commit_files("grant-1", {"grants/extra.hcl": "x\n"}, "sneak", author="bob")
        with pytest.raises(GithubException) as moved:
            pr.merge(sha=seen)
        assert moved.value.status == 409
        assert moved.value.data["message"].startswith("Head branch was modified")
        pr.edit(state="closed")
        with pytest.raises(GithubException) as closed:
            pr.merge()
        assert closed.value.status == 405
        assert repo.get_pull(number).is_merged() is False
    assert gh.emu.ref("main") == gh.seed_sha


def test_conflicting_pr_is_not_mergeable(github_emulator: EmulatedGitHub):
    gh = github_emulator
    gh.emu.commit_files("conflict", {"README.md": "theirs\n"}, "theirs", author="bob")
    gh.emu.commit_files("main", {"README.md": "ours\n"}, "ours", author="alice")
    with client(gh, "bob") as g:
        pr = g.get_repo("acme/access").create_pull(title="c", body="", head="conflict", base="main")
        assert (pr.mergeable, pr.mergeable_state) == (False, "dirty")
        with pytest.raises(GithubException) as err:
            pr.merge()
        assert err.value.status == 405


@scenario
def test_git_data_deletion_commit_and_ref_update(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    gh.emu.commit_files(
        "main", {"grants/old-1.hcl": "1\n", "grants/old-2.hcl": "2\n", "grants/keep.hcl": "k\n"}
    )
    with client(gh, "dave") as g:
        repo = g.get_repo("acme/access")
        head = repo.get_git_ref("heads/main").object.sha
        base_commit = repo.get_git_commit(head)
        tree = repo.create_git_tree(
            [
                InputGitTreeElement("grants/old-1.hcl", "100644", "blob", sha=None),
                InputGitTreeElement("grants/old-2.hcl", "100644", "blob", sha=None),
                InputGitTreeElement("EXPIRED.md", "100644", "blob", content="two expired\n"),
            ],
            base_tree=base_commit.tree,
        )
        commit = repo.create_git_commit("Expire 2 grants", tree, [base_commit])
        ref = repo.create_git_ref("refs/heads/jitctl/expire", commit.sha)
        assert ref.object.sha == commit.sha
        assert [r.ref for r in repo.get_git_matching_refs("heads/jitctl/")] == [
            "refs/heads/jitctl/expire"
        ]
        # a non-fast-forward update is refused unless forced
        with pytest.raises(GithubException) as nff:
            ref.edit(head)
        assert nff.value.status == 422
        ref.edit(commit.sha)  # fast-forward to itself is fine
        full = repo.get_git_tree(commit.sha, recursive=True)
        paths = sorted(e.path for e in full.tree if e.type == "blob")
        assert paths == [
            "EXPIRED.md",
            "README.md",
            "catalog.yaml",
            "grants/.keep",
            "grants/keep.hcl",
        ]
        blob = repo.create_git_blob("hello", "utf-8")
        assert repo.get_git_blob(blob.sha).content.strip() == "aGVsbG8="
        repo.get_git_ref("heads/jitctl/expire").edit(head, force=True)
        assert gh.emu.ref("jitctl/expire") == head
        repo.get_git_ref("heads/jitctl/expire").delete()
        assert gh.emu.ref("jitctl/expire") is None
    changed = git(gh.bare_path, "diff", "--name-status", head, commit.sha)
    assert changed.splitlines() == ["A\tEXPIRED.md", "D\tgrants/old-1.hcl", "D\tgrants/old-2.hcl"]


@scenario
def test_contents_compare_and_settings(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    gh.emu.commit_files("main", {".github/CODEOWNERS": "catalog.yaml @acme/platform\n"})
    gh.emu.commit_files("topic", {"grants/t.hcl": "t\n"}, "topic", author="bob")
    with client(gh, "alice") as g:
        repo = g.get_repo("acme/access")
        owners = repo.get_contents(".github/CODEOWNERS", ref="main")
        assert owners.decoded_content == b"catalog.yaml @acme/platform\n"
        listing = repo.get_contents("grants", ref="topic")
        assert sorted(c.path for c in listing) == ["grants/.keep", "grants/t.hcl"]
        with pytest.raises(UnknownObjectException):
            repo.get_contents("nope.txt")
        cmp = repo.compare("main", "topic")
        assert (cmp.status, cmp.ahead_by, cmp.behind_by) == ("ahead", 1, 0)
        assert [f.filename for f in cmp.files] == ["grants/t.hcl"]
        branch = repo.get_branch("main")
        assert not branch.protected
        with pytest.raises(GithubException) as unprotected:
            branch.get_protection()
        assert (unprotected.value.status, unprotected.value.data["message"]) == (
            404,
            "Branch not protected",
        )
        prot = f"{gh.base_url}/repos/acme/access/branches/main/protection"
        gh.emu.protect_branch(
            "main",
            {
                "required_status_checks": {
                    "url": f"{prot}/required_status_checks",
                    "strict": False,
                    "contexts": ["jitctl"],
                    "checks": [{"context": "jitctl", "app_id": gh.app_id}],
                },
                "enforce_admins": {
                    "url": f"{prot}/enforce_admins",
                    "enabled": True,
                },
                "allow_force_pushes": {"enabled": False},
            },
        )
        protection = repo.get_branch("main").get_protection()
        assert protection.required_status_checks.contexts == ["jitctl"]
        gh.emu.add_ruleset(
            {
                "id": 7,
                "name": "jitctl",
                "rules": [
                    {"type": "non_fast_forward"},
                    {
                        "type": "required_status_checks",
                        "parameters": {
                            "strict_required_status_checks_policy": False,
                            "required_status_checks": [
                                {"context": "jitctl", "integration_id": gh.app_id}
                            ],
                        },
                    },
                ],
            }
        )
        _, rulesets = g.requester.requestJsonAndCheck("GET", "/repos/acme/access/rulesets")
        assert [r["name"] for r in rulesets] == ["jitctl"]
        _, rules = g.requester.requestJsonAndCheck("GET", "/repos/acme/access/rules/branches/main")
        assert [r["type"] for r in rules] == ["non_fast_forward", "required_status_checks"]
        _, full = g.requester.requestJsonAndCheck("GET", "/repos/acme/access/rulesets/7")
        assert (full["name"], full["bypass_actors"]) == ("jitctl", [])


@scenario
def test_teams_users_and_rate_limit(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    with client(gh, "bob") as g:
        assert g.get_user().login == "bob"
        assert g.get_user("erin").email == "erin@example.com"
        org = g.get_organization("acme")
        sre = org.get_team_by_slug("sre")
        assert [m.login for m in sre.get_members()] == ["carol", "dave"]
        assert sre.get_team_membership("carol").state == "active"
        with pytest.raises(UnknownObjectException):
            sre.get_team_membership("erin")
        with pytest.raises(UnknownObjectException):
            g.get_user("nobody").login  # noqa: B018
        limits = g.get_rate_limit()
        assert limits.resources.core.limit == 5000
    assert all("X-RateLimit-Remaining" in e.response_headers for e in gh.emu.log)


@scenario
def test_pagination_follows_link_headers(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    for i in range(25):
        gh.emu.state.comments.append(
            __import__("dataclasses").replace(_comment(gh, number, i), id=gh.emu.state.new_id())
        )
    with client(gh, "alice") as g:
        g.per_page = 10
        pr = g.get_repo("acme/access").get_pull(number)
        gh.emu.clear_log()
        bodies = [c.body for c in pr.get_issue_comments()]
    assert bodies == [f"comment {i}" for i in range(25)]
    pages = gh.emu.requests("GET", r"/issues/\d+/comments$")
    queries = [dict(urllib.parse.parse_qsl(e.query)) for e in pages]
    assert [q.get("page", "1") for q in queries] == ["1", "2", "3"]
    assert {q["per_page"] for q in queries} == {"10"}
    assert 'rel="next"' in pages[0].response_headers["Link"]


def _comment(gh: EmulatedGitHub, number: int, i: int):  # type: ignore[no-untyped-def]
    from .state import Comment

    now = gh.emu.clock.tick()
    return Comment(0, number, "bob", f"comment {i}", now, now)


@scenario
def test_reviews_belong_to_head_sha_and_can_be_dismissed(
    github_emulator: EmulatedGitHub, tmp_path: Path
):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    with client(gh, "carol") as g:
        pr = g.get_repo("acme/access").get_pull(number)
        first = pr.head.sha
        approval = pr.create_review(event="APPROVE", body="lgtm")
        gh.emu.commit_files("grant-1", {"grants/grant-1.hcl": "changed\n"}, "change", "alice")
        pr = g.get_repo("acme/access").get_pull(number)
        assert pr.head.sha != first
        pr.create_review(event="REQUEST_CHANGES", body="why?")
        reviews = list(pr.get_reviews())
        assert [(r.state, r.commit_id) for r in reviews] == [
            ("APPROVED", first),
            ("CHANGES_REQUESTED", pr.head.sha),
        ]
        pr.get_review(approval.id)
    with client(gh, "alice") as g:
        g.get_repo("acme/access").get_pull(number).get_review(approval.id).dismiss("stale")
    assert [r.state for r in gh.emu.state.reviews] == ["DISMISSED", "CHANGES_REQUESTED"]


@scenario
def test_app_installation_token_flow(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    app_auth = github.Auth.AppAuth(gh.app_id, gh.app_private_key_pem)
    integration = github.GithubIntegration(
        auth=app_auth,
        base_url=gh.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    try:
        installation = integration.get_repo_installation("acme", "access")
        assert installation.id == gh.installation_id
        token = integration.get_access_token(installation.id)
        assert token.token.startswith("ghs_")
    finally:
        integration.close()
    g = github.Github(
        auth=app_auth.get_installation_auth(installation.id),
        base_url=gh.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    try:
        repo = g.get_repo("acme/access")
        pr = repo.get_pull(number)
        status = repo.get_commit(pr.head.sha).create_status("success", context="jitctl")
        assert status.creator.login == "jitctl-app[bot]"
        assert status.creator.type == "Bot"
    finally:
        g.close()


def test_app_jwt_signed_with_another_key_is_refused(github_emulator: EmulatedGitHub):
    gh = github_emulator
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    integration = github.GithubIntegration(
        auth=github.Auth.AppAuth(gh.app_id, pem),
        base_url=gh.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    try:
        with pytest.raises(GithubException) as err:
            integration.get_repo_installation("acme", "access")
        assert err.value.status == 401
    finally:
        integration.close()
    assert jwt  # the emulator verifies with pyjwt[crypto]


def test_unknown_token_and_read_only_user(github_emulator: EmulatedGitHub):
    gh = github_emulator
    gh.tokens["mallory"] = "ghp_unknown"
    with client(gh, "mallory") as g, pytest.raises(github.BadCredentialsException):
        g.get_user().login  # noqa: B018
    with client(gh, "rita") as g:
        repo = g.get_repo("acme/access")
        with pytest.raises(GithubException) as err:
            repo.get_commit("main").create_status("success", context="x")
        assert err.value.status == 403


@scenario
def test_review_requests(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    with client(gh, "alice") as g, client(gh, "carol") as g_carol:
        pr = g.get_repo("acme/access").get_pull(number)
        pr.create_review_request(reviewers=["carol", "dave"], team_reviewers=["security"])
        users, teams = pr.get_review_requests()
        assert [u.login for u in users] == ["carol", "dave"]
        assert [t.slug for t in teams] == ["security"]
        fresh = g.get_repo("acme/access").get_pull(number)
        assert [u.login for u in fresh.requested_reviewers] == ["carol", "dave"]
        # the author cannot be asked; nor can a user without access, nor an unknown team
        for kwargs in (
            {"reviewers": ["alice"]},
            {"reviewers": ["rita"]},
            {"team_reviewers": ["x"]},
        ):
            with pytest.raises(GithubException) as err:
                pr.create_review_request(**kwargs)
            assert err.value.status == 422
        # a review fulfils the request
        g_carol.get_repo("acme/access").get_pull(number).create_review(event="APPROVE")
        users, teams = pr.get_review_requests()
        assert [u.login for u in users] == ["dave"]
    assert gh.emu.state.review_requests == [(number, "alice", ("carol", "dave"), ("security",))]
