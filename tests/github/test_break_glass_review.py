"""Break-glass on (emulated) GitHub, end to end: a break-glass PR merges without approval, the
approvers approve the MERGED pull request, `jitctl review --github` (the App, on jit-merge's
schedule) records their approval on the default branch, and `jitctl audit` (git alone) is clean,
or reports `audit.break-glass-unreviewed` when the review never came, came late, came from
people the rules do not count, or was forged by someone with write access."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controller.cli import github as cli_github
from controller.core.model import Review, ReviewState
from controller.formats.catalog import load_catalog
from controller.formats.trailers import parse_trailers
from controller.git.repo import GitRepo
from controller.github import breakglass
from controller.github.forge import ForgeConfig, GitHubForge
from controller.github.retry import RetryPolicy
from tests.cli.test_notify import catalog_with_hooks
from tests.ghworld import GITHUB_AUDIT, REPO, World, git, make_world, no_sleep
from tests.github.test_attacks import shipped_settings
from tests.github.test_notify import break_glass_pr
from tests.github_emulator.fixtures import EmulatedGitHub
from tests.webhook import Webhook

REVIEW_BY = "2026-11-24T16:00:00Z"  # jitctl merges at NOW (12:00) + review_within (4h)


@pytest.fixture
def bg(
    github_emulator: EmulatedGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: Webhook,
) -> World:
    """The shipped ruleset (a PR, the App's `jitctl` status, code owners for every path but
    grants/) and a webhook: what the review record has to get through on a real repository."""
    monkeypatch.setattr(cli_github, "retry_policy", RetryPolicy(sleep=no_sleep))
    w = make_world(
        github_emulator,
        tmp_path,
        {"catalog.yaml": catalog_with_hooks(webhook.url + "/jit") + GITHUB_AUDIT},
    )
    shipped_settings(w)
    return w


def clock(w: World, when: str) -> None:
    """GitHub's clock: the time its next review, merge or commit gets."""
    w.gh.emu.clock.set(datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC))


def merged_break_glass(w: World) -> tuple[int, str]:
    number, gid = break_glass_pr(w)
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    return number, gid


def review_job(w: World, now: str) -> list[dict[str, Any]]:
    r = w.jitctl("review", "--github", "--format", "json", now=now)  # as the App
    assert r.exit_code == 0, r.output
    out: list[dict[str, Any]] = json.loads(r.stdout)
    return out


def audit(w: World, now: str) -> tuple[int, list[str], list[dict[str, Any]]]:
    """Exit code, the break-glass finding rows (Markdown) and the events (jsonl) of the audit
    of the default branch as fetched from GitHub."""
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = w.jitctl("audit", "--ref", "origin/main", "--format", "md", now=now)
    rows = [ln for ln in r.stdout.splitlines() if "`audit.break-glass-unreviewed`" in ln]
    j = w.jitctl("audit", "--ref", "origin/main", "--format", "jsonl", now=now)
    assert j.exit_code == r.exit_code, (r.output, j.output)
    return r.exit_code, rows, [json.loads(line) for line in j.stdout.splitlines()]


def review_merges(w: World) -> list[str]:
    """The review records on main's first-parent chain."""
    out = git(w.gh.bare_path, "log", "--first-parent", "--format=%H", "main")
    return [
        sha
        for sha in out.split()
        if ("Jit-Kind", "review")
        in parse_trailers(git(w.gh.bare_path, "log", "-1", "--format=%B", sha))
    ]


