"""``jitctl expire`` on GitHub with thousands of expired grants: the tree is built in chained
requests that each stay within what GitHub accepts (the emulator refuses more, as GitHub does,
with 422), and the PR body stays within GitHub's 65,536 characters."""

from __future__ import annotations

import itertools
from pathlib import Path

import github
import pytest

from controller.core.times import parse_rfc3339
from controller.git.repo import GitRepo
from controller.github.expire import PR_BODY_LIMIT, TREE_ENTRIES_PER_REQUEST, expire_on_github
from controller.github.forge import ForgeConfig, GitHubForge
from controller.github.retry import RetryPolicy
from tests.factories import grant_text
from tests.ghworld import REPO, git, make_world, no_sleep
from tests.github_emulator.fixtures import EmulatedGitHub

N_EXPIRED = 2500
LATER = parse_rfc3339("2026-11-24T17:00:00Z")


def test_the_emulator_refuses_a_tree_request_github_would_time_out_on(
    github_emulator: EmulatedGitHub,
) -> None:
    gh = github_emulator
    assert gh.emu.tree_entries_limit == TREE_ENTRIES_PER_REQUEST
    g = github.Github(
        auth=github.Auth.Token(gh.token("alice")), base_url=gh.base_url,
        seconds_between_requests=None, seconds_between_writes=None, retry=None, timeout=120,
    )  # fmt: skip
    repo = g.get_repo(REPO)
    blob = repo.create_git_blob("x", "utf-8").sha
    too_many = [
        github.InputGitTreeElement(f"f{i}", "100644", "blob", sha=blob)
        for i in range(TREE_ENTRIES_PER_REQUEST + 1)
    ]
    with pytest.raises(github.GithubException) as err:
        repo.create_git_tree(too_many)
    assert err.value.status == 422
    assert "Consider building the tree incrementally" in str(err.value.data)
    g.close()  # (a request of exactly the limit is accepted: the expiry test below sends them)


def test_the_emulator_refuses_a_pull_request_body_over_github_limit(
    github_emulator: EmulatedGitHub, tmp_path: Path
) -> None:
    gh = github_emulator
    assert gh.emu.body_limit == PR_BODY_LIMIT
    w = make_world(gh, tmp_path)
    gh.emu.commit_files("topic", {"grants/x.hcl": grant_text()}, "x", author="alice")
    g = github.Github(
        auth=github.Auth.Token(gh.token("alice")), base_url=gh.base_url,
        seconds_between_requests=None, seconds_between_writes=None, retry=None, timeout=120,
    )  # fmt: skip
    repo = g.get_repo(REPO)
    with pytest.raises(github.GithubException) as err:
        repo.create_pull(base="main", head="topic", title="t", body="x" * (PR_BODY_LIMIT + 1))
    assert err.value.status == 422 and "body is too long" in str(err.value.data)
    pr = repo.create_pull(base="main", head="topic", title="t", body="x" * PR_BODY_LIMIT)
    with pytest.raises(github.GithubException):
        pr.edit(body="y" * (PR_BODY_LIMIT + 1))
    g.close()
    assert w.pulls() == [pr.number]


def test_expire_of_thousands_of_grants_chains_its_tree_requests(
    github_emulator: EmulatedGitHub, tmp_path: Path
) -> None:
    gh = github_emulator
    w = make_world(gh, tmp_path, {"grants/live.hcl": grant_text(expires_at="2026-11-24T20:00:00Z")})
    # seed the expired grants with plain git (one push), as a repository that grew over time
    text = grant_text(expires_at="2026-11-24T16:00:00Z")
    for i in range(N_EXPIRED):
        (w.clone / "grants" / f"old-{i:05d}.hcl").write_text(text)
    git(w.clone, "add", "grants")
    git(w.clone, "commit", "-q", "-m", f"{N_EXPIRED} grants")
    git(w.clone, "push", "-q", "origin", "HEAD:main")
    gh.emu.clear_log()

    config = ForgeConfig(REPO, gh.base_url, token=gh.token("erin"), timeout=60)
    with GitHubForge(config, RetryPolicy(sleep=no_sleep)) as forge, GitRepo(w.clone) as repo:
        result = expire_on_github(forge, repo, now=LATER, base="main")

    assert result.merged and len(result.expired) == N_EXPIRED, result
    assert w.main_files() == ["grants/.gitkeep", "grants/live.hcl"]
    trees = gh.emu.requests("POST", r"/git/trees$")
    assert [len(e.request_body["tree"]) for e in trees] == [1000, 1000, 500]  # type: ignore[index]
    assert all(e.status == 201 for e in trees)
    # chained: each request builds on the tree the previous one returned
    for before, after in itertools.pairwise(trees):
        assert after.request_body["base_tree"] == before.response_body["sha"]  # type: ignore[index]
    # the PR's body stays within GitHub's limit and says how many it does not list
    pulls = gh.emu.requests("POST", r"/pulls$")
    body = pulls[0].request_body["body"]  # type: ignore[index]
    assert len(body) <= PR_BODY_LIMIT
    assert f"{N_EXPIRED} grants in all" in body
    # the merge commit still records every grant
    message = w.message()
    assert message.count("Expired-Grant: old-") == N_EXPIRED
    assert not gh.emu.errors
