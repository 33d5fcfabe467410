"""Overlap search on a real repository: a change is judged by reading its own files and only as
many of the same principal's grants as the rules need (issue: check stays O(changed files))."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.core.policy import check_change
from controller.git import snapshot
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


def test_thousands_of_expired_grants_are_set_aside_and_a_live_one_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the expiry run lags, a principal may hold thousands of expired grants of the
    entitlement: their text proves them expired, so none is parsed, the git calls grow with the
    log of their number (batches of 32, 128, 512, ...), and the one live grant behind them all
    is still found and named."""
    repo = new_access_repo(tmp_path)
    files = {
        f"grants/a-{i:04d}.hcl": grant_text(expires_at="2026-11-24T11:00:00Z", reason=f"INC-{i}")
        for i in range(700)
    }
    files["grants/z-live.hcl"] = grant_text(expires_at="2026-11-24T20:00:00Z")
    repo.commit(files, "many")
    repo.git("checkout", "-q", "-b", "req")
    repo.commit({"grants/new.hcl": grant_text(expires_at="2026-11-24T18:00:00Z")}, "request")
    parsed: list[str] = []
    real = snapshot.parse_grant_file

    def spy(path: str, data: bytes, **kw: Any) -> Any:
        parsed.append(path)
        return real(path, data, **kw)

    monkeypatch.setattr(snapshot, "parse_grant_file", spy)
    batches: list[int] = []
    real_blobs = GitRepo.blobs

    def count_blobs(self: GitRepo, shas: Any) -> dict[str, bytes]:
        got = real_blobs(self, shas)
        batches.append(len(got))
        return got

    monkeypatch.setattr(GitRepo, "blobs", count_blobs)
    cs = gather_change(GitRepo(repo.path), base="main", head="req", author="alice", now=NOW)
    assert [g.path for g in cs.related] == ["grants/z-live.hcl"]
    assert "grants/z-live.hcl" in parsed and not any(p.startswith("grants/a-") for p in parsed)
    assert cs.related_counts[("alice@example.com", "aws-prod-readonly")] == 701
    assert len(batches) <= 8  # 1 changed file + 32 + 128 + 512 + 28 candidates
    [finding] = [f for f in check_change(cs).findings if f.rule == "grant.overlap"]
    assert "grants/z-live.hcl (until 2026-11-24T20:00:00Z)" in finding.message


def test_a_live_grant_disguised_as_expired_is_still_read(tmp_path: Path) -> None:
    """Attack: a decoy expired expires_at in a comment ahead of the live one; the file is
    parsed, its live window counts, and Azure's gap rule still sees it."""
    repo = new_access_repo(tmp_path)
    decoy = grant_text(
        principal=AZ, entitlement="azure-prod-contributor", expires_at="2026-11-24T14:00:00Z"
    ).replace("grant {", 'grant {\n  # expires_at = "2026-11-24T01:00:00Z"', 1)
    repo.commit({"grants/az-decoy.hcl": decoy}, "decoy")
    repo.git("checkout", "-q", "-b", "req")
    later = grant_text(
        principal=AZ,
        entitlement="azure-prod-contributor",
        starts_at="2026-11-24T15:00:00Z",
        expires_at="2026-11-24T16:00:00Z",
    )
    repo.commit({"grants/az-new.hcl": later}, "request")
    cs = gather_change(GitRepo(repo.path), base="main", head="req", author="alice", now=NOW)
    assert [g.path for g in cs.related] == ["grants/az-decoy.hcl"]
    assert [f.rule for f in check_change(cs).errors] == ["azure.disjoint"]


def test_a_file_listed_for_one_entitlement_but_not_read_is_still_read_for_another(
    tmp_path: Path,
) -> None:
    """A two-grant PR: the search for the first entitlement stops after a few live grants; a file
    its text search also listed (its reason names that entitlement) but that it never read is
    still read for the second entitlement, whose grant it is."""
    repo = new_access_repo(tmp_path)
    files = {f"grants/a-{i}.hcl": grant_text(reason=f"INC-{i}: same") for i in range(40)}
    files["grants/z-gcp.hcl"] = grant_text(
        entitlement="gcp-prod-logs-viewer", reason="INC-9: like aws-prod-readonly"
    )
    repo.commit(files, "many")
    repo.git("checkout", "-q", "-b", "req")
    repo.commit(
        {
            "grants/new-aws.hcl": grant_text(expires_at="2026-11-24T18:00:00Z"),
            "grants/new-gcp.hcl": grant_text(
                entitlement="gcp-prod-logs-viewer", expires_at="2026-11-24T18:00:00Z"
            ),
        },
        "request",
    )
    cs = gather_change(GitRepo(repo.path), base="main", head="req", author="alice", now=NOW)
    assert "grants/z-gcp.hcl" in [g.path for g in cs.related]
    notices = [f for f in check_change(cs).findings if f.rule == "grant.overlap"]
    assert any(f.file == "grants/new-gcp.hcl" and "z-gcp.hcl" in f.message for f in notices)