def test_an_approval_on_the_merged_pr_in_time_is_recorded_and_the_audit_is_clean(
    bg: World, webhook: Webhook
) -> None:
    w = bg
    number, gid = merged_break_glass(w)
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "carol")  # @acme/sre
    w.approve(number, "erin")  # @acme/security
    r = w.jitctl("review", "--github", now="2026-11-24T13:30:00Z")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"recorded the review of {gid} (carol, erin): PR #")
    [got] = review_job(w, "2026-11-24T13:31:00Z")
    assert got["state"] == "already", got
    [record] = review_merges(w)
    assert git(w.gh.bare_path, "rev-parse", "main") == record
    # a merge commit GitHub made and signed for the App; it changes no file
    assert git(w.gh.bare_path, "log", "-1", "--format=%ae %ce", record) == (
        f"{w.gh.app_id}+jitctl-app[bot]@users.noreply.github.com noreply@github.com"
    )
    assert git(w.gh.bare_path, "diff", "--stat", f"{record}^1", record) == ""
    trailers = parse_trailers(w.message())
    assert list(trailers[:3]) == [
        ("Jit-Kind", "review"),
        ("Jit-Grant", gid),
        ("Requested-by", "dave"),
    ]
    assert [v for k, v in trailers if k == "Approved-by"] == ["carol", "erin"]
    assert ("Jit-PR", str(number)) in trailers
    reviews = [v.split() for k, v in trailers if k == "Jit-Review"]
    assert [(login, at) for _, login, at in reviews] == [
        ("carol", "2026-11-24T13:00:01Z"),
        ("erin", "2026-11-24T13:00:02Z"),
    ]
    assert [b["event"] for b in webhook.bodies()][-2:] == ["approved", "approved"]
    assert [b["actor"] for b in webhook.bodies()][-2:] == ["carol", "erin"]
    code, rows, events = audit(w, "2026-11-25T00:00:00Z")
    assert (code, rows) == (0, []), rows
    approved = [e for e in events if e["event"] == "approved" and e["grant"] == gid]
    assert [(e["actor"], e["proven"], e["proof"]) for e in approved] == [
        ("carol", True, "github:jitctl-app[bot]"),
        ("erin", True, "github:jitctl-app[bot]"),
    ]
    # once: the next scheduled runs record nothing more and tell no one again
    sent = len(webhook.received)
    pulls = w.pulls()
    for now in ("2026-11-24T13:45:00Z", "2026-11-24T17:00:00Z"):
        [again] = review_job(w, now)
        assert again["state"] == "already"
    assert review_merges(w) == [record] and w.pulls() == pulls
    assert len(webhook.received) == sent


def test_a_run_after_review_by_still_records_a_review_given_in_time(
    bg: World, tmp_path: Path
) -> None:
    """The job ran late (a failed or slow schedule): the record carries the review's own time,
    so the audit judges when the approval was given, not when it was written down. The job
    runs in a shallow checkout (jit-merge's, depth 1) and still finds the merge."""
    w = bg
    number, _ = merged_break_glass(w)
    w.gh.emu.commit_files("main", {"README.md": "later\n"}, "a later commit", author="alice")
    full = w.clone
    w.clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{w.gh.bare_path}", str(w.clone))
    assert git(w.clone, "rev-list", "--count", "HEAD") == "1"
    clock(w, "2026-11-24T15:59:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    clock(w, "2026-11-24T16:20:00Z")
    [got] = review_job(w, "2026-11-24T16:20:00Z")
    assert got["state"] == "recorded"
    w.clone = full
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert (code, rows) == (0, [])


def test_no_review_is_an_audit_error(bg: World) -> None:
    w = bg
    merged_break_glass(w)
    [got] = review_job(w, "2026-11-24T13:30:00Z")
    assert got["state"] == "waiting" and got["missing"]
    assert review_merges(w) == []
    code, rows, _ = audit(w, "2026-11-24T15:59:00Z")
    assert (code, rows) == (0, [])  # still within review_within
    [got] = review_job(w, "2026-11-24T16:30:00Z")
    assert got["state"] == "unreviewed"
    # what jit-merge's step prints: an annotation, and still exit 0 (the audit is the judge)
    r = w.jitctl("review", "--github", "--format", "github", now="2026-11-24T16:30:00Z")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(
        f"::warning::not reviewed yet: {got['grant']} (was due by {REVIEW_BY}"
    )
    code, rows, _ = audit(w, "2026-11-24T16:30:00Z")
    assert code == 1
    [row] = rows
    assert "never approved after the fact" in row and REVIEW_BY in row


def test_a_late_review_is_not_recorded_and_is_an_audit_error(bg: World) -> None:
    w = bg
    number, _ = merged_break_glass(w)
    clock(w, "2026-11-24T16:10:00Z")  # after review_by
    w.approve(number, "carol")
    w.approve(number, "erin")
    [got] = review_job(w, "2026-11-24T16:30:00Z")
    assert got["state"] == "unreviewed" and got["approvers"] == []
    assert review_merges(w) == []
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert code == 1 and len(rows) == 1


def test_approvals_that_do_not_meet_the_rules_are_not_recorded(bg: World) -> None:
    """The requester cannot approve their own PR (GitHub refuses it), and approvals from people
    the rules do not name, or too few, are not a review."""
    w = bg
    number, _ = merged_break_glass(w)
    import github

    with w.client("dave") as g, pytest.raises(github.GithubException) as exc:
        g.get_repo(REPO).get_pull(number).create_review(event="APPROVE")
    assert exc.value.status == 422
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "bob")  # in no approval rule of aws-prod-admin
    w.approve(number, "carol")  # @acme/sre only: @acme/security is missing
    [got] = review_job(w, "2026-11-24T13:30:00Z")
    assert got["state"] == "waiting"
    assert got["missing"] == ["1 more from @acme/security"]
    assert {"login": "bob", "why": "not an approver for this entitlement"} in got["ignored"]
    assert review_merges(w) == []
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert code == 1 and len(rows) == 1


