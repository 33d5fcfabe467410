"""The whole lifecycle on (emulated) GitHub, over HTTP with pygithub: request PR, approvals,
stale approvals, merge with trailers, expiry PR."""

from __future__ import annotations

import json

import github
import pytest

from controller.formats.trailers import parse_trailers
from tests.factories import EXAMPLE_CATALOG_TEXT, grant_text
from tests.ghworld import REPO, World, git, world

__all__ = ["world"]

LATER = "2026-11-24T17:00:00Z"


def open_request(w: World, *extra: str) -> tuple[int, str]:
    r = w.jitctl(
        "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1: <b>@bob</b> [x](y)",
        "--as", "alice", "--open-pr", "--format", "json", *extra, login="alice",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    number = max(w.pulls())
    return number, out["id"]


def test_end_to_end(world: World) -> None:
    w = world
    number, gid = open_request(w)
    pr = w.gh.emu.pull(number)
    assert (pr.user, pr.head_ref, pr.base_ref) == ("alice", f"jit/request/{gid}", "main")
    assert "alice" in (pr.body or "") and "INC-1" in (pr.body or "")
    assert "<b>" not in (pr.body or "") and "@bob" not in (pr.body or "")  # escaped

    # no approval yet: pending, saying what is missing
    r = w.jitctl("approvals", "--pr", str(number), "--format", "json")
    assert r.exit_code == 1, r.output
    state, desc = w.status(pr.head_sha) or ("", "")
    assert state == "pending" and "@acme/sre" in (desc or "")

    # the author cannot approve on GitHub, and an approval by the author never counts
    with w.client("alice") as g, pytest.raises(github.GithubException) as own:
        g.get_repo(REPO).get_pull(number).create_review(event="APPROVE")
    assert own.value.status == 422
    from tests.github_emulator.state import Review as EmuReview

    w.gh.emu.state.reviews.append(
        EmuReview(9999, number, "alice", "APPROVED", "", pr.head_sha, w.gh.emu.clock.tick())
    )
    r = w.jitctl("approvals", "--pr", str(number), "--format", "json")
    assert r.exit_code == 1
    assert w.status(pr.head_sha)[0] == "pending"  # type: ignore[index]
    assert {"login": "alice", "why": "the author's own approval never counts"} in json.loads(
        r.stdout
    )["ignored"]

    # carol approves: the request asks for 4h from approval, so it is never success as it is:
    # pending until jitctl writes expires_at (with --merge)
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number))
    assert r.exit_code == 1, r.output
    state, desc = w.status(pr.head_sha) or ("", "")
    assert state == "pending" and "approved by carol" in (desc or "")
    assert "starts the clock" in (desc or "")

    # a push after the approval makes it stale
    path = f"grants/{gid}.hcl"
    git(w.clone, "checkout", "-q", f"jit/request/{gid}")
    text = (w.clone / path).read_text().replace("INC-1", "INC-2")
    (w.clone / path).write_text(text)
    git(w.clone, "commit", "-qam", "reword")
    git(w.clone, "push", "-q", "origin", f"jit/request/{gid}")
    git(w.clone, "checkout", "-q", "main")
    new_head = w.gh.emu.ref(f"jit/request/{gid}")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 1, r.output
    assert w.status(new_head or "")[0] == "pending"  # type: ignore[index]
    assert not w.gh.emu.pull(number).merged_at
    assert "not the current head" in r.stdout

    # one comment, kept up to date, with escaped user text
    comments = [c for c in w.gh.emu.state.comments if c.issue_number == number]
    assert len(comments) == 1 and comments[0].body.startswith("<!-- jitctl -->")
    assert "<b>" not in comments[0].body and "INC-2" in comments[0].body

    # approve again and merge: the same trailers as a local merge
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge")
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    msg = w.message()
    trailers = parse_trailers(msg)
    assert ("Jit-Kind", "request") in trailers
    assert ("Jit-Grant", gid) in trailers
    assert ("Requested-by", "alice") in trailers
    assert ("Approved-by", "carol") in trailers
    assert ("Jit-PR", str(number)) in trailers
    assert msg.startswith(f"jitctl: merge #{number} (request: {gid})")
    assert path in w.main_files()
    # the merged PR: nothing more to do
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0

    # before expiry: nothing to do
    r = w.jitctl("expire", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["action"] == "none"

    # time passes: one expiry PR, checked and merged
    r = w.jitctl("expire", "--format", "json", now=LATER)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["action"], out["merged"]) == ("created", True)
    assert [g["id"] for g in out["removed"]] == [gid]
    assert w.pulls("jit/expire") == [out["pr"]]
    assert path not in w.main_files()
    trailers = parse_trailers(w.message())
    assert ("Jit-Kind", "expiry") in trailers
    assert ("Expired-Grant", f"{gid} 2026-11-24T16:00:00Z") in trailers
    assert ("Jit-PR", str(out["pr"])) in trailers
    expiry_pr = w.gh.emu.pull(out["pr"])
    assert w.status(expiry_pr.head_sha)[0] == "success"  # type: ignore[index]

    # and again: converged
    r = w.jitctl("expire", "--format", "json", now=LATER)
    assert json.loads(r.stdout)["action"] == "none"
    assert w.pulls("jit/expire") == [out["pr"]]
    assert not w.gh.emu.errors

    # the audit reads GitHub's merges like the local ones: from git alone, no network
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = w.jitctl("audit", "--ref", "origin/main", "--format", "jsonl", now=LATER)
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    got = [(e["event"], e["grant"], e["actor"], e["pr"], e["unreviewed"]) for e in events]
    assert got == [
        ("requested", gid, "alice", number, False),
        ("approved", gid, "carol", number, False),
        ("granted", gid, got[2][2], number, False),
        ("expired", gid, got[3][2], out["pr"], False),
    ]
    assert events[3]["expires_at"] == "2026-11-24T16:00:00Z"
    # proven from git alone: GitHub's signature (verified against the key in the repository)
    # on merge commits whose author is the App's bot
    assert all(e["proven"] and e["proof"] == "github:jitctl-app[bot]" for e in events)
    assert all(e["flags"] == [] for e in events)
    # no error; the only notes are the test world's set-up (the seed's grants/.keep, and the
    # commit that put the catalog's trust root in place)
    assert "0 error(s)" in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith("audit.invalid-file: 1, audit.trust-changed: 1"), r.stderr


