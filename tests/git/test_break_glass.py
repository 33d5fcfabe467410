"""Break-glass on real git repositories, through the CLI: merged without approval, notified
loudly, reviewed after the fact, and the audit's error when the review did not come in time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.formats.trailers import parse_trailers
from tests.cli.test_notify import catalog_with_hooks
from tests.gitutil import Repo, new_access_repo
from tests.signing import make_signer, new_signed_repo
from tests.webhook import Webhook

BG_ID = "dave-aws-prod-admin-20261124t1200"
BG_BRANCH = f"jit/request/{BG_ID}"


def run(repo: Repo, now: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--repo", str(repo.path), "--now", now, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def break_glass(
    repo: Repo, *extra: str, entitlement: str = "aws-prod-admin"
) -> tuple[int, str, str]:
    return run(
        repo, "2026-11-24T12:00:00Z", "request", entitlement, "--for", "1h", "--reason",
        "INC-9: prod down", "--as", "dave", "--local", "--break-glass", *extra,
    )  # fmt: skip


def merged(repo: Repo) -> tuple[int, str, str]:
    assert break_glass(repo)[0] == 0
    return run(repo, "2026-11-24T12:02:00Z", "merge", BG_BRANCH, "--local", "--format", "json")


def audit(repo: Repo, now: str) -> tuple[int, list[dict[str, object]], list[str]]:
    """Exit code, the events (jsonl) and the break-glass finding rows of the Markdown report."""
    code, out, _ = run(repo, now, "audit", "--format", "jsonl")
    code_md, md, _ = run(repo, now, "audit", "--format", "md")
    assert code_md == code
    rows = [ln for ln in md.splitlines() if "`audit.break-glass-unreviewed`" in ln]
    return code, [json.loads(line) for line in out.splitlines()], rows


def test_break_glass_merges_without_approval_and_notifies(tmp_path: Path, webhook: Webhook) -> None:
    repo = new_access_repo(tmp_path, catalog_with_hooks(webhook.url + "/jit"))
    code, out, _ = merged(repo)
    assert code == 0
    data = json.loads(out)
    assert data["merged"] and data["break_glass"] and data["approvers"] == []
    assert data["review_by"] == "2026-11-24T16:02:00Z"  # merge + review_within (4h)
    tr = list(parse_trailers(repo.git("log", "-1", "--format=%B", "main")))
    assert ("Jit-Break-Glass", f"{BG_ID} 2026-11-24T16:02:00Z") in tr
    assert not [v for k, v in tr if k == "Approved-by"]
    assert repo.files("main") == ["grants/.gitkeep", f"grants/{BG_ID}.hcl"]
    assert webhook.events("/jit") == [
        ("requested", BG_ID),
        ("break-glass", BG_ID),
        ("granted", BG_ID),
    ]
    assert webhook.bodies("/jit")[1]["actor"] == "dave"


def test_refused_for_an_entitlement_without_break_glass(access_repo: Repo) -> None:
    before = access_repo.git("for-each-ref")
    code, out, _ = run(
        access_repo, "2026-11-24T12:00:00Z", "request", "aws-prod-readonly", "--for", "1h",
        "--reason", "x", "--as", "alice", "--local", "--break-glass", "--format", "json",
    )  # fmt: skip
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["break-glass.not-allowed"]
    assert access_repo.git("for-each-ref") == before  # nothing written


def test_a_hand_made_break_glass_branch_is_judged_the_same(access_repo: Repo) -> None:
    """A requester who writes the Jit-Break-Glass trailer by hand for an entitlement without
    break_glass gets no merge without approval."""
    access_repo.checkout("sneaky", new=True, start="main")
    text = (
        'grant {\n  principal = "alice@example.com"\n  entitlement = "aws-prod-readonly"\n'
        '  expires_at = "2026-11-24T13:00:00Z"\n  reason = "x"\n}\n'
    )
    access_repo.commit(
        {"grants/a.hcl": text},
        "request\n\nJit-Kind: request\nJit-Grant: a\nRequested-by: alice\nJit-Break-Glass: yes",
    )
    access_repo.checkout("main")
    code, _, err = run(access_repo, "2026-11-24T12:00:00Z", "merge", "sneaky", "--local")
    assert code == 1
    assert "break-glass.not-allowed" in err
    assert access_repo.files("main") == ["grants/.gitkeep"]


@pytest.fixture
def signed_repo(tmp_path: Path) -> Repo:
    """An access repository whose catalog trusts jitctl's SSH key, set up for signing: jitctl's
    local merges are proven, so the audit's errors are break-glass ones only."""
    signer = make_signer(tmp_path / "keys", "jitctl@example.com")
    repo = new_signed_repo(tmp_path / "repo", signer)
    signer.configure(repo)
    return repo


def test_audit_error_when_never_reviewed_in_time(signed_repo: Repo) -> None:
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    code, _, rows = audit(access_repo, "2026-11-24T16:01:00Z")  # within review_within
    assert code == 0 and rows == []
    code, _, rows = audit(access_repo, "2026-11-24T16:03:00Z")
    assert code == 1
    [row] = rows
    assert row.startswith("| error | `audit.break-glass-unreviewed` |")
    assert "never approved after the fact" in row


