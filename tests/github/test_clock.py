"""The clock starts at approval, on (emulated) GitHub: the approved open request gets one
materialisation commit on its branch, the status is never success before that, approvals carry
only to a commit that is nothing but that materialisation, and the audit reads both."""

from __future__ import annotations

import json
import os
import subprocess

from controller.core.model import ReviewState
from controller.formats.grantfile import materialise_text
from controller.formats.trailers import parse_trailers
from controller.git.lifecycle import materialise_message
from controller.github.expire import JITCTL_EMAIL
from controller.github.materialise import recorded
from tests.factories import t
from tests.ghworld import GIT_ENV, World, git, world

__all__ = ["world"]

LATE = "2026-11-24T13:30:00Z"


def open_request(w: World, *extra: str) -> tuple[int, str, str]:
    r = w.jitctl(
        "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-7", "--as", "alice",
        "--open-pr", "--format", "json", *extra, login="alice",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["from_approval"] is True
    return max(w.pulls()), out["id"], out["path"]


def file_at(w: World, sha: str, path: str) -> bytes:
    out = subprocess.run(
        ["git", "cat-file", "blob", f"{sha}:{path}"], cwd=w.gh.bare_path, capture_output=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def push_as_requester(w: World, branch: str, path: str, data: bytes, message: str) -> str:
    git(w.clone, "fetch", "-q", "origin")
    git(w.clone, "checkout", "-q", "-B", branch, f"origin/{branch}")
    (w.clone / path).write_bytes(data)
    git(w.clone, "commit", "-qam", message)
    git(w.clone, "push", "-q", "origin", branch)
    git(w.clone, "checkout", "-q", "main")
    sha = w.gh.emu.ref(branch)
    assert sha is not None
    return sha


def audit_granted(w: World, now: str) -> dict[str, object]:
    git(w.clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    r = w.jitctl("audit", "--ref", "origin/main", "--format", "jsonl", now=now)
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    (granted,) = [e for e in events if e["event"] == "granted"]
    return granted


def test_a_request_approved_late_gets_its_full_duration(world: World) -> None:
    w = world
    number, gid, path = open_request(w)  # 12:00, 4h
    pr = w.gh.emu.pull(number)
    requested_head = pr.head_sha
    assert "4h from approval" in pr.title
    assert b"expires_at" not in file_at(w, requested_head, path)
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["merged"] is True and out["approvers"] == ["carol"]
    # the open request itself was never success; the materialised head was
    assert w.status(requested_head) == (
        "pending",
        "approved by carol; jitctl starts the clock: writes expires_at, merges",
    )
    pr = w.gh.emu.pull(number)
    assert w.status(pr.head_sha)[0] == "success"  # type: ignore[index]
    # one commit on the branch, parent = the approved head, one line added
    parents = git(w.gh.bare_path, "log", "-1", "--format=%P", pr.head_sha).split()
    assert parents == [requested_head]
    diff = git(w.gh.bare_path, "diff", requested_head, pr.head_sha)
    added = [ln for ln in diff.splitlines() if ln.startswith(("+", "-")) and ln[:3] not in ("+++", "---")]  # fmt: skip  # noqa: E501
    assert added == ['+  expires_at  = "2026-11-24T17:30:00Z"']
    # main: the materialised file, the same trailers as a local merge
    text = git(w.gh.bare_path, "show", f"main:{path}")
    assert 'duration    = "4h"' in text and 'expires_at  = "2026-11-24T17:30:00Z"' in text
    trailers = parse_trailers(w.message())
    assert ("Approved-by", "carol") in trailers and ("Jit-Grant", gid) in trailers
    granted = audit_granted(w, LATE)
    # (the emulator dates its merge commits by its own clock: the window's end is what counts)
    assert (granted["duration"], granted["expires_at"]) == ("4h", "2026-11-24T17:30:00Z")


def test_capped_when_max_duration_shrank_before_the_merge(world: World) -> None:
    w = world
    number, _gid, path = open_request(w)
    w.approve(number, "carol")
    current = git(w.gh.bare_path, "show", "main:catalog.yaml") + "\n"
    tightened = current.replace("max_duration: 12h", "max_duration: 1h")
    assert tightened != current
    w.gh.emu.commit_files("main", {"catalog.yaml": tightened}, "tighten", author="carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 0, r.output
    text = git(w.gh.bare_path, "show", f"main:{path}")
    assert 'expires_at  = "2026-11-24T14:30:00Z"' in text
    granted = audit_granted(w, LATE)
    assert (granted["duration"], granted["expires_at"]) == ("4h", "2026-11-24T14:30:00Z")


def test_stale_approvals_dismissed_on_push(world: World) -> None:
    """With the ruleset's "dismiss stale approvals", GitHub dismisses carol's approval when
    jitctl pushes the materialisation. The run that pushed it read the approval just before and
    still merges; a later run (after a failed merge) needs a new approval on the new head."""
    w = world
    w.gh.emu.protect_branch("main", {"required_pull_request_reviews": {"dismiss_stale_reviews": True}})  # fmt: skip  # noqa: E501
    number, _gid, _path = open_request(w)
    w.approve(number, "carol")
    # the merge fails three times (GitHub 502s): the clock started, nothing merged
    w.gh.emu.inject("PUT", r"/pulls/\d+/merge$", "5xx", times=3)
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    pr = w.gh.emu.pull(number)
    assert pr.merged_at is None
    assert [rv.state for rv in w.gh.emu.state.reviews if rv.pr_number == number] == [
        ReviewState.DISMISSED.value
    ]
    # a new run: carol's dismissed approval does not count any more
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout)["state"] == "pending"
    w.approve(number, "carol")  # on the materialised head
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None


def test_dismissed_in_the_same_run_still_merges(world: World) -> None:
    w = world
    w.gh.emu.protect_branch("main", {"required_pull_request_reviews": {"dismiss_stale_reviews": True}})  # fmt: skip  # noqa: E501
    number, _gid, _path = open_request(w)
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 0, r.output
    assert w.gh.emu.pull(number).merged_at is not None
    assert [rv.state for rv in w.gh.emu.state.reviews if rv.pr_number == number] == ["DISMISSED"]


# --- attacks: a push after the approval ----------------------------------------------------


def test_requester_materialises_with_a_later_expiry(world: World) -> None:
    """Attack: the requester pushes the "materialisation" herself, ending later than jitctl
    would (a materialisation time in the future). Not recognised: approvals on the open
    request do not carry over."""
    w = world
    number, _gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path)
    forged = materialise_text(path, data, t("2026-11-24T20:00:00Z"))  # now 13:30 + 4h = 17:30
    push_as_requester(w, pr.head_ref, path, forged, "start the clock")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["state"] == "failure" and not out["merged"]
    assert [f["rule"] for f in out["findings"]] == ["duration.window"]
    assert w.gh.emu.pull(number).merged_at is None


def test_requester_materialises_and_edits_the_reason(world: World) -> None:
    w = world
    number, _gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path)
    forged = materialise_text(path, data, t("2026-11-24T16:00:00Z")).replace(b"INC-7", b"INC-8")
    push_as_requester(w, pr.head_ref, path, forged, "start the clock")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["state"] == "pending" and "not the current head" in out["ignored"][0]["why"]
    assert w.gh.emu.pull(number).merged_at is None


def test_requester_asks_for_more_after_the_approval(world: World) -> None:
    w = world
    number, _gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path).replace(b'"4h"', b'"12h"')
    pushed = push_as_requester(w, pr.head_ref, path, data, "longer")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["state"] == "pending" and "not the current head" in out["ignored"][0]["why"]
    assert w.gh.emu.pull(number).merged_at is None
    assert w.gh.emu.ref(pr.head_ref) == pushed  # the clock did not start


