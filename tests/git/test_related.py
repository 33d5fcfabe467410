"""Overlap search on a real repository: a change is judged by reading its own files and only as
many of the same principal's grants as the rules need (issue: check stays O(changed files))."""

from __future__ import annotations

from pathlib import Path

from controller.core.policy import check_change
from controller.git.repo import GitRepo
from controller.git.snapshot import OVERLAP_SAMPLE, gather_change
from tests.factories import NOW, grant_text
from tests.gitutil import new_access_repo

AZ = "11111111-1111-4111-8111-111111111111"


def test_many_overlapping_grants_are_counted_not_all_read(tmp_path: Path) -> None:
    repo = new_access_repo(tmp_path)
    files = {
        f"grants/old-{i:03d}.hcl": grant_text(reason=f"INC-{i}: same access") for i in range(60)
    }
    files["grants/gone.hcl"] = grant_text(expires_at="2026-11-24T11:00:00Z")
    repo.commit(files, "many")
    repo.git("checkout", "-q", "-b", "req")
    repo.commit({"grants/new.hcl": grant_text(expires_at="2026-11-24T18:00:00Z")}, "request")
    cs = gather_change(GitRepo(repo.path), base="main", head="req", author="alice", now=NOW)
    assert cs.related_counts[("alice@example.com", "aws-prod-readonly")] == 61
    assert OVERLAP_SAMPLE <= len(cs.related) < 61
    [finding] = [f for f in check_change(cs).findings if f.rule == "grant.overlap"]
    assert "grants/gone.hcl" not in finding.message  # expired: no overlap
    assert "and 58 more grant file(s)" in finding.message


def test_azure_grants_of_one_assignment_are_all_read(tmp_path: Path) -> None:
    """The gap rule needs every window of the assignment: a gap hidden behind many grants is
    still found."""
    repo = new_access_repo(tmp_path)
    files = {
        f"grants/az-{i:03d}.hcl": grant_text(
            principal=AZ, entitlement="azure-prod-contributor", expires_at="2026-11-24T14:00:00Z"
        )
        for i in range(20)
    }
    repo.commit(files, "many")
    repo.git("checkout", "-q", "-b", "req")
    later = grant_text(
        principal=AZ,
        entitlement="azure-prod-contributor",
        starts_at="2026-11-24T15:00:00Z",
        expires_at="2026-11-24T16:00:00Z",
    )
    repo.commit({"grants/az-new.hcl": later}, "request")
    cs = gather_change(GitRepo(repo.path), base="main", head="req", author="alice", now=NOW)
    assert len(cs.related) == 20
    assert [f.rule for f in check_change(cs).errors] == ["azure.disjoint"]
