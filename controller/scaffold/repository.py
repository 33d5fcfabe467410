"""Adapter: lay a scaffold down in a folder and commit it (``jitctl init``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from controller.core.errors import JitError


@dataclass(frozen=True)
class InitResult:
    path: Path
    outcome: str  # created | updated | upgraded | unchanged
    commit: str | None
    written: tuple[str, ...]  # files whose content changed


def _git(dest: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=dest, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise JitError(f"cannot run git: {exc.strerror}", rule="git") from None
    if proc.returncode != 0:
        reason = (proc.stderr or proc.stdout).strip().splitlines()
        raise JitError(
            f"git {' '.join(args[:2])} in {dest}: {reason[-1] if reason else 'failed'}",
            rule="git",
        )
    return proc.stdout.strip()


def create(dest: Path, files: Mapping[str, str], *, force: bool, message: str) -> InitResult:
    """Write ``files`` under ``dest`` and commit them on ``main``.

    A folder that exists and is not empty is refused unless ``force``; then only the scaffold's
    own files are (re)written, others are left alone, and a second run with the same files makes
    no commit. Files are written through a temporary file and a rename; a path through a
    symbolic link is refused (the scaffold never writes outside ``dest``).
    """
    try:
        existing = list(dest.iterdir()) if dest.exists() else []
    except OSError as exc:
        raise JitError(f"{dest}: {exc.strerror}", rule="io") from None
    if dest.exists() and not dest.is_dir():
        raise JitError(f"{dest}: exists and is not a folder", rule="usage")
    if existing and not force:
        raise JitError(
            f"{dest}: not empty; give --force to write the scaffold into it (its own files are "
            "rewritten, nothing else is touched)",
            rule="usage",
        )
    fresh = not (dest / ".git").exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JitError(f"cannot create {dest}: {exc.strerror}", rule="io") from None
    if fresh:
        _git(dest, "init", "-q", "-b", "main")
    written = [rel for rel, text in files.items() if _write(dest, rel, text)]
    _git(dest, "add", "--", *files)
    staged = _git(dest, "diff", "--cached", "--name-only")
    if not staged:
        return InitResult(dest, "unchanged", None, ())
    _git(dest, "commit", "-q", "-m", message)
    commit = _git(dest, "rev-parse", "HEAD")
    return InitResult(dest, "created" if fresh else "updated", commit, tuple(written))


def upgrade(
    dest: Path,
    files: Mapping[str, str],
    *,
    owned: Callable[[str], bool],
    prune: Sequence[str],
    message: str,
) -> InitResult:
    """Bring an access repository made by ``jitctl init`` to this version, in one commit.

    The files jitctl owns (``owned``: the jit-* workflows, the Terraform root and the vendored
    modules) are rewritten; every other scaffold file (the catalog, CODEOWNERS, the rulesets,
    README) is written only if it is missing, so the organisation's edits stay. A tracked file
    under a ``prune`` folder (a vendored module) that this version no longer has is removed.
    Nothing else is touched; staged changes of the user's are refused, so the commit holds the
    upgrade only. Run it on a branch and open a pull request: code owners review the diff.
    """
    if not (dest / ".git").exists():
        raise JitError(
            f"{dest}: not a git repository; --upgrade updates an access repository made by "
            "jitctl init",
            rule="usage",
        )
    if not (dest / "catalog.yaml").is_file():
        raise JitError(f"{dest}: no catalog.yaml; not an access repository", rule="usage")
    if _git(dest, "diff", "--cached", "--name-only"):
        raise JitError(
            f"{dest}: changes are staged; commit or unstage them before --upgrade", rule="usage"
        )
    written = [
        rel
        for rel, text in files.items()
        if (owned(rel) or not (dest / rel).exists()) and _write(dest, rel, text)
    ]
    tracked = _git(dest, "ls-files", "-z", "--", *prune).split("\0") if prune else []
    stale = sorted(rel for rel in tracked if rel and rel not in files)
    if stale:
        _git(dest, "rm", "-q", "--", *stale)
    _git(dest, "add", "--", *(rel for rel in files if (dest / rel).exists()))
    if not _git(dest, "diff", "--cached", "--name-only"):
        return InitResult(dest, "unchanged", None, ())
    _git(dest, "commit", "-q", "-m", message)
    commit = _git(dest, "rev-parse", "HEAD")
    return InitResult(dest, "upgraded", commit, tuple(written + stale))


def _write(dest: Path, rel: str, text: str) -> bool:
    """Write one file atomically; False when it already holds exactly ``text``."""
    target = dest / rel
    _refuse_links(dest, Path(rel))
    data = text.encode("utf-8")
    try:
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.jitctl-{os.getpid()}")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise JitError(f"cannot write {target}: {exc.strerror}", rule="io") from None
    return True


def _refuse_links(dest: Path, rel: Path) -> None:
    parts: Sequence[str] = rel.parts[:-1]
    here = dest
    for part in parts:
        here = here / part
        if here.is_symlink():
            raise JitError(f"{here}: is a symbolic link; refusing to write through it", rule="io")
