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
from datetime import datetime
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
from controller.core.policy import ChangeSet, is_grant_path, mode_finding
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import MAX_FILE_BYTES, parse_grant_file
from controller.git.repo import Entry, GitRepo

DEFAULT_CATALOG = "catalog.yaml"
_CACHE_FORMAT = f"grants-v1-{__version__}"


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
        if e.mode not in (0o100644, 0o120000):  # executable, gitlink: refused unread
            kind = "commit" if e.mode == 0o160000 else "blob"
            out[e.path] = GrantFile(e.path, None, (mode_finding(e.path, f"{e.mode:06o}", kind),))
            continue
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
        )
    findings = tuple(
        Finding(rule, path, line, message, Severity(sev))
        for rule, line, message, sev in raw["findings"]
    )
    return GrantFile(path, grant, findings)
