"""Gather: read grants and the catalog from git into values the core can judge.

The grant parse cache lives in ``.git/jitctl/``. It holds the parse of one tree of grants/ (the
last one read in full): a tree id names every path, mode and blob under it, so when grants/ at
the ref is that tree the cached rows are the answer; otherwise each row is reused where (path,
mode, blob id) still match, since a blob id names the exact bytes that were parsed.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import json
import operator
import os
import stat
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from controller import __version__
from controller.core.errors import JitError
from controller.core.model import (
    GRANTS_DIR,
    GRANTS_PLACEHOLDER,
    Catalog,
    FileChange,
    Finding,
    Grant,
    GrantFile,
)
from controller.core.policy import (
    ChangeSet,
    azure_siblings,
    expired_by_text,
    is_grant_path,
    mode_finding,
)
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import MAX_FILE_BYTES, parse_grant_file
from controller.git.repo import Entry, GitRepo

DEFAULT_CATALOG = "catalog.yaml"
_CACHE_FORMAT = f"grants-v4-{__version__}"


def read_catalog(repo: GitRepo, ref: str, path: str | None = None) -> Catalog:
    """The catalog: ``catalog.yaml`` as committed at ``ref`` (the judged ref), or, when a path
    is given (``--catalog``), that file on disk (e.g. the default branch's checkout in CI)."""
    if path is None:
        data = repo.read(ref, DEFAULT_CATALOG)
        if data is None:
            raise JitError(f"{DEFAULT_CATALOG}: not found at {ref}", rule="catalog.invalid")
        return load_catalog(data, DEFAULT_CATALOG)
    return load_catalog_file(path)


def load_catalog_file(path: str) -> Catalog:
    """A catalog file on disk (``--catalog``, from a trusted checkout)."""
    try:
        # O_NONBLOCK: a FIFO (or a device) named as the catalog must not hang the command
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise JitError(f"{path}: not a regular file", rule="io")
            data = fh.read(2 * 1024 * 1024)
    except OSError as exc:
        raise JitError(f"{path}: cannot read the catalog: {exc.strerror}", rule="io") from None
    return load_catalog(data, path)


# one byte more than a grant file may hold is enough to know it is too large
MAX_WORKTREE_GRANT_BYTES = MAX_FILE_BYTES + 1


def read_worktree_grant_files(repo: GitRepo, paths: Iterable[str]) -> dict[str, GrantFile]:
    """Parse grant files as they are on disk (``jitctl check FILE...``, pre-commit).

    Each path is read with :func:`read_worktree_file`; a symlink is judged as one
    (``grant.symlink``), never followed.
    """
    root = repo.path.resolve()
    out: dict[str, GrantFile] = {}
    for given in paths:
        rel, data, mode = read_worktree_file(root, given)
        out[rel] = parse_grant_file(rel, data, mode=mode)
    return out


def read_worktree_file(root: Path, given: str | os.PathLike[str]) -> tuple[str, bytes, int]:
    """(path in the repository, bytes, git file mode) of a grant file on disk.

    Paths are taken relative to the current folder and named relative to the repository
    ``root`` (resolved); a path outside it, or anything but a regular file or a symlink (a FIFO
    would hang the read), is an input error. A symlink is never followed: its bytes are its
    target, its mode 120000. At most one byte more than a grant file may hold is read.
    """
    p = Path(given)
    try:
        rel = (p.parent.resolve() / p.name).relative_to(root).as_posix()
    except ValueError:
        raise JitError(f"{given}: not inside the repository {root}", rule="usage") from None
    try:
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            return rel, os.readlink(p).encode(), 0o120000
        if not stat.S_ISREG(st.st_mode):
            raise JitError(f"{given}: not a regular file", rule="usage")
        with open(p, "rb") as fh:
            data = fh.read(MAX_WORKTREE_GRANT_BYTES)
    except OSError as exc:
        raise JitError(f"{given}: cannot read: {exc.strerror}", rule="io") from None
    return rel, data, 0o100755 if st.st_mode & 0o111 else 0o100644


def read_grant_files(
    repo: GitRepo, ref: str, paths: Iterable[str] | None = None, *, cache: bool = True
) -> dict[str, GrantFile]:
    """Parse grant files at ``ref``: all under grants/ (paths=None) or just ``paths``.

    Reading every grant goes through the parse cache: when grants/ at ``ref`` is the tree the
    cache was written for, the cache is the answer (no ``ls-tree``, no blob read, no parse);
    otherwise the files whose (path, mode, blob) are cached are reused, the others are read with
    one ``cat-file --batch`` and parsed, and the cache is rewritten for the new tree. A read of a
    few named paths (a pull request's change) parses them directly: cheaper than the cache.
    """
    if paths is not None:
        entries = list(repo.entries_at(ref, paths).values())
        return _parse_entries(repo, entries)
    with bulk():
        if not (cache and CACHE_USABLE):
            return _parse_entries(repo, _grant_entries(repo, ref))
        return _read_all(repo, ref)


def _read_all(
    repo: GitRepo, ref: str, hit: Callable[[_Cache], Any] | None = None
) -> dict[str, GrantFile] | Any:
    """Every grant file at ``ref``. With ``hit``: when the cache holds that very tree (and is
    whole), ``hit(cache)`` is the answer instead (None from it: read the usual way)."""
    commit = repo.rev(ref)
    tree = repo.tree_id(commit, GRANTS_DIR)
    if tree is None:
        return {}
    store = _Cache.load(repo)
    if store is not None and store.tree == tree:
        answer = (hit or _Cache.decode_all)(store)
        if answer is not None:
            return answer
    entries = _grant_entries(repo, commit)
    known = store.known() if store is not None else {}
    del store
    out: dict[str, GrantFile] = {}
    missing: list[Entry] = []
    for e in entries:
        gf = known.get((e.path, e.mode, e.sha))
        if gf is None:
            missing.append(e)
            out[e.path] = _PENDING  # keeps the tree's order; replaced below
        else:
            out[e.path] = gf
    del known
    if missing:
        out.update(_parse_entries(repo, missing))
    _Cache.build(repo, tree, [(e, out[e.path]) for e in entries]).save()
    return out


@dataclasses.dataclass(frozen=True)
class GrantColumns:
    """Every grant file at a ref, as columns: row i of each list is one grant (in path order),
    and ``bad`` holds the findings of the files that are not grants (in path order too).

    For a command that reads every grant and needs no Grant object (``jitctl list``): from a
    warm cache it costs no object per grant, only the columns it names."""

    id: list[str]
    path: list[str]
    principal: list[str]
    entitlement: list[str]
    expires_at: list[datetime]
    starts_at: list[datetime | None]
    reason: list[str]
    ticket: list[str | None]
    bad: list[Finding]

    @classmethod
    def of(cls, files: Iterable[GrantFile]) -> GrantColumns:
        """The columns of parsed grant files."""
        ordered = sorted(files, key=lambda gf: gf.path)
        grants = [gf.grant for gf in ordered if gf.grant is not None]
        bad = [f for gf in ordered if gf.grant is None for f in gf.findings]
        return cls(
            id=[g.id for g in grants],
            path=[g.path for g in grants],
            principal=[g.principal for g in grants],
            entitlement=[g.entitlement for g in grants],
            expires_at=[g.expires_at for g in grants],
            starts_at=[g.starts_at for g in grants],
            reason=[g.reason for g in grants],
            ticket=[g.ticket for g in grants],
            bad=bad,
        )


# the grant columns: GrantColumns' fields (bar ``bad``), each a field of Grant
_COLUMNS = tuple(f.name for f in dataclasses.fields(GrantColumns) if f.name != "bad")


def read_grant_columns(repo: GitRepo, ref: str) -> GrantColumns:
    """``read_grant_files(repo, ref)`` as columns (GrantColumns): the same answer; a warm
    cache of that tree is read without building a GrantFile or a Grant."""
    with bulk():
        if not CACHE_USABLE:
            return GrantColumns.of(_parse_entries(repo, _grant_entries(repo, ref)).values())
        got = _read_all(repo, ref, _Cache.grant_columns)
        return got if isinstance(got, GrantColumns) else GrantColumns.of(got.values())


def _grant_entries(repo: GitRepo, ref: str) -> list[Entry]:
    return [e for e in repo.entries(ref) if e.path != GRANTS_PLACEHOLDER]


def _parse_entries(repo: GitRepo, entries: list[Entry]) -> dict[str, GrantFile]:
    """Parse regular files and symlinks; an executable or a gitlink is refused unread."""
    readable: dict[str, list[Entry]] = {}  # blob id -> the files that hold it
    out: dict[str, GrantFile] = {}
    for e in entries:
        if e.mode in (0o100644, 0o120000):
            readable.setdefault(e.sha, []).append(e)
            out[e.path] = _PENDING  # keeps the order of ``entries``; replaced below
        else:
            kind = "commit" if e.mode == 0o160000 else "blob"
            out[e.path] = GrantFile(e.path, None, (mode_finding(e.path, f"{e.mode:06o}", kind),))
    # each blob is parsed as git hands it over (git reads the next one meanwhile on its own
    # CPU), and is dropped once parsed: the blobs are never all in memory together
    for sha, data in repo.stream_blobs(readable):
        for e in readable[sha]:
            out[e.path] = parse_grant_file(e.path, data, mode=e.mode)
    return out


def gather_change(
    repo: GitRepo,
    *,
    base: str,
    head: str,
    author: str | None,
    now: datetime,
    catalog_path: str | None = None,
    members: Mapping[str, frozenset[str]] | None = None,
    claimed_kind: Any = None,
) -> ChangeSet:
    """One snapshot of a change: from the tip of ``base`` to what merging ``head`` into it
    would give (the head itself when it contains the tip, else git's merge of the two), so the
    judged change is the merged change in every history shape (a grant id reused on the base,
    criss-cross merges). A head that does not merge cleanly is refused (``change.inexact``).
    Reads only the changed files (and same-principal grants)."""
    catalog = read_catalog(repo, base, catalog_path)
    tip, head_sha = repo.rev(base), repo.rev(head)
    problems: list[Finding] = []
    result = head_sha
    if not repo.is_ancestor(tip, head_sha):
        repo.merge_base(tip, head_sha)  # unrelated histories: an input error, said plainly
        merged = merge_result(repo, tip, head_sha)
        if merged is None:
            problems.append(
                Finding(
                    "change.inexact",
                    head,
                    None,
                    f"{head} does not merge cleanly onto {base}: what would merge cannot be "
                    "judged; update the branch",
                )
            )
        else:
            result = merged
    changed = {} if problems else tree_diff(repo, tip, result)
    grant_paths = [p for p in changed if is_grant_path(p)]
    base_files = read_grant_files(
        repo, tip, [p for p in grant_paths if changed[p] is not FileChange.ADDED]
    )
    head_files = read_grant_files(
        repo, result, [p for p in grant_paths if changed[p] is not FileChange.DELETED]
    )
    head = result
    related, related_counts = related_grants(repo, head, head_files.values(), now, catalog)
    return ChangeSet(
        catalog=catalog,
        changed=changed,
        base=base_files,
        head=head_files,
        author=author,
        now=now,
        related=related,
        related_counts=related_counts,
        members=members or {},
        claimed_kind=claimed_kind,
        problems=tuple(problems),
    )


_STATUS = {"A": FileChange.ADDED, "M": FileChange.MODIFIED, "D": FileChange.DELETED}
# a merge commit object made only to read the merged tree at a ref; never referenced
_MERGE_ENV = {
    "GIT_AUTHOR_NAME": "jitctl",
    "GIT_AUTHOR_EMAIL": "jitctl@users.noreply.github.com",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "jitctl",
    "GIT_COMMITTER_EMAIL": "jitctl@users.noreply.github.com",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def merge_result(repo: GitRepo, tip: str, head: str) -> str | None:
    """A commit holding the tree git's merge of ``head`` into ``tip`` gives (its parents: tip,
    head), or None when they conflict."""
    try:
        tree = repo.run(["merge-tree", "--write-tree", tip, head]).split("\n", 1)[0].strip()
    except JitError:
        return None
    out = repo.run(["commit-tree", tree, "-p", tip, "-p", head, "-m", "jitctl: judged merge"],
                   _MERGE_ENV)  # fmt: skip
    return out.strip()


def tree_diff(repo: GitRepo, a: str, b: str) -> dict[str, FileChange]:
    """Paths that differ between the trees of commits ``a`` and ``b`` (renames: delete + add;
    a mode change counts)."""
    out = repo.run(["diff-tree", "-r", "--no-renames", "-z", "--name-status", a, b])
    fields = [f for f in out.split("\0") if f]
    return {
        path: _STATUS.get(status[0], FileChange.MODIFIED)
        for status, path in zip(fields[0::2], fields[1::2], strict=True)
    }


# Overlap notices need only to know that another live grant exists (and name a few), so for a
# principal holding thousands of grants of one entitlement, related_grants reads them in batches
# that grow fourfold (32, 128, 512, ...: a handful of git calls, whatever the count) and stops at
# the first live ones; a file whose text proves it expired is set aside unparsed
# (policy.expired_by_text), so thousands of expired grants cost a blob read each, not a parse.
# Azure's gap rule needs every live window of the assignment's grants: those are read in full.
OVERLAP_SAMPLE = 3
_BATCH = 32
_GROWTH = 4


def related_grants(
    repo: GitRepo,
    ref: str,
    files: Iterable[GrantFile],
    now: datetime,
    catalog: Catalog | None = None,
) -> tuple[list[Grant], dict[tuple[str, str], int]]:
    """Other grants at ``ref`` for the same principal and entitlement (and, on Azure, the
    entitlements sharing its PIM assignment), found by git grep, and how many files name each
    (principal, entitlement) pair. Only enough of a large set is read to find a few live ones;
    Azure sets are read in full. Grants that have certainly expired at ``now`` may be left out
    (every user of the result keeps only live ones)."""
    out: list[Grant] = []
    counts: dict[tuple[str, str], int] = {}
    read: set[str] = set()
    for gf in files:
        if gf.grant is None:
            continue
        g = gf.grant
        siblings = azure_siblings(catalog, g.entitlement) if catalog is not None else ()
        ent = catalog.entitlements.get(g.entitlement) if catalog is not None else None
        azure = ent is not None and ent.module == "azure-pim"
        for entitlement in (g.entitlement, *siblings):
            key = (g.principal, entitlement)
            if key in counts:
                continue
            paths = sorted(p for p in repo.grep(ref, g.principal, also=entitlement) if p != gf.path)
            counts[key] = len(paths)
            # one ls-tree for them all; only regular files and symlinks can be read (a
            # symlink, an executable or a gitlink holds no grant: the reader refuses it)
            found = repo.entries_at(ref, [p for p in paths if p not in read])
            entries = [found[p] for p in paths if p in found and found[p].mode in _READABLE]
            live = 0
            start, step = 0, _BATCH
            while start < len(entries):
                stop = len(entries) if azure else start + step
                read.update(e.path for e in entries[start:stop])
                for other in _unexpired_grants(repo, entries[start:stop], now):
                    out.append(other)
                    live += other.expires_at > now
                if not azure and live >= OVERLAP_SAMPLE:
                    break
                start, step = stop, step * _GROWTH
    return out, counts


_READABLE = (0o100644, 0o120000)


def _unexpired_grants(repo: GitRepo, entries: list[Entry], now: datetime) -> list[Grant]:
    """The grants of ``entries`` (one cat-file), less the files whose text proves them
    expired."""
    blobs = repo.blobs(e.sha for e in entries)
    out: list[Grant] = []
    for e in entries:
        data = blobs[e.sha]
        if expired_by_text(data, now):
            continue
        grant = parse_grant_file(e.path, data, mode=e.mode).grant
        if grant is not None:
            out.append(grant)
    return out


# --- the parse cache -----------------------------------------------------------------------
#
# One file for one tree of grants/, in columns. The columns are made from the fields of
# GrantFile, generically (``_Layout``): a plain field (str, int, a time, a duration, a line map)
# is one column of one value per file; an optional dataclass field (GrantFile.grant) is a
# presence column "grant" (0/1) and one column per field of that dataclass ("grant.id", ...)
# holding values for the files that have one; any other field (the findings) is one column of
# JSON values per file; "@mode" and "@blob" hold each file's git mode and blob id (the layout's
# "path" is its path). Times are in Python's isoformat (it round-trips the offset and the
# fraction), each distinct text decoded once; line maps are indexes into "tables" (nearly every
# grant file has the same layout, so they share one map).
#
# The file is each column's JSON text, one after another, then the index (JSON: "format",
# "tree", "count", "tables", and "columns": each column's [start, end] in the file), then the
# index's offset as 16 digits and a newline. Loading reads the index only; a column is decoded
# when first asked for, so a command decodes only the columns it reads (``list``: no blob ids,
# no line maps). Decoding a column is one C-level pass (a type check by set(map(type, column)),
# a dict look-up by map), so a warm read of 100,000 grants is mostly the JSON decoder and the
# dataclass constructors, and ``read_grant_columns`` builds no object per grant at all.
#
# A field whose type the layout does not know turns the cache off (every read parses) rather
# than dropping the field; tests/git/test_snapshot.py fails until the layout learns it, and
# round-trips every field of every dataclass in GrantFile. Anything in the file jitctl would not
# have written (a span outside the columns, a text that is not JSON, a value of another type)
# makes it no cache. The cache is bounded: it holds the last tree read in full, nothing else.

_PENDING = GrantFile("", None)


class _Damaged(Exception):
    """A cache value that jitctl did not write: the cache is not used."""


_NoneType = type(None)


def _same(value: Any, writer: _Writer) -> Any:
    """The encoding of a str or an int: itself (a column of them is written as it is)."""
    return value


def _leaf(
    tp: Any,
) -> tuple[Callable[[Any, _Writer], Any], Callable[[list[Any], _Reader], list[Any]]] | None:
    """(encode one value, decode a column) for a plain field type, or None if not plain."""
    args = typing.get_args(tp)
    optional = _NoneType in args and len(args) == 2
    base = next(a for a in args if a is not _NoneType) if optional else tp
    allowed = {base, _NoneType} if optional else {base}

    def checked(column: list[Any], kinds: set[type]) -> list[Any]:
        if not set(map(type, column)) <= kinds:
            raise _Damaged
        return column

    if base in (str, int):
        return _same, (lambda col, r: checked(col, allowed))
    if base is datetime:

        def enc_time(v: Any, w: _Writer) -> Any:
            return None if v is None else w.iso(v)

        def dec_time(col: list[Any], r: _Reader) -> list[Any]:
            checked(col, {str, _NoneType} if optional else {str})
            return list(map(r.times(col).__getitem__, col))

        return enc_time, dec_time
    if base is timedelta:

        def enc_delta(v: Any, w: _Writer) -> Any:
            return None if v is None else [v.days, v.seconds, v.microseconds]

        def dec_delta(col: list[Any], r: _Reader) -> list[Any]:
            out: list[timedelta | None] = []
            for v in col:
                if v is None and optional:
                    out.append(None)
                elif type(v) is list and len(v) == 3 and {type(x) for x in v} == {int}:
                    out.append(timedelta(v[0], v[1], v[2]))
                else:
                    raise _Damaged
            return out

        return enc_delta, dec_delta
    if typing.get_origin(base) in (Mapping, dict) and typing.get_args(base) == (str, int):

        def enc_map(v: Any, w: _Writer) -> Any:
            return None if v is None else w.table(v)

        def dec_map(col: list[Any], r: _Reader) -> list[Any]:
            checked(col, {int, _NoneType} if optional else {int})
            try:
                return [None if i is None else r.tables[i] for i in col]
            except IndexError:
                raise _Damaged from None

        return enc_map, dec_map
    return None


def _value(tp: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    """(encode, decode) of one JSON value per file, for a tuple of small dataclasses (the
    findings) whose fields are each a str, an int, a str enum, or one of these or None."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if not (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return None
    cls = args[0]
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return None
    kinds: list[tuple[type, bool]] = []  # (the type, whether None is allowed) per field
    for name, ftp in typing.get_type_hints(cls).items():
        fargs = typing.get_args(ftp)
        optional = _NoneType in fargs and len(fargs) == 2
        base = next(a for a in fargs if a is not _NoneType) if optional else ftp
        if not (base in (str, int) or (isinstance(base, type) and issubclass(base, enum.StrEnum))):
            raise TypeError(f"the parse cache cannot carry {cls.__name__}.{name}: {ftp}")
        kinds.append((base, optional))
    names = [f.name for f in dataclasses.fields(cls)]

    def enc(v: Any) -> Any:
        return [[getattr(item, n) for n in names] for item in v]

    def field(value: Any, kind: type, optional: bool) -> Any:
        if value is None and optional:
            return None
        if kind in (str, int):
            if type(value) is not kind:
                raise _Damaged
            return value
        if type(value) is not str:
            raise _Damaged
        return kind(value)  # a str enum: ValueError if not one of its values

    def dec(v: Any) -> Any:
        if type(v) is not list:
            raise _Damaged
        out = []
        for item in v:
            if type(item) is not list or len(item) != len(kinds):
                raise _Damaged
            out.append(cls(*(field(x, *k) for x, k in zip(item, kinds, strict=True))))
        return tuple(out)

    return enc, dec


def _column(columns: Mapping[str, Any], key: str, count: int) -> list[Any]:
    """Column ``key``: a list of ``count`` values, or the cache is damaged."""
    col = columns.get(key)
    if type(col) is not list or len(col) != count:
        raise _Damaged
    return col


def _presence(col: list[Any]) -> list[Any]:
    """A presence column: 0 or 1 (ints) for each file, or the cache is damaged."""
    if not set(col) <= {0, 1} or not set(map(type, col)) <= {int}:
        raise _Damaged
    return col


class _Layout:
    """The columns of one dataclass (GrantFile, or a dataclass inside it), from its fields."""

    def __init__(self, cls: type, prefix: str = "") -> None:
        self.cls = cls
        self.names = [f.name for f in dataclasses.fields(cls)]
        hints = typing.get_type_hints(cls)
        self.parts: list[tuple[str, str, Any]] = []  # (field, kind, codec) in field order
        for name in self.names:
            tp = hints[name]
            key = prefix + name
            leaf = _leaf(tp)
            if leaf is not None:
                self.parts.append((key, "leaf", leaf))
                continue
            inner = [a for a in typing.get_args(tp) if a is not _NoneType] or [tp]
            if (
                len(inner) == 1
                and isinstance(inner[0], type)
                and dataclasses.is_dataclass(inner[0])
            ):
                self.parts.append((key, "nested", _Layout(inner[0], key + ".")))
                continue
            value = _value(tp)
            if value is None:
                raise TypeError(f"the parse cache cannot carry {cls.__name__}.{name}: {tp}")
            self.parts.append((key, "value", value))

    def encode(self, objs: list[Any], w: _Writer, out: dict[str, list[Any]]) -> None:
        for (key, kind, codec), name in zip(self.parts, self.names, strict=True):
            values = list(map(operator.attrgetter(name), objs))
            if kind == "leaf":
                out[key] = values if codec[0] is _same else [codec[0](v, w) for v in values]
            elif kind == "value":
                out[key] = [codec[0](v) for v in values]
            else:
                out[key] = [0 if v is None else 1 for v in values]
                codec.encode([v for v in values if v is not None], w, out)

    def decode(self, count: int, columns: Mapping[str, Any], r: _Reader) -> list[Any]:
        fields: list[list[Any]] = []
        for key, kind, codec in self.parts:
            col = _column(columns, key, count)
            if kind == "leaf":
                fields.append(codec[1](col, r))
            elif kind == "value":
                fields.append(list(map(codec[1], col)))
            else:
                present = codec.decode(sum(_presence(col)), columns, r)
                it = iter(present)
                fields.append([next(it) if here else None for here in col])
        # positional: a third faster than keywords
        return list(map(self.cls, *fields)) if fields else []


class _Writer:
    def __init__(self) -> None:
        self.tables: list[dict[str, int]] = []
        self._index: dict[tuple[tuple[str, int], ...], int] = {}
        # by identity, for values met again as the very same object (kept alive here)
        self._same: dict[int, tuple[object, int]] = {}

    def iso(self, value: datetime) -> str:
        """Python's isoformat: it keeps the offset and the fraction (one C call; remembering
        the texts cost more than it saved when times differ, as real ones do)."""
        return value.isoformat()

    def table(self, value: Mapping[str, int]) -> int:
        seen = self._same.get(id(value))  # grants of one shape share one map of lines
        if seen is not None and seen[0] is value:
            return seen[1]
        layout = tuple(value.items())
        at = self._index.get(layout)
        if at is None:
            at = self._index[layout] = len(self.tables)
            self.tables.append(dict(layout))
        self._same[id(value)] = (value, at)
        return at


class _Reader:
    def __init__(self, tables: Any) -> None:
        if type(tables) is not list:
            raise _Damaged
        self.tables: list[Mapping[str, int]] = []
        for t in tables:
            if type(t) is not dict or not all(
                type(k) is str and type(v) is int for k, v in t.items()
            ):
                raise _Damaged
            self.tables.append(MappingProxyType(t))
        self._times: dict[str, datetime] = {}

    def times(self, column: list[Any]) -> dict[Any, Any]:
        """Each distinct time text of ``column`` decoded once (None stays None)."""
        for text in set(column):
            if text is None or text in self._times:
                continue
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise _Damaged
            self._times[text] = value
        return {**self._times, None: None}


try:
    _LAYOUT: _Layout | None = _Layout(GrantFile)
except TypeError:  # a field the cache cannot carry: no cache (tests fail until it can)
    _LAYOUT = None
CACHE_USABLE = _LAYOUT is not None


@contextmanager
def bulk() -> Iterator[None]:
    """Allocating 100,000s of objects that live on: the cyclic GC would scan them again and
    again (half the time of decoding the cache) and find nothing to free. Off meanwhile.
    Afterwards what was read is frozen (``gc.freeze``): later collections, while the command
    works on it, scan only what is new. Reference counting still frees it; only a cycle among
    the frozen objects would outlive its use, and grants, findings and columns hold none."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


class _Columns(Mapping[str, Any]):
    """The columns of a cache file, each decoded from its own stretch of JSON when first asked
    for: a command decodes only the columns it reads (``list`` no blob ids, no line maps)."""

    def __init__(self, raw: bytes, spans: dict[str, tuple[int, int]]) -> None:
        self._raw, self._spans = raw, spans
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self._done.get(key, _MISSING)
        if value is _MISSING:
            start, end = self._spans[key]
            try:
                value = json.loads(self._raw[start:end])
            except (ValueError, RecursionError):
                raise _Damaged from None
            self._done[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


_MISSING = object()
_FOOTER = 17  # the index's offset: 16 decimal digits and a newline, the file's last bytes


class _Cache:
    def __init__(
        self,
        repo: GitRepo,
        tree: str,
        count: int,
        tables: Any,
        columns: Mapping[str, Any],
    ) -> None:
        self.repo = repo
        self.tree = tree
        self.count = count  # files
        self.tables = tables  # the line maps, as loaded or built
        # the layout's columns, and "@mode" and "@blob" (each file's git mode and blob id)
        self.columns = columns

    @staticmethod
    def file(repo: GitRepo) -> Path:
        return repo.cache_dir() / f"{_CACHE_FORMAT}.json"

    @classmethod
    def load(cls, repo: GitRepo) -> _Cache | None:
        """The cache file: the columns' JSON texts one after another, then an index (JSON:
        format, tree, count, tables, and where each column's text is), then the index's
        offset. Only the index is decoded here."""
        try:
            raw = cls.file(repo).read_bytes()
        except OSError:
            return None
        try:
            footer = raw[-_FOOTER:]
            if len(raw) < _FOOTER or not footer[:-1].isdigit() or footer[-1:] != b"\n":
                raise _Damaged
            at = int(footer[:-1])
            index = json.loads(raw[at:-_FOOTER])
            if type(index) is not dict or index.get("format") != _CACHE_FORMAT:
                raise _Damaged
            tree, count, spans = index.get("tree"), index.get("count"), index.get("columns")
            if type(tree) is not str or type(count) is not int or type(spans) is not dict:
                raise _Damaged
            checked: dict[str, tuple[int, int]] = {}
            for key, span in spans.items():
                if not (type(span) is list and len(span) == 2 and set(map(type, span)) == {int}):
                    raise _Damaged
                if not 0 <= span[0] <= span[1] <= at:
                    raise _Damaged
                checked[key] = (span[0], span[1])
        except (_Damaged, ValueError, RecursionError):
            return None  # not a cache jitctl wrote: no cache
        return cls(repo, tree, count, index.get("tables"), _Columns(raw, checked))

    @classmethod
    def build(cls, repo: GitRepo, tree: str, files: list[tuple[Entry, GrantFile]]) -> _Cache:
        assert _LAYOUT is not None
        writer = _Writer()
        columns: dict[str, list[Any]] = {}
        _LAYOUT.encode([gf for _, gf in files], writer, columns)
        columns["@mode"] = [e.mode for e, _ in files]
        columns["@blob"] = [e.sha for e, _ in files]
        return cls(repo, tree, len(files), writer.tables, columns)

    def _decode(self) -> list[GrantFile] | None:
        if _LAYOUT is None:
            return None
        try:
            reader = _Reader(self.tables)
            files = _LAYOUT.decode(self.count, self.columns, reader)
        except (_Damaged, TypeError, ValueError, KeyError, IndexError, StopIteration):
            return None
        return files if len(files) == self.count else None

    def decode_all(self) -> dict[str, GrantFile] | None:
        """Every file decoded, or None if anything is damaged (then the cache is not used)."""
        files = self._decode()
        if files is None:
            return None
        out = {gf.path: gf for gf in files}
        return out if len(out) == len(files) else None

    def grant_columns(self) -> GrantColumns | None:
        """The grants as columns, decoded column by column with the layout's own codecs (the
        same checks: anything damaged is None), building no object per file."""
        layout = _LAYOUT
        if layout is None:
            return None
        try:
            parts = {key: (kind, codec) for key, kind, codec in layout.parts}
            columns, count = self.columns, self.count
            reader = _Reader(self.tables)
            # the layout's checks: strings; 0 or 1
            paths = parts["path"][1][1](_column(columns, "path", count), reader)
            present = _presence(_column(columns, "grant", count))
            kind, nested = parts["grant"]
            assert kind == "nested" and isinstance(nested, _Layout)
            inner = {key: codec for key, kind, codec in nested.parts if kind == "leaf"}
            have = sum(present)
            values: dict[str, list[Any]] = {}
            for name in _COLUMNS:
                col = _column(columns, f"grant.{name}", have)
                values[name] = inner[f"grant.{name}"][1](col, reader)
            kind, findings = parts["findings"]
            assert kind == "value"
            col = _column(columns, "findings", count)
            bad = [
                (p, findings[1](v))
                for p, v, here in zip(paths, col, present, strict=True)
                if not here
            ]
            order = sorted(range(have), key=values["path"].__getitem__)
            if order != list(range(have)):
                values = {name: list(map(col.__getitem__, order)) for name, col in values.items()}
            bad.sort(key=lambda pair: pair[0])
            return GrantColumns(**values, bad=[f for _, found in bad for f in found])
        except (_Damaged, TypeError, ValueError, KeyError, IndexError, AttributeError):
            return None

    def known(self) -> dict[tuple[str, int, str], GrantFile]:
        """The cached files by (path, mode, blob id); nothing if the cache is damaged."""
        files = self._decode()
        if files is None:
            return {}
        try:
            modes = _column(self.columns, "@mode", self.count)
            blobs = _column(self.columns, "@blob", self.count)
        except _Damaged:
            return {}
        if not (set(map(type, modes)) <= {int} and set(map(type, blobs)) <= {str}):
            return {}
        return {(gf.path, m, b): gf for gf, m, b in zip(files, modes, blobs, strict=True)}

    def save(self) -> None:
        """Write the file ``load`` reads, one column at a time (never all of it in memory as
        one text), to a temporary file renamed into place."""
        try:
            target = self.file(self.repo)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cache-")
            with os.fdopen(fd, "wb") as fh:
                spans: dict[str, list[int]] = {}
                at = 0
                for key, col in self.columns.items():
                    text = orjson.dumps(col)
                    fh.write(text)
                    spans[key] = [at, at + len(text)]
                    at += len(text)
                index = {
                    "format": _CACHE_FORMAT,
                    "tree": self.tree,
                    "count": self.count,
                    "tables": self.tables,
                    "columns": spans,
                }
                fh.write(orjson.dumps(index) + b"%016d\n" % at)
            os.replace(tmp, target)
        except (OSError, orjson.JSONEncodeError):
            pass  # a cache that cannot be written only costs time