def test_clean_when_reviewed_in_time(signed_repo: Repo) -> None:
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    code, out, err = run(
        access_repo, "2026-11-24T13:30:00Z", "review", BG_ID, "--local", "--approved-by",
        "carol,erin",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"reviewed {BG_ID} in ")
    tr = list(parse_trailers(access_repo.git("log", "-1", "--format=%B", "main")))
    assert tr[:2] == [("Jit-Kind", "review"), ("Jit-Grant", BG_ID)]
    assert sorted(v for k, v in tr if k == "Approved-by") == ["carol", "erin"]
    code, records, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    assert rows == [] and code == 0
    approved = [r for r in records if r.get("event") == "approved"]
    assert sorted(r["actor"] for r in approved) == ["carol", "erin"]
    # reviewed once only
    code, _, err = run(
        access_repo,
        "2026-11-24T13:31:00Z",
        "review",
        BG_ID,
        "--local",
        "--approved-by",
        "dave,erin",
    )
    assert code == 2 and "already reviewed" in err


def test_a_late_review_is_still_an_error(signed_repo: Repo) -> None:
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    code, out, _ = run(
        access_repo, "2026-11-24T17:00:00Z", "review", BG_ID, "--local", "--approved-by",
        "carol,erin",
    )  # fmt: skip
    assert code == 0 and "LATE" in out
    code, _, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    [row] = rows
    assert "approved only at 2026-11-24T17:00:00Z" in row
    assert code == 1


def test_the_requester_cannot_review_their_own_break_glass(access_repo: Repo) -> None:
    assert merged(access_repo)[0] == 0
    head = access_repo.rev("main")
    # dave is the requester (his approval never counts); carol alone meets only the sre rule
    for approvers in ("dave,erin", "carol", "dave"):
        code, _, err = run(
            access_repo, "2026-11-24T13:00:00Z", "review", BG_ID, "--local", "--approved-by",
            approvers,
        )  # fmt: skip
        assert code == 1, approvers
        assert "refused: not enough approvals" in err
    assert access_repo.rev("main") == head


def test_a_forged_review_by_the_requester_does_not_count(signed_repo: Repo) -> None:
    """Someone with write access commits a review trailer naming the requester: the audit
    still reports the grant as unreviewed."""
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    access_repo.git(
        "commit", "-q", "--allow-empty", "-m",
        f"review\n\nJit-Kind: review\nJit-Grant: {BG_ID}\nApproved-by: dave", **IN_TIME,
    )  # fmt: skip
    code, _, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    assert len(rows) == 1 and code == 1


FORGED = f"review\n\nJit-Kind: review\nJit-Grant: {BG_ID}\nRequested-by: dave\n"
# within the review window (the merge was at 12:02, review_by 16:02): a forger sets any date
IN_TIME = {"GIT_AUTHOR_DATE": "2026-11-24T13:00:00Z", "GIT_COMMITTER_DATE": "2026-11-24T13:00:00Z"}


def test_a_forged_review_with_eligible_approvers_does_not_count(
    signed_repo: Repo, tmp_path: Path
) -> None:
    """The attack: someone with write access writes the very trailers jitctl writes, naming
    eligible approvers, unsigned or signed by a key the audited tree does not list. Only a
    review proven to be jitctl's clears the finding."""
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    message = FORGED + "Approved-by: carol\nApproved-by: erin"
    access_repo.git("commit", "-q", "--allow-empty", "-m", message, **IN_TIME)
    mallory = make_signer(tmp_path / "mallory", "mallory@example.com", name="mallory")
    access_repo.git(
        "-c", "gpg.format=ssh", "-c", f"user.signingKey={mallory.key}",
        "commit", "-q", "--allow-empty", "-S", "-m", message, **IN_TIME,
    )  # fmt: skip
    code, _, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    assert code == 1
    [row] = rows
    assert "never approved after the fact" in row
    assert "is not proven to be jitctl's: it is not signed" in row
    assert "signed by a key the audited tree does not list" in row
    # the same commit signed with jitctl's own key is a review the audit accepts
    access_repo.git("commit", "-q", "--allow-empty", "-S", "-m", message, **IN_TIME)
    code, _, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    assert (code, rows) == (0, [])


def test_a_signed_review_that_does_not_meet_the_rules_does_not_count(signed_repo: Repo) -> None:
    """The audit judges a review's approvals again (the catalog at its parent), as it judges a
    merge's: a proven record naming too few approvers, or the requester, is no review."""
    access_repo = signed_repo
    assert merged(access_repo)[0] == 0
    access_repo.git(
        "commit", "-q", "--allow-empty", "-S", "-m",
        FORGED + "Approved-by: carol\nApproved-by: dave", **IN_TIME,
    )  # fmt: skip
    code, _, rows = audit(access_repo, "2026-11-25T00:00:00Z")
    assert code == 1
    [row] = rows
    assert "does not meet the rules: missing" in row


def test_review_of_a_grant_that_was_not_break_glass(access_repo: Repo) -> None:
    code, _, err = run(
        access_repo, "2026-11-24T12:00:00Z", "review", "nope", "--local", "--approved-by", "carol"
    )
    assert code == 2
    assert "no break-glass grant 'nope'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--github", "--approved-by", "carol"), "--github reads the approvals from the pull"),
        (("--github", "--local"), "--github reads the approvals from the pull"),
        (("--local", "--approved-by", "carol"), "review --local needs ID and --approved-by"),
        ((BG_ID, "--local"), "review --local needs ID and --approved-by"),
    ],
)
def test_review_usage_errors(access_repo: Repo, args: tuple[str, ...], message: str) -> None:
    before = access_repo.git("for-each-ref")
    code, _, err = run(access_repo, "2026-11-24T12:00:00Z", "review", *args)
    assert code == 2
    assert message in err
    assert access_repo.git("for-each-ref") == before