def test_a_merge_by_hand_on_github_is_not_jitctls(world: World) -> None:
    """Someone with write access merges a grant PR on GitHub with jitctl's trailers typed in:
    GitHub signs the merge, but for them, not for the App: the audit says unproven."""
    w = world
    # a fixed end: an open request merged by hand would be no grant at all
    number, gid = open_request(w, "--fixed-end")
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    with w.client("bob") as g:
        g.get_repo(REPO).get_pull(number).merge(
            commit_title=f"jitctl: merge #{number} (request: {gid})",
            commit_message=f"Jit-Kind: request\nJit-Grant: {gid}\nRequested-by: alice\n"
            f"Approved-by: carol\nJit-PR: {number}",
            merge_method="merge",
            sha=pr.head_sha,
        )
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = w.jitctl("audit", "--ref", "origin/main", "--format", "jsonl", now=LATER)
    assert r.exit_code == 1, r.output  # an error finding
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    granted = next(e for e in events if e["event"] == "granted")
    assert granted["flags"] == ["audit.unproven"] and granted["proven"] is False
    assert "audit.unproven: 1" in r.stderr


def test_github_format_for_the_workflows(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = world
    number, _ = open_request(w)
    summary = tmp_path / "summary.md"
    env_summary = {"GITHUB_STEP_SUMMARY": str(summary)}
    import os

    os.environ.update(env_summary)
    try:
        r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "github")
        assert r.exit_code == 1 and "pending" in r.output
        r = w.jitctl("expire", "--format", "github", now=LATER)
        assert r.exit_code == 0, r.output
        assert "expiry PR: none" in r.output  # the request is not merged: nothing on main
    finally:
        os.environ.pop("GITHUB_STEP_SUMMARY")
    assert "jitctl approvals" in summary.read_text() and "jitctl expire" in summary.read_text()


def test_pull_requests_into_another_branch_are_never_approved(world: World) -> None:
    w = world
    main_sha = w.gh.emu.ref("main")
    w.gh.emu.commit_files("side", {"README.md": "a side branch"}, "side", start=main_sha)
    w.gh.emu.commit_files(
        "req-side", {"grants/alice-ro.hcl": grant_text(expires_at="2026-11-24T16:00:00Z")},
        "request", author="alice", start=w.gh.emu.ref("side"),
    )  # fmt: skip
    with w.client("alice") as g:
        number = (
            g.get_repo(REPO)
            .create_pull(title="grant", body="", head="req-side", base="side")
            .number
        )
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 1, r.output
    pr = w.gh.emu.pull(number)
    assert pr.merged_at is None
    state, desc = w.status(pr.head_sha) or ("", "")
    assert state == "failure" and "into main only" in (desc or "")


def test_the_catalog_in_force_is_the_base_branch_tip(world: World) -> None:
    """A catalog tightened after the PR was opened applies at once (a fixed expires_at; an open
    request is capped instead: tests/github/test_clock.py)."""
    w = world
    number, _ = open_request(w, "--fixed-end")
    w.approve(number, "carol")
    tightened = EXAMPLE_CATALOG_TEXT.replace("max_duration: 12h", "max_duration: 1h")
    w.gh.emu.commit_files("main", {"catalog.yaml": tightened}, "tighten", author="carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 1, r.output
    assert w.gh.emu.pull(number).merged_at is None
    assert "duration.exceeded" in r.stdout