def test_an_exact_materialisation_pushed_by_a_person_does_not_ride(world: World) -> None:
    """Attack: the requester pushes herself exactly the line jitctl would write (for an earlier
    clock start) in an ordinary commit. Not jitctl's clock-start commit: carol's approval of
    the open request does not carry to it; it needs a new approval."""
    w = world
    number, _gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path)
    same = materialise_text(path, data, t("2026-11-24T16:00:00Z"))  # from 12:00
    pushed = push_as_requester(w, pr.head_ref, path, same, "start the clock")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["state"] == "pending" and "not the current head" in out["ignored"][0]["why"]
    assert w.gh.emu.pull(number).merged_at is None
    assert w.gh.emu.ref(pr.head_ref) == pushed


def forge_clock_start(w: World, branch: str, path: str, data: bytes, message: str) -> str:
    """A commit that claims to be jitctl's: its pinned identity and a clock-start message."""
    git(w.clone, "fetch", "-q", "origin")
    git(w.clone, "checkout", "-q", "-B", branch, f"origin/{branch}")
    (w.clone / path).write_bytes(data)
    git(w.clone, "add", path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    for role in ("AUTHOR", "COMMITTER"):
        env |= {f"GIT_{role}_NAME": "jitctl", f"GIT_{role}_EMAIL": JITCTL_EMAIL}
    subprocess.run(
        ["git", "commit", "-q", "-F", "-"], cwd=w.clone, env=env, input=message.encode(), check=True
    )
    git(w.clone, "push", "-q", "origin", branch)
    git(w.clone, "checkout", "-q", "main")
    sha = w.gh.emu.ref(branch)
    assert sha is not None
    return sha


def test_a_forged_clock_start_commit_grants_no_more(world: World) -> None:
    """Attack: the requester forges jitctl's identity and clock-start message. Identity can be
    forged by anyone who can push, so the content decides: exactly jitctl's materialisation
    for a start no later than now is recognised and merges with that (shorter) window."""
    w = world
    number, gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path)
    same = materialise_text(path, data, t("2026-11-24T16:00:00Z"))
    message = materialise_message([f"{gid} until 2026-11-24T16:00:00Z"], t("2026-11-24T12:00:00Z"))
    forge_clock_start(w, pr.head_ref, path, same, message)
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 0, r.output
    text = git(w.gh.bare_path, "show", f"main:{path}")
    assert 'expires_at  = "2026-11-24T16:00:00Z"' in text


