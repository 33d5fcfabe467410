"""The audit ignores a trailer holding an invisible character: it proves nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from controller.cli import main
from tests.factories import grant_text
from tests.gitutil import Repo


def merged_with(repo: Repo, approved_by: str) -> list[dict[str, object]]:
    when = {"GIT_AUTHOR_DATE": "2026-11-24T10:05:00Z", "GIT_COMMITTER_DATE": "2026-11-24T10:05:00Z"}
    repo.checkout("jit/request/alice-ro", new=True, start="main")
    repo.commit(
        {"grants/alice-ro.hcl": grant_text(expires_at="2026-11-24T16:00:00Z")},
        "Request alice-ro\n\nJit-Kind: request\nJit-Grant: alice-ro\nRequested-by: alice\n",
        **when,
    )
    repo.checkout("main")
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge jit/request/alice-ro\n\nJit-Kind: request\nJit-Grant: alice-ro\n"
        f"Requested-by: alice\nApproved-by: {approved_by}\n",
        "jit/request/alice-ro",
        **when,
    )
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", "2026-11-24T12:00:00Z", "audit"]
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("approved_by", "approvers", "finding"),
    [
        ("carol", ["carol"], False),
        ("carol\u200b", [], True),  # zero-width space: "carol" to a reviewer, not to git
        ("\u202ecarol", [], True),  # right-to-left override
    ],
)
def test_an_invisible_approval_counts_for_nothing(
    access_repo: Repo, approved_by: str, approvers: list[str], finding: bool
) -> None:
    records = merged_with(access_repo, approved_by)
    (granted,) = [r for r in records if r["event"] == "granted"]
    assert granted["approvers"] == approvers
    assert granted["unreviewed"] is finding
    assert ("audit.no-approval" in granted["flags"]) is finding
