"""The parse cache (controller/git/snapshot.py) on real repositories: a warm read is the cold
read, field by field; a damaged cache is no cache; it holds one tree; it never trusts a row
for other bytes, another path or another file mode."""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from controller.core.model import GrantFile, Severity
from controller.git import snapshot
from controller.git.repo import Entry, GitRepo
from controller.git.snapshot import GrantColumns, read_grant_columns, read_grant_files
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


def document(repo: GitRepo) -> dict[str, Any]:
    """The cache file's contents as one JSON-like value: every column decoded, and "entries"
    (each file's path, mode and blob id: the very lists of the columns "path", "@mode" and
    "@blob", so a change to one is a change to the other)."""
    store = snapshot._Cache.load(repo)
    assert store is not None
    columns = {key: store.columns[key] for key in store.columns}
    return {
        "tree": store.tree,
        "count": store.count,
        "tables": store.tables,
        "columns": columns,
        "entries": {"path": columns["path"], "mode": columns["@mode"], "blob": columns["@blob"]},
    }


def write_document(repo: GitRepo, data: dict[str, Any]) -> None:
    """Write ``data`` (as ``document`` gives it, changed) back as the cache file."""
    snapshot._Cache(repo, data["tree"], data["count"], data["tables"], data["columns"]).save()


def grant_row(data: dict[str, Any], path: str) -> int:
    """Where the grant of ``path`` sits in the cache's grant.* columns."""
    at = data["entries"]["path"].index(path)
    return sum(data["columns"]["grant"][:at])


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


def columns_equal(a: GrantColumns, b: GrantColumns) -> bool:
    """Equal, and every time with its own offset and fraction."""
    for name in ("expires_at", "starts_at"):
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            if (x is None) != (y is None):
                return False
            if x is not None and (x.utcoffset(), x.microsecond) != (y.utcoffset(), y.microsecond):
                return False
    return a == b


def test_the_columns_are_the_files_warm_and_cold(varied: Repo) -> None:
    """read_grant_columns: the same answer as read_grant_files, in path order, bad files'
    findings included, from a cold read, a warm one, and without the cache."""
    with GitRepo(varied.path) as repo:
        files = read_grant_files(repo, "HEAD", cache=False)
        want = GrantColumns.of(files.values())
        assert want.path == sorted(want.path) and len(want.path) == 6
        assert {f.file for f in want.bad} == {
            "grants/broken.hcl",
            "grants/nested/deep.hcl",
            "grants/unknown.hcl",
            "grants/open.hcl",
        }
        assert [f.file for f in want.bad] == sorted(f.file for f in want.bad)
        cold = read_grant_columns(repo, "HEAD")  # parses, writes the cache
        assert snapshot._Cache.file(repo).exists()
        warm = read_grant_columns(repo, "HEAD")  # from the cache's columns
        assert columns_equal(cold, want) and columns_equal(warm, want)
        same(files, read_grant_files(repo, "HEAD"))  # the cache still serves whole files