def test_a_forged_clock_start_that_records_another_time_does_not_ride(world: World) -> None:
    """Attack: jitctl's identity and message, but the file's expires_at is not what the
    recorded start gives (the message says 12:00, the file ends at 17:00): not recognised."""
    w = world
    number, gid, path = open_request(w)
    w.approve(number, "carol")
    pr = w.gh.emu.pull(number)
    data = file_at(w, pr.head_sha, path)
    later = materialise_text(path, data, t("2026-11-24T17:00:00Z"))
    message = materialise_message([f"{gid} until 2026-11-24T17:00:00Z"], t("2026-11-24T12:00:00Z"))
    forge_clock_start(w, pr.head_ref, path, later, message)
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json", now=LATE)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["state"] == "pending" and "not the current head" in out["ignored"][0]["why"]
    assert w.gh.emu.pull(number).merged_at is None


def test_a_clock_start_commit_is_recognised_by_exact_record() -> None:
    """The message must be exactly jitctl's: the start time and one line per grant."""
    at = t("2026-11-24T12:00:00Z")
    good = materialise_message(["g1 until 2026-11-24T16:00:00Z"], at)
    assert recorded(good) == (at, {"g1": t("2026-11-24T16:00:00Z")})
    for bad in (
        good + "extra\n",
        good.replace("jitctl: start", "jitctl:  start"),
        good + "- g1 until 2026-11-24T17:00:00Z\n",  # the same grant twice
        materialise_message([], at),  # no grant
        "start the clock",
    ):
        assert recorded(bad) is None, bad
