"""Each injected fault is seen by pygithub the way GitHub would present it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from github import GithubException, RateLimitExceededException

from .fixtures import EmulatedGitHub
from .helpers import client
from .test_pygithub import open_pr


@pytest.mark.parametrize("status", [502, 503])
def test_5xx(github_emulator: EmulatedGitHub, status: int):
    gh = github_emulator
    gh.emu.inject("GET", r"^/repos/acme/access$", "5xx", status=status)
    with client(gh, "alice") as g:
        with pytest.raises(GithubException) as err:
            g.get_repo("acme/access")
        assert err.value.status == status
        assert g.get_repo("acme/access").name == "access"  # consumed: the next call works
    assert [e.status for e in gh.emu.requests("GET", r"^/repos/acme/access$")] == [status, 200]


def test_secondary_rate_limit(github_emulator: EmulatedGitHub):
    gh = github_emulator
    gh.emu.inject("*", r"/repos/", "rate_limit", times=2, retry_after=7)
    with client(gh, "alice") as g:
        for _ in range(2):
            with pytest.raises(RateLimitExceededException) as err:
                g.get_repo("acme/access")
            assert err.value.status == 403
            assert err.value.headers is not None
            assert err.value.headers["retry-after"] == "7"
            assert "secondary rate limit" in err.value.data["message"]
        assert g.get_repo("acme/access").name == "access"


def test_timeout_holds_then_drops(github_emulator: EmulatedGitHub):
    gh = github_emulator
    gh.emu.inject("GET", r"^/user$", "timeout", hold=1.3)
    with client(gh, "alice", timeout=1) as g:
        with pytest.raises(requests.exceptions.Timeout):
            g.get_user().login  # noqa: B018
        assert g.get_user().login == "alice"


def test_merge_500_after_merge(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    gh.emu.inject("PUT", r"/pulls/\d+/merge$", "merge_500_after_merge")
    with client(gh, "alice") as g:
        pr = g.get_repo("acme/access").get_pull(number)
        with pytest.raises(GithubException) as err:
            pr.merge(sha=pr.head.sha)
        assert err.value.status == 500
        # the merge happened: a retry with the same sha is refused, the PR reads merged
        again = g.get_repo("acme/access").get_pull(number)
        assert again.merged
        assert again.merge_commit_sha == gh.emu.ref("main")
        with pytest.raises(GithubException) as retry:
            again.merge(sha=pr.head.sha)
        assert retry.value.status == 405


def test_move_head_between_read_and_merge(github_emulator: EmulatedGitHub, tmp_path: Path):
    gh = github_emulator
    number = open_pr(gh, tmp_path)
    with client(gh, "alice") as g:
        pr = g.get_repo("acme/access").get_pull(number)
        seen = pr.head.sha
        gh.emu.inject("PUT", rf"/pulls/{number}/merge$", "move_head")
        with pytest.raises(GithubException) as err:
            pr.merge(sha=seen)
        assert err.value.status == 409
        moved = g.get_repo("acme/access").get_pull(number)
        assert moved.head.sha != seen and moved.state == "open"
    assert gh.emu.ref("main") == gh.seed_sha
    assert gh.emu.ref("grant-1") == moved.head.sha


def test_unknown_fault_kind_is_refused(github_emulator: EmulatedGitHub):
    with pytest.raises(ValueError, match="unknown fault kind"):
        github_emulator.emu.inject("GET", ".*", "explode")
