"""The audit proves approvals instead of believing them: attacks by someone with push rights,
on real repositories, through ``jitctl audit --format jsonl``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from controller.cli import main
from tests.factories import grant_text
from tests.gitutil import Repo
from tests.signing import make_signer, new_signed_repo

JITCTL = "jitctl@example.com"
UNTIL = "2026-11-24T23:00:00Z"


def when(hhmm: str) -> dict[str, str]:
    ts = f"2026-11-24T{hhmm}:00Z"
    return {"GIT_AUTHOR_DATE": ts, "GIT_COMMITTER_DATE": ts}


def jit(repo: Repo, now: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", f"2026-11-24T{now}:00Z", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--format" in args else {}


def audit(repo: Repo, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", UNTIL, "audit", "--format", "jsonl", *args]
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, records, result.stderr


def grant(gid: str, principal: str, entitlement: str, expires: str = "22:00") -> str:
    return grant_text(
        principal=principal,
        entitlement=entitlement,
        expires_at=f"2026-11-24T{expires}:00Z",
        reason="by hand",
    )


def trailers(gid: str, requester: str, *approvers: str) -> str:
    lines = ["Jit-Kind: request", f"Jit-Grant: {gid}", f"Requested-by: {requester}"]
    lines += [f"Approved-by: {a}" for a in approvers]
    return f"jitctl: merge jit/request/{gid} (request: {gid})\n\n" + "\n".join(lines) + "\n"


def test_hand_made_commits_are_flagged_and_jitctl_merges_are_clean(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys", JITCTL)
    mallory = make_signer(tmp_path / "mallory", "mallory@example.com", name="mallory")
    repo = new_signed_repo(tmp_path / "repo", signer)
    signer.configure(repo)

    # jitctl's own merge (signed): clean
    b = jit(repo, "10:00", "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1",
            "--as", "alice", "--local", "--format", "json")  # fmt: skip
    jit(repo, "10:30", "merge", b["branch"], "--local", "--approved-by", "carol")
    good = b["branch"].removeprefix("jit/request/")

    # someone with push rights commits straight to main, imitating jitctl's trailers
    pusher = {"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "mallory@example.com"}
    hand: dict[str, str] = {}
    # 1. an approver who is not eligible: alice approves aws-prod-readonly for bob
    hand["not-approver"] = repo.commit(
        {"grants/not-approver.hcl": grant("x", "bob@example.com", "aws-prod-readonly")},
        trailers("not-approver", "bob", "alice"),
        **pusher,
        **when("11:00"),
    )
    # 2. self-approval: carol asks and approves
    hand["self-approval"] = repo.commit(
        {"grants/self-approval.hcl": grant("x", "carol@example.com", "aws-prod-readonly")},
        trailers("self-approval", "carol", "carol"),
        **pusher,
        **when("11:10"),
    )
    # 3. too few approvals for a two-approver entitlement (azure-prod-contributor: 2 of sre)
    hand["too-few"] = repo.commit(
        {"grants/too-few.hcl": grant("x", "bob@example.com", "azure-prod-contributor")},
        trailers("too-few", "bob", "carol"),
        **pusher,
        **when("11:20"),
    )
    # 4. perfect trailers, forged by someone else: prod admin "approved by carol and erin",
    #    once unsigned and once signed with a key the repository does not trust
    hand["forged"] = repo.commit(
        {"grants/forged.hcl": grant("x", "bob@example.com", "aws-prod-admin", "11:45")},
        trailers("forged", "bob", "carol", "erin"),
        **pusher,
        **when("11:30"),
    )
    hand["forged-signed"] = repo.commit(
        {"grants/forged-signed.hcl": grant("x", "bob@example.com", "aws-prod-admin", "12:45")},
        trailers("forged-signed", "bob", "carol", "erin"),
        **pusher,
        **when("12:00"),
        **mallory.env(),
    )
    # 5. jitctl's key misused to sign a self-approval: proven hand, still not approved
    hand["key-misuse"] = repo.commit(
        {"grants/key-misuse.hcl": grant("x", "dave@example.com", "gcp-prod-logs-viewer")},
        trailers("key-misuse", "dave", "dave"),
        **when("12:10"),
        **signer.env(),
    )

    code, records, err = audit(repo)
    assert code == 1, err  # error findings exit 1
    granted = {r["grant"]: r for r in records if r["event"] == "granted"}
    assert granted[good]["flags"] == [] and granted[good]["proven"] is True
    assert granted[good]["unreviewed"] is False
    expected = {
        "not-approver": ["audit.unproven", "audit.approval"],
        "self-approval": ["audit.unproven", "audit.approval"],
        "too-few": ["audit.unproven", "audit.approval"],
        "forged": ["audit.unproven"],
        "forged-signed": ["audit.unproven"],
        "key-misuse": ["audit.approval"],
    }
    for gid, flags in expected.items():
        assert granted[gid]["flags"] == flags, gid
        assert granted[gid]["unreviewed"] is True, gid
        assert granted[gid]["commit"] == hand[gid]
    assert granted["key-misuse"]["proven"] is True
    assert granted["key-misuse"]["proof"] == f"ssh:{JITCTL}"
    assert not any(granted[g]["proven"] for g in expected if g != "key-misuse")
    assert "audit.unproven: 5" in err and "audit.approval: 4" in err
    # an auditor's CI gate: errors fail the run
    code, _, _ = audit(repo, "--fail-on-findings")
    assert code == 1


def test_messages_name_the_grant_the_commit_and_what_is_missing(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys", JITCTL)
    repo = new_signed_repo(tmp_path / "repo", signer)
    sha = repo.commit(
        {"grants/too-few.hcl": grant("x", "bob@example.com", "azure-prod-contributor")},
        trailers("too-few", "bob", "carol"),
        **when("11:20"),
    )
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", UNTIL, "audit", "--format", "md"]
    )
    assert result.exit_code == 1
    lines = [x for x in result.stdout.splitlines() if "audit.approval" in x and "| error" in x]
    assert len(lines) == 1
    assert "too-few" in lines[0] and sha[:12] in lines[0]
    assert "1 more from @acme/sre" in lines[0]


def test_untrusted_repository_proves_nothing(tmp_path: Path) -> None:
    """Without audit.signers in the catalog no commit is proven: deny when unsure."""
    repo = Repo(tmp_path)
    from tests.factories import EXAMPLE_CATALOG_TEXT

    repo.commit({"catalog.yaml": EXAMPLE_CATALOG_TEXT, "grants/.gitkeep": ""}, "init")
    repo.commit(
        {"grants/g.hcl": grant("g", "alice@example.com", "aws-prod-readonly")},
        trailers("g", "alice", "carol"),
        **when("10:00"),
    )
    code, records, err = audit(repo)
    assert code == 1
    granted = next(r for r in records if r["event"] == "granted")
    assert granted["flags"] == ["audit.unproven"]
    assert "audit.unproven: 1" in err


def test_a_key_slipped_into_the_trust_root_is_a_warning_naming_who(tmp_path: Path) -> None:
    """Someone with push rights adds their own key to the allowed signers, then signs a grant
    with it: the grant reads as proven by *their* principal, and the trust-root change is a
    warning naming the commit and its author."""
    signer = make_signer(tmp_path / "keys", JITCTL)
    mallory = make_signer(tmp_path / "mallory", "mallory@example.com", name="mallory")
    repo = new_signed_repo(tmp_path / "repo", signer)
    from tests.signing import SIGNERS_PATH

    pusher = {"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "mallory@example.com"}
    slip = repo.commit(
        {SIGNERS_PATH: signer.allowed() + mallory.allowed()}, "tidy", **pusher, **when("09:00")
    )
    repo.commit(
        {"grants/m.hcl": grant("m", "bob@example.com", "aws-prod-readonly")},
        trailers("m", "bob", "carol"),
        **pusher,
        **when("10:00"),
        **mallory.env(),
    )
    code, records, err = audit(repo)
    assert code == 0
    granted = next(r for r in records if r["event"] == "granted")
    assert granted["proof"] == "ssh:mallory@example.com"  # visible in every record
    assert "audit.trust-changed: 1" in err
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", UNTIL, "audit", "--format", "md"]
    )
    line = next(
        x for x in result.stdout.splitlines() if "audit.trust-changed" in x and "| warn" in x
    )
    assert slip[:12] in line and "Mallory" in line
    assert (
        CliRunner()
        .invoke(main, ["--repo", str(repo.path), "--now", UNTIL, "audit", "--fail-on-findings"])
        .exit_code
        == 1
    )