def test_the_requesters_approval_never_counts_in_the_judgement() -> None:
    """GitHub refuses a PR author's approval, but the requester is judged out regardless
    (the Requested-by of the merge: a PR opened by someone else for them)."""
    from controller.core.times import parse_rfc3339
    from tests.factories import EXAMPLE_CATALOG_TEXT

    catalog = load_catalog(EXAMPLE_CATALOG_TEXT.encode(), "catalog.yaml")
    at = parse_rfc3339("2026-11-24T13:00:00Z")
    reviews = [
        Review("dave", ReviewState.APPROVED, "x", at, 1),  # the requester, in @acme/sre
        Review("erin", ReviewState.APPROVED, "x", at, 2),
    ]
    outcome = breakglass.judge(catalog, "aws-prod-admin", reviews, "dave", {})
    assert not outcome.satisfied
    assert ("dave", "the author's own approval never counts") in outcome.ignored
    assert breakglass.judge(catalog, "aws-prod-admin", reviews, "alice", {}).satisfied


def test_a_forged_review_commit_does_not_clear_the_finding(bg: World) -> None:
    """The attack: someone with write access puts the very trailers jitctl writes on the
    default branch, authored in the App bot's name, naming eligible approvers, dated in time.
    Pushed by hand it is not signed; made through the API GitHub signs it, but for its real
    maker. Neither is proven, so neither clears the finding, and neither makes the review job
    believe the review is recorded."""
    w = bg
    w.gh.emu.state.rulesets.clear()  # say the attacker got past the ruleset: the audit holds
    number, gid = merged_break_glass(w)
    bot = f"{w.gh.app_id}+jitctl-app[bot]@users.noreply.github.com"
    message = (
        f"jitctl: review break-glass grant {gid}\n\nJit-Kind: review\nJit-Grant: {gid}\n"
        f"Requested-by: dave\nApproved-by: carol\nApproved-by: erin\nJit-PR: {number}\n"
        f"Jit-Review: 1 carol 2026-11-24T13:00:00Z\nJit-Review: 2 erin 2026-11-24T13:00:00Z\n"
    )
    git(w.clone, "fetch", "-q", "origin", "main")
    git(w.clone, "checkout", "-q", "-B", "forge", "FETCH_HEAD")
    tree = git(w.clone, "rev-parse", "FETCH_HEAD^{tree}")
    env_date = "2026-11-24T13:10:00Z"
    import os
    import subprocess

    pushed = subprocess.run(
        ["git", "commit-tree", tree, "-p", "FETCH_HEAD", "-F", "-"],
        cwd=w.clone, input=message.encode(), capture_output=True, check=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
             "GIT_AUTHOR_NAME": "jitctl-app[bot]", "GIT_AUTHOR_EMAIL": bot,
             "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com",
             "GIT_AUTHOR_DATE": env_date, "GIT_COMMITTER_DATE": env_date},
    ).stdout.decode().strip()  # fmt: skip
    git(w.clone, "push", "-q", "origin", f"{pushed}:refs/heads/main")
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert code == 1
    [row] = rows
    assert f"review {pushed[:12]} is not proven to be jitctl's: it is not signed" in row
    # through the API, as alice: GitHub signs it (web-flow) but it is alice's commit
    with w.client("alice") as g:
        repo = g.get_repo(REPO)
        made = repo.create_git_commit(
            message, repo.get_git_tree(tree), [repo.get_git_commit(pushed)]
        )
    assert w.gh.emu.git.verified(made.sha) is False  # made as alice: not GitHub's commit
    clock(w, "2026-11-24T13:20:00Z")
    signed = w.gh.emu.git.commit_tree(
        tree,
        [made.sha],
        message,
        w.gh.emu.signature("alice"),
        w.gh.emu.signature(None),
    )  # fmt: skip  (what GitHub makes for alice through its API: signed, authored by alice)
    w.gh.emu.git.update_ref("refs/heads/main", signed)
    assert w.gh.emu.git.verified(signed)
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert code == 1
    [row] = rows
    assert f"review {signed[:12]} is not proven to be jitctl's: GitHub made it for" in row
    assert "not for jitctl's App (jitctl-app[bot])" in row
    # the forged records do not make the job skip: real in-time approvals still get recorded
    clock(w, "2026-11-24T13:30:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    [got] = review_job(w, "2026-11-24T13:45:00Z")
    assert got["state"] == "recorded"
    code, rows, _ = audit(w, "2026-11-25T00:00:00Z")
    assert (code, rows) == (0, [])


def test_someone_elses_commit_on_the_review_branch_is_never_merged(bg: World) -> None:
    """Anyone with write access can push jit/review/<id> first, with a change in it: the App
    replaces the branch with its own commit that changes nothing and merges only that sha."""
    w = bg
    number, gid = merged_break_glass(w)
    w.gh.emu.commit_files(
        f"jit/review/{gid}", {"grants/sneaky.hcl": "grant {}\n"}, "sneak", author="alice"
    )
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    [got] = review_job(w, "2026-11-24T13:30:00Z")
    assert got["state"] == "recorded"
    assert "grants/sneaky.hcl" not in w.main_files()
    [record] = review_merges(w)
    assert git(w.gh.bare_path, "diff", "--stat", f"{record}^1", record) == ""


def test_a_run_that_stopped_before_the_merge_is_finished_by_the_next(bg: World) -> None:
    """The first run opened the review PR but GitHub failed the merge; the next run reuses its
    branch and PR: one PR, one record."""
    w = bg
    number, _ = merged_break_glass(w)
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    w.gh.emu.inject("PUT", r"/pulls/\d+/merge$", "5xx", times=10)
    [first] = review_job(w, "2026-11-24T13:30:00Z")
    assert first["state"] == "waiting" and review_merges(w) == []
    w.gh.emu.faults.clear()
    opened = w.pulls()
    [second] = review_job(w, "2026-11-24T13:45:00Z")
    assert second["state"] == "recorded"
    assert w.pulls() == opened  # no second PR
    assert len(review_merges(w)) == 1


def test_racing_runs_record_once(bg: World, tmp_path: Path) -> None:
    """Two runs at once (two checkouts, two App clients): one review record."""
    w = bg
    number, gid = merged_break_glass(w)
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    clones = [w.clone, tmp_path / "clone2"]
    git(tmp_path, "clone", "-q", str(w.gh.bare_path), str(clones[1]))
    now = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
    states: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(clone: Path) -> None:
        config = ForgeConfig(
            REPO, w.gh.base_url, app_id=w.gh.app_id,
            app_private_key=w.gh.app_private_key_pem, timeout=30,
        )  # fmt: skip
        try:
            with GitHubForge(config, RetryPolicy(sleep=no_sleep)) as forge, GitRepo(clone) as repo:
                start.wait()
                for r in breakglass.review_on_github(
                    forge, repo, remote="origin", base="main", now=now
                ):
                    states.append(r.state)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert "recorded" in states
    assert len(review_merges(w)) == 1
    assert len(w.pulls(f"jit/review/{gid}")) == 1


def test_a_hand_made_break_glass_merge_borrows_no_pr_reviews(bg: World) -> None:
    """Someone with write access (past the ruleset) pushes a grant with the break-glass
    trailers naming a real break-glass PR that its approvers approved: the job judges the
    reviews of a PR only for the commit that PR merged as, so it records nothing for it."""
    w = bg
    w.gh.emu.state.rulesets.clear()
    number, gid = merged_break_glass(w)
    clock(w, "2026-11-24T13:00:00Z")
    w.approve(number, "carol")
    w.approve(number, "erin")
    twin = gid[:-1] + ("1" if gid[-1] != "1" else "2")
    text = git(w.gh.bare_path, "show", f"main:grants/{gid}.hcl") + "\n"
    w.gh.emu.commit_files(
        "main",
        {f"grants/{twin}.hcl": text},
        f"grant\n\nJit-Kind: request\nJit-Grant: {twin}\nRequested-by: dave\n"
        f"Jit-PR: {number}\nJit-Break-Glass: {twin} {REVIEW_BY}",
        author="alice",
    )
    got = {r["grant"]: r for r in review_job(w, "2026-11-24T13:30:00Z")}
    assert got[twin]["state"] == "invalid"
    assert f"PR #{number} did not merge as" in got[twin]["note"]
    assert got[gid]["state"] == "recorded"
    assert len(review_merges(w)) == 1
    assert f"Jit-Grant: {twin}" not in w.message()