def test_the_columns_from_the_cache_follow_a_new_tree(varied: Repo) -> None:
    with GitRepo(varied.path) as repo:
        read_grant_columns(repo, "HEAD")
    varied.commit({"grants/plain.hcl": None, "grants/aa.hcl": grant_text()}, "change")
    with GitRepo(varied.path) as repo:
        got = read_grant_columns(repo, "HEAD")
        assert columns_equal(
            got, GrantColumns.of(read_grant_files(repo, "HEAD", cache=False).values())
        )
        assert "grants/aa.hcl" in got.path and "grants/plain.hcl" not in got.path
        assert columns_equal(read_grant_columns(repo, "HEAD"), got)


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
        data = document(repo)
        columns = data["columns"]
        at = grant_row(data, "grants/plain.hcl")
        columns["grant.reason"][at] = "reused from the cache"
        write_document(repo, data)
        varied.commit({"grants/new.hcl": grant_text(principal="dave@example.com")}, "one more")
        files = read_grant_files(repo, "HEAD")
        data = document(repo)
    plain = files["grants/plain.hcl"].grant
    assert plain is not None and plain.reason == "reused from the cache"
    new = files["grants/new.hcl"].grant
    assert new is not None and new.principal == "dave@example.com"
    # bounded: the cache now holds exactly the new tree
    assert sorted(data["entries"]["path"]) == sorted([*VARIED, "grants/new.hcl"])


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
        b"{}0000000000000000\n",
        "index offset off by one",
        "a column's text not JSON",
        "span past index",
        "row not a list",
        "time without a zone",
        "lines index out of range",
        "principal a number",
        "findings not a list",
        "finding of another severity",
        "a column too short",
        "a column missing",
        "presence not 0/1",
        "entries shorter than the columns",
        "tables not maps",
        "duration not three integers",
        "open request's duration missing",
        "open request's column too short",
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
        elif damage in ("index offset off by one", "a column's text not JSON", "span past index"):
            raw = cache.read_bytes()
            at = int(raw[-17:-1])
            index = json.loads(raw[at:-17])
            start, end = index["columns"]["grant.principal"]
            if damage == "index offset off by one":
                raw = raw[:-17] + b"%016d\n" % (at + 1)
            elif damage == "a column's text not JSON":
                raw = raw[:start] + b"x" * (end - start) + raw[end:]
            else:
                index["columns"]["grant.principal"] = [start, at + 5]
                raw = raw[:at] + json.dumps(index).encode() + b"%016d\n" % at
            cache.write_bytes(raw)
        else:
            data = document(repo)
            columns = data["columns"]
            at = grant_row(data, "grants/plain.hcl")
            broken = data["entries"]["path"].index("grants/broken.hcl")
            if damage == "row not a list":
                columns["grant.id"] = "grants/plain.hcl"
            elif damage == "time without a zone":
                columns["grant.expires_at"][at] = "2026-11-24T16:00:00"
            elif damage == "lines index out of range":
                columns["grant.lines"][at] = 99
            elif damage == "principal a number":
                columns["grant.principal"][at] = 7
            elif damage == "duration not three integers":
                columns["grant.duration"][grant_row(data, "grants/asked.hcl")] = [0, 1.5, 0]
            elif damage == "open request's duration missing":
                at_open = data["entries"]["path"].index("grants/open.hcl")
                columns["open.duration"][sum(columns["open"][:at_open])] = None
            elif damage == "open request's column too short":
                columns["open.id"].pop()
            elif damage == "findings not a list":
                columns["findings"][broken] = 7
            elif damage == "finding of another severity":
                columns["findings"][broken][0][-1] = "fatal"
            elif damage == "a column too short":
                columns["grant.reason"].pop()
            elif damage == "a column missing":
                del columns["grant.ticket"]
            elif damage == "presence not 0/1":
                columns["grant"][broken] = 2
            elif damage == "entries shorter than the columns":
                for col in data["entries"].values():
                    col.pop()
                data["count"] -= 1
            elif damage == "tables not maps":
                data["tables"] = [["grant", 1]]
            write_document(repo, data)
        damaged = cache.read_bytes()
        same(cold, read_grant_files(repo, "HEAD"))
        cache.write_bytes(damaged)  # and the columnar read of the same damage
        assert columns_equal(read_grant_columns(repo, "HEAD"), GrantColumns.of(cold.values()))


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


def every_field_set() -> GrantFile:
    """A GrantFile in which every field of every dataclass it holds is set, to a value unlike
    the default, found by walking the dataclasses' fields (a field added later is covered)."""
    samples: dict[Any, Any] = {
        str: "x-value",
        int: 7,
        datetime: datetime(2026, 11, 24, 18, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2))),
        timedelta: timedelta(hours=1, minutes=30),
        Severity: Severity.WARNING,
    }

    def value(tp: Any) -> Any:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is tuple:
            return (value(args[0]), value(args[0]))
        if typing.get_origin(tp) in (Mapping, dict):
            return {"grant": 3, "principal": 4}
        if len(args) == 1 and typing.get_origin(tp) is not None:
            return value(args[0])  # X | None: an X
        if dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            return tp(**{f.name: value(hints[f.name]) for f in dataclasses.fields(tp)})
        return samples[tp]

    return value(GrantFile)  # type: ignore[no-any-return]


def fields_of(obj: Any) -> Any:
    """Every field, nested dataclasses and compare=False fields (the line map) included."""
    if dataclasses.is_dataclass(obj):
        return {f.name: fields_of(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [fields_of(x) for x in obj]
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, datetime):
        return (obj, obj.utcoffset(), obj.isoformat())
    return obj


def test_the_cache_round_trips_every_field(tmp_path: Path) -> None:
    """A field added to GrantFile or to a dataclass inside it (Grant, Finding, ...) must come
    back from the cache: it fails here if the layout drops it or cannot carry it."""
    assert snapshot.CACHE_USABLE, "a field of GrantFile (or inside it) the cache cannot carry"
    repo_dir = Repo(tmp_path)
    repo_dir.commit({"README": "x"}, "init")
    gf = every_field_set()
    with GitRepo(repo_dir.path) as repo:
        entry = Entry(gf.path, 0o100644, "0" * 40)
        snapshot._Cache.build(repo, "t" * 40, [(entry, gf), (entry, GrantFile("b", None))]).save()
        store = snapshot._Cache.load(repo)
        assert store is not None
        back = store._decode()
    assert back is not None
    assert fields_of(back[0]) == fields_of(gf)
    assert fields_of(back[1]) == fields_of(GrantFile("b", None))

    # not vacuous: every field of every dataclass was set away from its default
    def unset(obj: Any) -> list[str]:
        out = []
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == () or v == {}:
                out.append(f.name)
            elif dataclasses.is_dataclass(v):
                out += unset(v)
        return out

    assert unset(gf) == []
