"""Gather: read grants and the catalog from git into values the core can judge.

The grant parse cache lives in ``.git/jitctl/`` and is keyed by (blob id, path): a blob id names
the exact bytes, so a cached result is the result of parsing those bytes at that path.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller import __version__
from controller.core.errors import JitError
from controller.core.model import (
    GRANTS_PLACEHOLDER,
    Catalog,
    FileChange,
    Finding,
    Grant,
    GrantFile,
    Severity,
)
from controller.core.policy import ChangeSet, is_grant_path
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import MAX_FILE_BYTES, parse_grant_file
from controller.git.repo import Entry, GitRepo

DEFAULT_CATALOG = "catalog.yaml"
_CACHE_FORMAT = f"grants-v2-{__version__}"


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
        with open(path, "rb") as fh:
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
    """Parse grant files at ``ref``: all under grants/ (paths=None) or just ``paths``."""
    if paths is None:
        entries = [e for e in repo.entries(ref) if e.path != GRANTS_PLACEHOLDER]
    else:
        entries = list(repo.entries_at(ref, paths).values())
    store = _Cache(repo) if cache else None
    out: dict[str, GrantFile] = {}
    missing: list[Entry] = []
    for e in entries:
        hit = store.get(e) if store else None
        if hit is not None:
            out[e.path] = hit
        else:
            missing.append(e)
    if missing:
        blobs = repo.blobs(e.sha for e in missing)
        for e in missing:
            gf = parse_grant_file(e.path, blobs[e.sha], mode=e.mode)
            out[e.path] = gf
            if store:
                store.put(e, gf)
    if store:
        store.save()
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
    """One snapshot of a change. Reads only the changed files (and same-principal grants)."""
    catalog = read_catalog(repo, base, catalog_path)
    changed = repo.diff(base, head)
    grant_paths = [p for p in changed if is_grant_path(p)]
    mb = repo.merge_base(repo.rev(base), repo.rev(head))
    base_files = read_grant_files(
        repo, mb, [p for p in grant_paths if changed[p] is not FileChange.ADDED]
    )
    head_files = read_grant_files(
        repo, head, [p for p in grant_paths if changed[p] is not FileChange.DELETED]
    )
    related = related_grants(repo, head, head_files.values())
    return ChangeSet(
        catalog=catalog,
        changed=changed,
        base=base_files,
        head=head_files,
        author=author,
        now=now,
        related=related,
        members=members or {},
        claimed_kind=claimed_kind,
    )


def related_grants(repo: GitRepo, ref: str, files: Iterable[GrantFile]) -> list[Grant]:
    """Other grants at ``ref`` for the same principal: found by git grep, not a full parse."""
    out: list[Grant] = []
    seen: set[str] = set()
    for gf in files:
        if gf.grant is None or gf.grant.principal in seen:
            continue
        seen.add(gf.grant.principal)
        paths = [
            p for p in repo.grep(ref, gf.grant.principal, also=gf.grant.entitlement) if p != gf.path
        ]
        for other in read_grant_files(repo, ref, paths).values():
            if other.grant is not None:
                out.append(other.grant)
    return out


# --- the parse cache -----------------------------------------------------------------------


class _Cache:
    def __init__(self, repo: GitRepo) -> None:
        self.file = repo.cache_dir() / f"{_CACHE_FORMAT}.json"
        self.entries: dict[str, Any] = {}
        self.dirty = False
        try:
            data = json.loads(self.file.read_text("utf-8"))
            if isinstance(data, dict) and data.get("format") == _CACHE_FORMAT:
                self.entries = data.get("entries", {})
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def key(e: Entry) -> str:
        return f"{e.sha}:{e.mode:o}:{e.path}"

    def get(self, e: Entry) -> GrantFile | None:
        raw = self.entries.get(self.key(e))
        if raw is None:
            return None
        try:
            return _decode(e.path, raw)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, e: Entry, gf: GrantFile) -> None:
        if gf.open is not None:
            return  # open requests live on request branches only: parsed each time
        self.entries[self.key(e)] = _encode(gf)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".cache-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": _CACHE_FORMAT, "entries": self.entries}, fh)
            os.replace(tmp, self.file)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _encode(gf: GrantFile) -> dict[str, Any]:
    g = gf.grant
    return {
        "grant": None
        if g is None
        else {
            "id": g.id,
            "principal": g.principal,
            "entitlement": g.entitlement,
            "expires_at": format_rfc3339(g.expires_at),
            "reason": g.reason,
            "starts_at": format_rfc3339(g.starts_at) if g.starts_at else None,
            "ticket": g.ticket,
            "lines": dict(g.lines),
            "duration": int(g.duration.total_seconds()) if g.duration else None,
        },
        "findings": [[f.rule, f.line, f.message, f.severity.value] for f in gf.findings],
    }


def _decode(path: str, raw: dict[str, Any]) -> GrantFile:
    g = raw["grant"]
    grant = None
    if g is not None:
        grant = Grant(
            id=g["id"],
            path=path,
            principal=g["principal"],
            entitlement=g["entitlement"],
            expires_at=parse_rfc3339(g["expires_at"]),
            reason=g["reason"],
            starts_at=parse_rfc3339(g["starts_at"]) if g["starts_at"] else None,
            ticket=g["ticket"],
            lines=dict(g["lines"]),
            duration=timedelta(seconds=g["duration"]) if g["duration"] else None,
        )
    findings = tuple(
        Finding(rule, path, line, message, Severity(sev))
        for rule, line, message, sev in raw["findings"]
    )
    return GrantFile(path, grant, findings)
