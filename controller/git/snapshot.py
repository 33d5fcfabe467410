"""Gather: read grants and the catalog from git into values the core can judge.

The grant parse cache lives in ``.git/jitctl/``. It holds the parse of one tree of grants/ (the
last one read in full): a tree id names every path, mode and blob under it, so when grants/ at
the ref is that tree the cached rows are the answer; otherwise each row is reused where (path,
mode, blob id) still match, since a blob id names the exact bytes that were parsed.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
    OpenRequest,
    Severity,
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
    with _bulk():
        if not (cache and CACHE_USABLE):
            return _parse_entries(repo, _grant_entries(repo, ref))
        return _read_all(repo, ref)


def _read_all(repo: GitRepo, ref: str) -> dict[str, GrantFile]:
    commit = repo.rev(ref)
    tree = repo.tree_id(commit, GRANTS_DIR)
    if tree is None:
        return {}
    store = _Cache.load(repo)
    if store is not None and store.tree == tree:
        hit = store.decode_all()
        if hit is not None:
            return hit
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


def _grant_entries(repo: GitRepo, ref: str) -> list[Entry]:
    return [e for e in repo.entries(ref) if e.path != GRANTS_PLACEHOLDER]


def _parse_entries(repo: GitRepo, entries: list[Entry]) -> dict[str, GrantFile]:
    """Parse regular files and symlinks; an executable or a gitlink is refused unread."""
    readable = [e for e in entries if e.mode in (0o100644, 0o120000)]
    blobs = repo.blobs(e.sha for e in readable)
    out: dict[str, GrantFile] = {}
    for e in entries:
        if e.mode in (0o100644, 0o120000):
            out[e.path] = parse_grant_file(e.path, blobs[e.sha], mode=e.mode)
        else:
            kind = "commit" if e.mode == 0o160000 else "blob"
            out[e.path] = GrantFile(e.path, None, (mode_finding(e.path, f"{e.mode:06o}", kind),))
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
# One JSON file for one tree of grants/: {"format", "tree", "lines", "rows"}, one row per file:
#   [path, mode, blob, <the Grant's fields in declaration order but path and lines>, L]
#   (+ [findings] when the grant has warnings); [path, mode, blob, findings] for a file that is
#   not a valid grant; [path, mode, blob, findings, [<the OpenRequest's fields>], L] for an open
#   request (a duration, no expires_at yet). Times are in Python's isoformat (it round-trips the
#   offset and the fraction), durations in whole microseconds; L indexes "lines", the distinct
#   attribute -> line maps (nearly every grant file has the same layout, so they share one).
#   About 200 bytes a grant, decoded by the C JSON decoder. The cache is bounded: it holds the
#   last tree read in full, nothing else.
#
# The rows are generic over the dataclass fields: each field is carried by its declared type
# (_KINDS), so a field added to Grant or OpenRequest is cached with no change here, and the
# cache file's name includes the field layout, so rows written for another layout are never
# read. A field of a type the codec does not know, or a new GrantFile field (the row's shape),
# turns the cache off (every read parses) rather than dropping the field; the cache tests fail
# until the codec learns it.

_PENDING = GrantFile("", None)
_CONTEXT = ("path", "lines")  # from the row's path and its line-map index, not stored per field
# declared type -> (may be None, the value's kind)
_KINDS: Mapping[str, tuple[bool, str]] = {
    "str": (False, "str"),
    "str | None": (True, "str"),
    "datetime": (False, "time"),
    "datetime | None": (True, "time"),
    "timedelta": (False, "span"),
    "timedelta | None": (True, "span"),
}
_FILE_FIELDS = ("path", "grant", "findings", "open")


def _layout(cls: type) -> tuple[tuple[str, bool, str], ...] | None:
    """(name, may be None, kind) of each field a row carries for ``cls``, in declaration order
    (``path`` and ``lines`` excepted); None if a field has a type the codec does not know."""
    out = []
    for f in dataclasses.fields(cls):
        if f.name in _CONTEXT:
            continue
        kind = _KINDS.get(str(f.type))
        if kind is None:
            return None
        out.append((f.name, *kind))
    return tuple(out)


def _usable(cls: type) -> bool:
    names = tuple(f.name for f in dataclasses.fields(cls))
    # path and lines are passed in their declared places (positional construction)
    return set(_CONTEXT) <= set(names) and _layout(cls) is not None


_GRANT = _layout(Grant) or ()
_OPEN = _layout(OpenRequest) or ()
_MICROSECOND = timedelta(microseconds=1)
CACHE_USABLE = (
    _usable(Grant)
    and _usable(OpenRequest)
    and tuple(f.name for f in dataclasses.fields(GrantFile)) == _FILE_FIELDS
)
_LAYOUT_ID = zlib.crc32(repr((_GRANT, _OPEN, _FILE_FIELDS)).encode())
_CACHE_FORMAT = f"grants-v3-{__version__}-{_LAYOUT_ID:08x}"


def _compile(
    cls: type, layout: tuple[tuple[str, bool, str], ...], nested: bool
) -> Callable[..., Any]:
    """A decoder for one row of ``cls``, generated from its layout (as ``dataclasses`` generates
    ``__init__``): each field checked or converted by its kind, the constructor called with
    positional arguments in declaration order (a third faster than keywords, 100,000 grants on
    a warm list). Grant rows hold the values inline from column 3, the line-map index after
    them; open-request rows hold a list of values in column 4 and the index in column 5. The
    decoder answers None, or raises TypeError/ValueError/IndexError, for a row jitctl did not
    write."""
    n = len(layout)
    if nested:
        src = [
            "    vals = row[4]",
            f"    if type(vals) is not list or len(vals) != {n}:",
            "        return None",
        ]
        value, at = "vals[{}]", "row[5]"
    else:
        src, value, at = [], "row[{}]", f"row[{3 + n}]"
    for i, (_, optional, kind) in enumerate(layout):
        v = f"v{i}"
        src.append(f"    {v} = {value.format(i if nested else 3 + i)}")
        guard = f"{v} is not None and " if optional else ""
        if kind == "str":
            src += [f"    if {guard}type({v}) is not str:", "        return None"]
        elif kind == "time":
            src.append(f"    if {v} is not None:" if optional else "    if True:")
            src.append(f"        {v} = time({v})")
        else:  # span: whole microseconds
            src += [f"    if {guard}type({v}) is not int:", "        return None"]
            src.append(f"    if {v} is not None:" if optional else "    if True:")
            src.append(f"        {v} = span(microseconds={v})")
    src += [
        f"    at = {at}",
        "    if type(at) is not int or at < 0 or lines[at] is None:",
        "        return None",
    ]
    stored = iter(f"v{i}" for i in range(n))
    args = [
        {"path": "path", "lines": "lines[at]"}.get(f.name) or next(stored)
        for f in dataclasses.fields(cls)
    ]
    src.append(f"    return cls({', '.join(args)})")
    code = "def decode(row, path, lines, time):\n" + "\n".join(src) + "\n"
    space: dict[str, Any] = {"cls": cls, "span": timedelta}
    exec(code, space)  # generated from the dataclass fields above: no input in it
    decode: Callable[..., Any] = space["decode"]
    return decode


def _unusable(*_: Any) -> None:
    return None  # the cache is off (CACHE_USABLE): no row is ever decoded


_DECODE_GRANT: Callable[..., Any] = (
    _compile(Grant, _GRANT, nested=False) if CACHE_USABLE else _unusable
)
_DECODE_OPEN: Callable[..., Any] = (
    _compile(OpenRequest, _OPEN, nested=True) if CACHE_USABLE else _unusable
)


@contextmanager
def _bulk() -> Iterator[None]:
    """Allocating 100,000s of objects that live on: the cyclic GC would scan them again and
    again (half the time of decoding the cache) and find nothing to free. Off meanwhile."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Cache:
    def __init__(
        self, repo: GitRepo, tree: str, rows: list[list[Any]], lines: list[dict[str, int]]
    ) -> None:
        self.repo = repo
        self.tree = tree
        self.rows = rows
        self.lines = lines

    @staticmethod
    def file(repo: GitRepo) -> Path:
        return repo.cache_dir() / f"{_CACHE_FORMAT}.json"

    @classmethod
    def load(cls, repo: GitRepo) -> _Cache | None:
        try:
            data = json.loads(cls.file(repo).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None  # unreadable, not JSON, or nested too deep: no cache
        if (
            not isinstance(data, dict)
            or data.get("format") != _CACHE_FORMAT
            or not isinstance(data.get("tree"), str)
            or not isinstance(data.get("rows"), list)
            or not isinstance(data.get("lines"), list)
        ):
            return None
        return cls(repo, data["tree"], data["rows"], data["lines"])

    @classmethod
    def build(cls, repo: GitRepo, tree: str, files: list[tuple[Entry, GrantFile]]) -> _Cache:
        index: dict[tuple[tuple[str, int], ...], int] = {}
        lines: list[dict[str, int]] = []
        rows = []
        # equal instants in two offsets are equal datetimes: the offset is part of the key
        times: dict[tuple[datetime, Any], str] = {}

        def iso(value: datetime) -> str:
            key = (value, value.utcoffset())
            text = times.get(key)
            if text is None:
                text = times[key] = value.isoformat()
            return text

        def encode(obj: object, layout: tuple[tuple[str, bool, str], ...]) -> list[Any]:
            out: list[Any] = []
            for name, _, kind in layout:
                value = getattr(obj, name)
                if value is None or kind == "str":
                    out.append(value)
                elif kind == "time":
                    out.append(iso(value))
                else:  # span: exact, in whole microseconds
                    out.append(value // _MICROSECOND)
            return out

        def line_map(value: Mapping[str, int]) -> int:
            layout = tuple(value.items())
            at = index.get(layout)
            if at is None:
                at = index[layout] = len(lines)
                lines.append(dict(layout))
            return at

        for e, gf in files:
            findings = [[f.rule, f.line, f.message, f.severity.value] for f in gf.findings]
            g = gf.grant
            if g is None:
                request = gf.open
                if request is None:
                    rows.append([e.path, e.mode, e.sha, findings])
                else:
                    rows.append(
                        [e.path, e.mode, e.sha, findings, encode(request, _OPEN),
                         line_map(request.lines)]
                    )  # fmt: skip
                continue
            row = [e.path, e.mode, e.sha, *encode(g, _GRANT), line_map(g.lines)]
            rows.append([*row, findings] if findings else row)
        return cls(repo, tree, rows, lines)

    def decode_all(self) -> dict[str, GrantFile] | None:
        """Every row decoded, or None if any row is damaged (then the cache is not used)."""
        decode = _Decoder(self.lines)
        out: dict[str, GrantFile] = {}
        for row in self.rows:
            gf = decode(row)
            if gf is None:
                return None
            out[gf.path] = gf
        return out

    def known(self) -> dict[tuple[str, int, str], GrantFile]:
        """The decodable rows by (path, mode, blob id)."""
        decode = _Decoder(self.lines)
        out: dict[tuple[str, int, str], GrantFile] = {}
        for row in self.rows:
            gf = decode(row)
            if gf is not None:
                out[(row[0], row[1], row[2])] = gf
        return out

    def save(self) -> None:
        try:
            target = self.file(self.repo)
            target.parent.mkdir(parents=True, exist_ok=True)
            head = json.dumps({"format": _CACHE_FORMAT, "tree": self.tree, "lines": self.lines})
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cache-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # json.dumps of 2,000 rows at a time: the C encoder (json.dump to a file is the
                # pure-Python one, 10x slower), without the whole file in memory as one string
                fh.write(head[:-1] + ', "rows": [')
                for start in range(0, len(self.rows), 2000):
                    chunk = json.dumps(self.rows[start : start + 2000])[1:-1]
                    fh.write((", " if start else "") + chunk)
                fh.write("]}")
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written only costs time


class _Decoder:
    """Cached rows back to parse results; times and line maps shared between grants."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = [MappingProxyType(dict(m)) if isinstance(m, dict) else None for m in lines]
        self.times: dict[str, datetime] = {}

    def time(self, text: str) -> datetime:
        value = self.times.get(text)
        if value is None:
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise ValueError("a cached time without a zone")
            self.times[text] = value
        return value

    def __call__(self, row: Any) -> GrantFile | None:
        """None if the row is not one jitctl wrote."""
        try:
            path = row[0]
            if not isinstance(path, str):
                return None
            size = len(row)
            if size in (4, 6):
                findings = tuple(
                    Finding(rule, path, line, text, Severity(sev))
                    for rule, line, text, sev in row[3]
                )
                if size == 4:
                    return GrantFile(path, None, findings)
                request = _DECODE_OPEN(row, path, self.lines, self.time)
                if request is None:
                    return None
                return GrantFile(path, None, findings, request)
            n = len(_GRANT)
            if size not in (n + 4, n + 5):
                return None
            findings = ()
            if size == n + 5:
                findings = tuple(
                    Finding(rule, path, line, text, Severity(sev))
                    for rule, line, text, sev in row[-1]
                )
            grant = _DECODE_GRANT(row, path, self.lines, self.time)
            if grant is None:
                return None
            return GrantFile(path, grant, findings)
        except (TypeError, ValueError, KeyError, IndexError):
            return None
