"""Notifications on (emulated) GitHub: the end-to-end flow heard by a real webhook on
127.0.0.1, break-glass by label, and stale request PRs closed by the merge workflow's run."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from controller.cli import github as cli_github
from controller.formats.grantfile import parse_grant_file
from controller.formats.trailers import parse_trailers
from tests.cli.test_notify import catalog_with_hooks
from tests.ghworld import World, git, make_world, no_sleep
from tests.github.test_lifecycle import LATER, open_request
from tests.github_emulator.fixtures import EmulatedGitHub
from tests.webhook import Webhook


@pytest.fixture
def hooked(
    github_emulator: EmulatedGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: Webhook,
) -> World:
    from controller.github.retry import RetryPolicy

    monkeypatch.setattr(cli_github, "retry_policy", RetryPolicy(sleep=no_sleep))
    catalog = catalog_with_hooks(webhook.url + "/jit").replace(
        "\nentitlements:\n", "\nrequest_ttl: 2h\nentitlements:\n", 1
    )
    return make_world(github_emulator, tmp_path, {"catalog.yaml": catalog})


def test_github_end_to_end_notifies(hooked: World, webhook: Webhook) -> None:
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge")
    assert r.exit_code == 0, r.output
    r = w.jitctl("expire", "--format", "json", now=LATER)
    assert r.exit_code == 0, r.output
    expiry_pr = json.loads(r.stdout)["pr"]
    got = [(b["event"], b["grant"], b["actor"], b["pr"]) for b in webhook.bodies("/jit")]
    assert got == [
        ("requested", gid, "alice", number),
        ("approved", gid, "carol", number),
        ("granted", gid, "alice", number),
        ("expired", gid, "jitctl", expiry_pr),
    ]
    assert {b["repository"] for b in webhook.bodies()} == {"acme/access"}
    # a second run changes nothing and tells no one again
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0
    assert len(webhook.received) == 4


def break_glass_pr(w: World, *extra: str) -> tuple[int, str]:
    r = w.jitctl(
        "request", "aws-prod-admin", "--for", "1h", "--reason", "INC-9: prod down", "--as",
        "dave", "--open-pr", "--break-glass", "--format", "json", *extra, login="dave",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return max(w.pulls()), json.loads(r.stdout)["id"]


def test_break_glass_label_merges_without_approval(hooked: World, webhook: Webhook) -> None:
    w = hooked
    number, gid = break_glass_pr(w)
    assert w.gh.emu.pull(number).labels == ["break-glass"]
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    trailers = parse_trailers(w.message())
    assert ("Jit-Break-Glass", f"{gid} 2026-11-24T16:00:00Z") in trailers
    assert not [v for k, v in trailers if k == "Approved-by"]
    assert [b["event"] for b in webhook.bodies("/jit")] == ["requested", "break-glass", "granted"]
    # the audit (git alone) sees the break-glass grant; unreviewed after review_within: error
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = w.jitctl("audit", "--ref", "origin/main", "--format", "md", now="2026-11-24T16:00:01Z")
    assert r.exit_code == 1
    assert "| error | `audit.break-glass-unreviewed` |" in r.stdout


def test_break_glass_label_on_an_open_request_starts_the_clock_first(hooked: World) -> None:
    """The break-glass label on an open request (a duration, no expires_at): never merged as it
    is (on main it would be no grant at all); jitctl writes expires_at first, then merges it
    without approval."""
    w = hooked
    r = w.jitctl(
        "request", "aws-prod-admin", "--for", "1h", "--reason", "INC-9: prod down", "--as",
        "dave", "--open-pr", "--format", "json", login="dave",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    number, path = max(w.pulls()), json.loads(r.stdout)["path"]
    requested = w.gh.emu.pull(number).head_sha
    with w.client("dave") as g:
        g.get_repo("acme/access").get_pull(number).add_to_labels("break-glass")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    state = w.status(requested)
    assert state is not None and state[0] == "pending"  # the open request itself: never success
    gf = parse_grant_file(path, git(w.gh.bare_path, "show", f"main:{path}").encode())
    assert gf.grant is not None and gf.grant.duration == timedelta(hours=1)


def test_break_glass_label_on_an_entitlement_without_it_is_refused(hooked: World) -> None:
    w = hooked
    number, _ = open_request(w)
    with w.client("alice") as g:
        g.get_repo("acme/access").get_pull(number).add_to_labels("break-glass")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 1
    assert "break-glass.not-allowed" in r.stdout
    assert w.gh.emu.pull(number).merged_at is None
    state = w.status(w.gh.emu.pull(number).head_sha)
    assert state is not None and state[0] == "failure"


@pytest.mark.parametrize(
    ("now", "why"),
    [
        ("2026-11-24T16:00:00Z", "would have expired at 2026-11-24T16:00:00Z"),
        ("2026-11-24T13:00:10Z", "older than the catalog request_ttl (2h)"),
    ],
)
def test_stale_requests_are_closed_with_a_comment(
    hooked: World, webhook: Webhook, now: str, why: str
) -> None:
    w = hooked
    # a fixed end can pass before approval; an open request (clock from approval) cannot
    number, gid = open_request(w, "--fixed-end")
    w.approve(number, "carol")  # even approved: a stale request is not merged
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=now)
    assert r.exit_code == 1, r.output
    pr = w.gh.emu.pull(number)
    assert pr.state == "closed" and pr.merged_at is None
    [comment] = [c for c in w.gh.emu.state.comments if c.issue_number == number]
    assert comment.body.startswith(
        "<!-- jitctl -->\n### jitctl: closed: "
    ) and why in comment.body.replace("\\", "")
    assert ("closed", gid) in webhook.events("/jit")
    # closed stays closed: nothing more happens
    r = w.jitctl("approvals", "--pr", str(number), "--merge", now=now)
    assert w.gh.emu.pull(number).state == "closed"
    assert webhook.events("/jit").count(("closed", gid)) == 1


def test_a_fresh_request_is_not_stale(hooked: World) -> None:
    w = hooked
    number, _ = open_request(w)
    r = w.jitctl("approvals", "--pr", str(number), "--merge", now="2026-11-24T12:59:00Z")
    assert r.exit_code == 1  # pending approval, still open
    assert w.gh.emu.pull(number).state == "open"


def test_after_apply_the_requester_hears_back_once(hooked: World, webhook: Webhook) -> None:
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    before = len(webhook.received)

    def mine() -> list[str]:
        return [
            c.body
            for c in w.gh.emu.state.comments
            if c.issue_number == number and c.body.startswith("<!-- jitctl:applied")
        ]

    args = ("announce", "--ref", "origin/main", "--apply-result")
    r = w.jitctl(*args, "failure")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"commented on PR #{number}: {gid} (failure)\n"
    assert webhook.events("/jit")[before:] == [("failed", gid)]
    r = w.jitctl(*args, "success", "--run-url", "https://github.example/run/1")
    assert r.exit_code == 0, r.output
    failure, success = mine()
    assert "The apply failed" in failure
    assert success.startswith(f"<!-- jitctl:applied {gid} 2026-11-24T16:00:00Z success -->")
    assert "Access is live" in success and "until **2026-11-24T16:00:00Z**" in success
    assert f"jitctl extend {gid} --for 1h" in success
    # the hourly apply says nothing twice
    r = w.jitctl(*args, "success")
    assert r.stdout == f"already told PR #{number}: {gid} (success)\n"
    assert len(mine()) == 2
    # after expiry there is nothing live to announce
    r = w.jitctl(*args, "success", now=LATER)
    assert r.stdout == "no live grant with a pull request\n"


def test_reminders_on_github_once_across_fresh_checkouts(
    hooked: World, webhook: Webhook, tmp_path: Path
) -> None:
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0
    before = len(webhook.received)
    r = w.jitctl("remind", "--before", "30m", now="2026-11-24T15:40:00Z")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"reminded: {gid} (PR #{number})\n"
    [c] = [c for c in w.gh.emu.state.comments if c.body.startswith("<!-- jitctl:expiring")]
    assert c.issue_number == number and f"jitctl extend {gid} --for 1h" in c.body
    [ev] = webhook.bodies("/jit")[before:]
    assert (ev["event"], ev["grant"], ev["pr"]) == ("expiring", gid, number)

    # the next scheduled run, on a fresh checkout: the claim on the remote keeps it silent
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(w.gh.bare_path), str(fresh))
    w.clone = fresh
    r = w.jitctl("remind", "--before", "30m", now="2026-11-24T15:45:00Z")
    assert r.stdout == f"already reminded: {gid}\n"
    assert len(webhook.received) == before + 1
    assert len([c for c in w.gh.emu.state.comments if "jitctl:expiring" in c.body]) == 1


def test_two_runs_racing_for_one_reminder_claim_it_once(hooked: World, tmp_path: Path) -> None:
    """Both runs read 'not reminded' before either pushed: git lets one create the ref."""
    from controller.git.repo import GitRepo
    from controller.github.remind import _claim
    from tests.factories import make_grant

    g = make_grant(id="alice-ro")
    wins = []
    for name in ("a", "b"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(hooked.gh.bare_path), str(clone))
        with GitRepo(clone) as repo:
            wins.append(_claim(repo, "origin", g, {}))
    assert wins == [True, False]


def test_a_revocation_pr_merged_on_github_notifies_revoked(hooked: World, webhook: Webhook) -> None:
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0
    # carol may approve the grant's entitlement: her revocation needs no approval
    w.gh.emu.commit_files("revoke", {f"grants/{gid}.hcl": None}, "revoke", author="carol")
    with w.client("carol") as g:
        rev = g.get_repo("acme/access").create_pull(
            title="revoke", body="", head="revoke", base="main"
        )
    r = w.jitctl("approvals", "--pr", str(rev.number), "--merge")
    assert r.exit_code == 0, r.output
    [last] = webhook.bodies("/jit")[-1:]
    assert (last["event"], last["grant"], last["actor"], last["pr"]) == (
        "revoked",
        gid,
        "carol",
        rev.number,
    )


def test_a_webhook_answering_500_changes_nothing_on_github(hooked: World, webhook: Webhook) -> None:
    webhook.status = 500
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge")
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    assert f"warning: notification granted {gid} to http://127.0.0.1" in r.stderr
    r = w.jitctl("expire", "--format", "json", now=LATER)
    assert r.exit_code == 0 and json.loads(r.stdout)["merged"]
    assert f"grants/{gid}.hcl" not in w.main_files()
    assert [b["event"] for b in webhook.bodies("/jit")] == [
        "requested",
        "approved",
        "granted",
        "expired",
    ]  # each tried once


def test_a_forged_marker_does_not_silence_the_apply_report(hooked: World) -> None:
    """The requester posts jitctl's marker themselves to hide an 'apply failed' comment: only
    the App's own comments count."""
    w = hooked
    number, gid = open_request(w)
    w.approve(number, "carol")
    assert w.jitctl("approvals", "--pr", str(number), "--merge").exit_code == 0
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    forged = f"<!-- jitctl:applied {gid} 2026-11-24T16:00:00Z failure -->\nall good"
    from tests.github_emulator.state import Comment as EmuComment

    at = w.gh.emu.clock.tick()
    w.gh.emu.state.comments.append(EmuComment(99999, number, "alice", forged, at, at))
    r = w.jitctl("announce", "--ref", "origin/main", "--apply-result", "failure")
    assert r.stdout == f"commented on PR #{number}: {gid} (failure)\n"
    ours = [c for c in w.gh.emu.state.comments if "The apply failed" in c.body]
    assert len(ours) == 1 and ours[0].user != "alice"
