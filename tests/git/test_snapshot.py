"""The parse cache (controller/git/snapshot.py) on real repositories: a warm read is the cold
read, field by field; a damaged cache is no cache; it holds one tree; it never trusts a row
for other bytes, another path or another file mode."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from controller.core.model import Grant, GrantFile, OpenRequest
from controller.git import snapshot
from controller.git.repo import GitRepo
from controller.git.snapshot import read_grant_files
from tests.factories import grant_text
from tests.gitutil import Repo, new_access_repo

VARIED = {
    "grants/plain.hcl": grant_text(),
    "grants/later.hcl": grant_text(
        principal="bob@example.com",
        starts_at="2026-11-24T18:00:00Z",
        expires_at="2026-11-24T20:00:00Z",
        ticket="INC-7",
    ),
    # an offset and a fraction: the cached time keeps both
    "grants/offset.hcl": grant_text(expires_at="2026-11-24T18:30:00.250+02:00"),
    # the same instant in UTC: equal datetimes, each keeps its own offset
    "grants/same-instant.hcl": grant_text(expires_at="2026-11-24T16:30:00.250Z"),
    "grants/layout.hcl": (
        '# requested in INC-9\n\ngrant {\n  // who\n  principal = "carol@example.com"\n'
        '  entitlement = "aws-prod-readonly"\n  reason = "INC-9"\n'
        '  expires_at = "2026-11-24T16:00:00Z"\n}\n'
    ),
    "grants/broken.hcl": 'grant {\n  principal = "x\n}\n',
    "grants/nested/deep.hcl": grant_text(),
    "grants/unknown.hcl": grant_text() + 'other {\n  a = "b"\n}\n',
    # the clock started at approval: the duration asked is carried
    "grants/asked.hcl": grant_text(duration="1h30m"),
    # an open request (a duration, no expires_at yet): not a grant, carried as one
    "grants/open.hcl": grant_text(expires_at=None, duration="4h", starts_at="2026-11-24T18:00:00Z"),
}


def same(a: dict[str, GrantFile], b: dict[str, GrantFile]) -> None:
    assert list(a) == list(b)
    for path in a:
        x, y = a[path], b[path]
        assert x == y, path
        assert x.findings == y.findings, path
        if x.open is not None:
            assert y.open is not None
            assert dict(x.open.lines) == dict(y.open.lines), path
        if x.grant is not None:
            assert y.grant is not None
            assert dict(x.grant.lines) == dict(y.grant.lines), path
            for name in ("expires_at", "starts_at"):
                tx, ty = getattr(x.grant, name), getattr(y.grant, name)
                assert (tx is None) == (ty is None)
                if tx is not None:
                    assert tx.utcoffset() == ty.utcoffset() and tx.microsecond == ty.microsecond


def git_processes(trace: Path) -> list[str]:
    """The git commands started since the trace file was made (trace2 ``cmd_name`` events)."""
    if not trace.exists():
        return []
    names = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "cmd_name":
            names.append(event["name"])
    trace.unlink()
    return names


@pytest.fixture
def varied(tmp_path: Path) -> Repo:
    repo = new_access_repo(tmp_path)
    repo.commit(VARIED, "varied grants")
    return repo


def test_warm_read_equals_cold_read_field_by_field(varied: Repo) -> None:
    assert snapshot.CACHE_USABLE, "a field of Grant or GrantFile is not carried by the cache"
    with GitRepo(varied.path) as repo:
        cold = read_grant_files(repo, "HEAD", cache=False)
        first = read_grant_files(repo, "HEAD")  # parses and writes the cache
        second = read_grant_files(repo, "HEAD")  # from the cache
    assert {p for p, gf in cold.items() if gf.grant is None} == {
        "grants/broken.hcl",
        "grants/nested/deep.hcl",
        "grants/unknown.hcl",
        "grants/open.hcl",
    }
    asked, request = cold["grants/asked.hcl"].grant, cold["grants/open.hcl"].open
    assert asked is not None and asked.duration is not None
    assert request is not None and request.starts_at is not None
    same(cold, first)
    same(cold, second)


def test_the_rows_are_generic_over_the_dataclass_fields() -> None:
    """Every field of Grant and OpenRequest is carried (path and lines by the row itself), by
    its declared type: a new field of a known type needs no codec change, one of another type
    turns the cache off instead of being dropped; the cache file is named by the layout."""
    for cls, layout in ((Grant, snapshot._GRANT), (OpenRequest, snapshot._OPEN)):
        names = [f.name for f in dataclasses.fields(cls) if f.name not in ("path", "lines")]
        assert [name for name, _, _ in layout] == names

    @dataclasses.dataclass(frozen=True)
    class Later(Grant):
        approved_by: str | None = None  # a field added later, of a type the rows know

    @dataclasses.dataclass(frozen=True)
    class Odd(Grant):
        weights: tuple[int, ...] = ()  # a type the rows do not know

    later = snapshot._layout(Later)
    assert later is not None and later[-1] == ("approved_by", True, "str")
    assert snapshot._layout(Odd) is None
    assert f"{snapshot._LAYOUT_ID:08x}" in snapshot._CACHE_FORMAT


def test_a_warm_read_of_the_same_tree_reads_no_blob(
    varied: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace2.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    with GitRepo(varied.path) as repo:
        read_grant_files(repo, "HEAD")
        cold = git_processes(trace)
        read_grant_files(repo, "HEAD")
        warm = git_processes(trace)
    assert "cat-file" in cold and "ls-tree" in cold
    assert "cat-file" not in warm  # no blob read, no parse: the tree id was the cache's
    assert len(warm) <= 3


def test_a_new_tree_reuses_rows_by_path_mode_and_blob(varied: Repo) -> None:
    with GitRepo(varied.path) as repo:
        read_grant_files(repo, "HEAD")
        # mark a cached row: if the next read returns the mark, the row was reused, not parsed
        cache = snapshot._Cache.file(repo)
        data = json.loads(cache.read_text())
        for row in data["rows"]:
            if row[0] == "grants/plain.hcl":
                row[7] = "reused from the cache"
        cache.write_text(json.dumps(data))
        varied.commit({"grants/new.hcl": grant_text(principal="dave@example.com")}, "one more")
        files = read_grant_files(repo, "HEAD")
        data = json.loads(cache.read_text())
    plain = files["grants/plain.hcl"].grant
    assert plain is not None and plain.reason == "reused from the cache"
    new = files["grants/new.hcl"].grant
    assert new is not None and new.principal == "dave@example.com"
    # bounded: the cache now holds exactly the new tree
    assert sorted(row[0] for row in data["rows"]) == sorted([*VARIED, "grants/new.hcl"])


def test_a_symlink_with_a_cached_grants_bytes_is_parsed_again(varied: Repo) -> None:
    """Attack: replace a cached grant by a symlink whose target is the grant's exact text, so
    the blob id is the same. The row is keyed by mode too: the symlink is refused."""
    with GitRepo(varied.path) as repo:
        read_grant_files(repo, "HEAD")
        text = VARIED["grants/plain.hcl"]
        os.remove(varied.path / "grants/plain.hcl")
        os.symlink(text, varied.path / "grants/plain.hcl")
        varied.git("add", "grants/plain.hcl")
        varied.git("commit", "-q", "-m", "symlink")
        assert varied.git("ls-tree", "HEAD", "grants/plain.hcl").startswith("120000")
        files = read_grant_files(repo, "HEAD")
    gf = files["grants/plain.hcl"]
    assert gf.grant is None
    assert [f.rule for f in gf.findings] == ["grant.symlink"]


def test_a_grant_moved_to_another_path_is_parsed_again(varied: Repo) -> None:
    """Same bytes at another path: the row is keyed by path (the id comes from the path)."""
    with GitRepo(varied.path) as repo:
        read_grant_files(repo, "HEAD")
        varied.git("mv", "grants/plain.hcl", "grants/renamed.hcl")
        varied.git("commit", "-q", "-m", "rename")
        files = read_grant_files(repo, "HEAD")
    g = files["grants/renamed.hcl"].grant
    assert g is not None and g.id == "renamed" and g.path == "grants/renamed.hcl"


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b"[]",
        b'{"format": "grants-v1-0", "tree": "x", "lines": [], "rows": []}',
        b"[" * 100_000,
        "truncated",
        "row not a list",
        "time without a zone",
        "lines index out of range",
        "principal a number",
        "findings not a list",
        "duration not whole microseconds",
        "open request's duration missing",
        "open request's values not a list",
    ],
)
def test_a_damaged_cache_is_no_cache(varied: Repo, damage: bytes | str) -> None:
    with GitRepo(varied.path) as repo:
        cold = read_grant_files(repo, "HEAD", cache=False)
        read_grant_files(repo, "HEAD")
        cache = snapshot._Cache.file(repo)
        if isinstance(damage, bytes):
            cache.write_bytes(damage)
        elif damage == "truncated":
            cache.write_bytes(cache.read_bytes()[:-100])
        else:
            data = json.loads(cache.read_text())
            row = next(r for r in data["rows"] if r[0] == "grants/plain.hcl")
            if damage == "row not a list":
                data["rows"][data["rows"].index(row)] = "grants/plain.hcl"
            elif damage == "time without a zone":
                row[6] = "2026-11-24T16:00:00"
            elif damage == "lines index out of range":
                row[-1] = 99  # the last field of a grant without findings: its line map
            elif damage == "principal a number":
                row[4] = 7
            elif damage == "duration not whole microseconds":
                asked = next(r for r in data["rows"] if r[0] == "grants/asked.hcl")
                asked[-2] = 1.5  # duration, just before the line map
            elif damage == "open request's duration missing":
                opened = next(r for r in data["rows"] if r[0] == "grants/open.hcl")
                opened[4][3] = None  # (id, principal, entitlement, duration, ...)
            elif damage == "open request's values not a list":
                opened = next(r for r in data["rows"] if r[0] == "grants/open.hcl")
                opened[4] = "grants/open.hcl"
            elif damage == "findings not a list":
                bad = next(r for r in data["rows"] if r[0] == "grants/broken.hcl")
                bad[3] = 7
            cache.write_text(json.dumps(data))
        same(cold, read_grant_files(repo, "HEAD"))


def test_reading_named_paths_leaves_the_cache_alone(varied: Repo) -> None:
    with GitRepo(varied.path) as repo:
        files = read_grant_files(repo, "HEAD", ["grants/plain.hcl", "grants/missing.hcl"])
        assert list(files) == ["grants/plain.hcl"]
        assert not snapshot._Cache.file(repo).exists()


def test_no_grants_folder(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit({"README": "x"}, "no grants")
    with GitRepo(repo.path) as r:
        assert read_grant_files(r, "HEAD") == {}
