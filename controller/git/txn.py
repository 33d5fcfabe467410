"""Never half-done: move a branch, and the index and work tree that have it checked out, so that
whatever instant jitctl is killed at, the repository is in the old state, the new state, or a
state the next run of a writing command completes.

The protocol (git's own mechanisms; no step can leave the index staging an undo):

1. **Refuse** what would go wrong: a rebase, merge, cherry-pick, revert or bisect in progress;
   the branch checked out (or being rebased) in another work tree; uncommitted changes in the
   work tree that has it checked out.
2. **Prepare**, changing nothing anyone sees: a journal ``<git-dir>/jitctl-move.json`` (ref, old,
   new, a token); ``index.lock`` taken the way git takes it (created exclusively, here by a hard
   link so it appears with our token in it: a concurrent git command fails cleanly, and so do
   we if one holds it); the new index built in ``<git-dir>/jitctl-index.new`` by one
   ``git update-index -z --index-info``; new file contents written to temporary files beside
   their targets. A failure here (disk full, lock held) undoes all of it: nothing changed.
3. **Switch**: ``git update-ref <ref> <new> <old>`` (compare-and-swap). Before it, the old state;
   after it, only renames, unlinks and the index rename follow (they do not fail for lack of
   space), then the lock and the journal are removed.
4. **Recover**: a writing command first looks for a journal. If the branch is still at ``old``
   the prepared files are dropped (the old state); if it is at ``new`` the switch is finished
   (idempotent: every step can run again). Until then git itself refuses to commit, since the
   lock is held: the index that still stages the old tree can never be committed by accident.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from controller.core.errors import JitError
from controller.git.repo import ZERO_SHA, GitRepo

JOURNAL = "jitctl-move.json"
NEW_INDEX = "jitctl-index.new"
_TMP_PREFIX = ".jitctl-tmp-"


@dataclass(frozen=True)
class Move:
    ref: str
    old: str
    new: str
    token: str


@dataclass(frozen=True)
class _Change:
    path: str
    mode: int  # 0: deleted
    sha: str


# --- refusing unsafe states ------------------------------------------------------------------


def ensure_safe_state(repo: GitRepo) -> None:
    """Refuse to write while git is in the middle of something in this work tree."""
    what = repo.operation_in_progress()
    if what:
        raise JitError(
            f"{what} is in progress in {repo.path}; finish or abort it first, then run jitctl "
            "again (jitctl commits nothing while git is mid-operation)",
            rule="git",
        )


def checked_out_here(repo: GitRepo, branch: str) -> bool:
    """Whether this work tree has ``branch`` checked out. Refuses (JitError) when another work
    tree has it checked out or is rebasing it: moving it would make that work tree's index
    stage the undo of the move."""
    ensure_safe_state(repo)
    ref = f"refs/heads/{branch}"
    here_path = _real(repo.path)
    here = False
    for t in repo.worktrees():
        if t.bare:
            continue
        if t.rebasing == ref or (t.branch == ref and _real(Path(t.path)) != here_path):
            doing = "being rebased" if t.rebasing == ref else "checked out"
            raise JitError(
                f"{branch} is {doing} in the work tree {t.path}; run jitctl there, or switch "
                "that work tree to another branch first",
                rule="git",
            )
        if t.branch == ref:
            here = True
    return here and not repo.bare


def _real(p: Path) -> str:
    try:
        return str(p.resolve())
    except OSError:
        return str(p)


# --- moving a branch -------------------------------------------------------------------------


def advance(repo: GitRepo, branch: str, old: str, new: str) -> None:
    """Move ``refs/heads/<branch>`` from ``old`` to ``new`` (compare-and-swap); when this work
    tree has it checked out, its index and files move with it, never half-way."""
    ref = f"refs/heads/{branch}"
    if not checked_out_here(repo, branch):
        repo.update_ref(ref, new, old)
        return
    changes = _diff(repo, old, new)
    _ensure_clean(repo, branch, changes)
    move = Move(ref, old, new, secrets.token_hex(8))
    _write_journal(repo, move)
    try:
        _take_lock(repo, move.token)
    except BaseException:
        _journal_path(repo).unlink(missing_ok=True)
        raise
    try:
        staged = _prepare(repo, move, changes)
        repo.update_ref(ref, new, old)
    except BaseException:
        _drop(repo, move, changes)
        raise
    _switch(repo, move, changes, staged)


def recover(repo: GitRepo) -> str | None:
    """Finish or undo a move an earlier run was killed in the middle of. Returns what it did."""
    path = _journal_path(repo)
    try:
        raw = json.loads(path.read_text("utf-8"))
        move = Move(str(raw["ref"]), str(raw["old"]), str(raw["new"]), str(raw["token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)  # a journal we cannot read was never acted on
        return None
    try:
        current = repo.git("rev-parse", "--verify", "--quiet", move.ref).strip()
    except JitError:
        current = ""
    changes = _diff(repo, move.old, move.new)
    if current == move.old or current != move.new:
        _drop(repo, move, changes)
        if current == move.old:
            return f"an interrupted jitctl run left {move.ref} unchanged; cleaned up"
        return (
            f"an interrupted jitctl run could not finish: {move.ref} has moved since; "
            "the index and work tree were left as they are"
        )
    lock = _lock_path(repo)
    if not _ours(lock, move.token):
        _take_lock(repo, move.token)
    staged = _prepare(repo, move, changes)
    _switch(repo, move, changes, staged)
    return (
        f"completed an interrupted jitctl run: {move.ref} at {move.new[:12]}, "
        "index and work tree updated"
    )


def _diff(repo: GitRepo, old: str, new: str) -> list[_Change]:
    out = repo.git("diff-tree", "-r", "-z", "--no-renames", old, new)
    fields = out.split("\0")
    changes: list[_Change] = []
    i = 0
    while i + 1 < len(fields):
        meta = fields[i]
        if not meta.startswith(":"):
            i += 1
            continue
        _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split()
        path = fields[i + 1]
        mode = 0 if status.startswith("D") else int(new_mode, 8)
        changes.append(_Change(path, mode, new_sha if mode else ZERO_SHA))
        i += 2
    return changes


def _ensure_clean(repo: GitRepo, branch: str, changes: Sequence[_Change]) -> None:
    if not repo.is_clean():
        raise JitError(
            f"{branch} is checked out in {repo.path} with uncommitted changes; commit or stash "
            "them first",
            rule="git",
        )
    tracked_before = {c.path for c in changes if c.mode == 0} | _tracked(repo, changes)
    for c in changes:
        if c.mode and c.path not in tracked_before and os.path.lexists(repo.path / c.path):
            raise JitError(
                f"{c.path}: an untracked file is in the way of {branch}'s new content; move "
                "it away first",
                rule="git",
            )


def _tracked(repo: GitRepo, changes: Sequence[_Change]) -> set[str]:
    written = [c.path for c in changes if c.mode]
    if not written:
        return set()
    out = repo.git("ls-files", "-z", "--", *[f":(literal){p}" for p in written])
    return {p for p in out.split("\0") if p}


# --- the pieces ------------------------------------------------------------------------------


def _journal_path(repo: GitRepo) -> Path:
    return repo.git_dir / JOURNAL


def _lock_path(repo: GitRepo) -> Path:
    return _index_path(repo).with_name(_index_path(repo).name + ".lock")


def _index_path(repo: GitRepo) -> Path:
    return repo.git_dir / "index"


def _write_journal(repo: GitRepo, move: Move) -> None:
    path = _journal_path(repo)
    tmp = path.with_name(path.name + ".tmp")
    data = {"ref": move.ref, "old": move.old, "new": move.new, "token": move.token}
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JitError(f"{path}: cannot write: {exc.strerror}", rule="io") from None


def _take_lock(repo: GitRepo, token: str) -> None:
    """Create ``index.lock`` exclusively, already holding our token (write, then hard-link)."""
    lock = _lock_path(repo)
    tmp = lock.with_name(f"jitctl-lock.{token}")
    try:
        tmp.write_text(f"jitctl {token}\n", encoding="utf-8")
        try:
            os.link(tmp, lock)
        except FileExistsError:
            raise JitError(
                f"{lock}: File exists. Another git process seems to be running in this "
                "repository (an editor, a concurrent git command); if none is, remove the file "
                "and run jitctl again. Nothing was changed",
                rule="git",
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                raise
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"jitctl {token}\n")
    except OSError as exc:
        raise JitError(f"{exc.filename or lock}: cannot lock: {exc.strerror}", rule="io") from None
    finally:
        tmp.unlink(missing_ok=True)


def _ours(lock: Path, token: str) -> bool:
    try:
        return lock.read_text("utf-8", errors="replace").strip() == f"jitctl {token}"
    except OSError:
        return False


def _tmp_name(path: Path, token: str, n: int) -> Path:
    return path.with_name(f"{_TMP_PREFIX}{token}-{n}")


def _prepare(repo: GitRepo, move: Move, changes: Sequence[_Change]) -> Path:
    """The new index (beside the real one) and the new files (beside their targets)."""
    new_index = repo.git_dir / NEW_INDEX
    try:
        if _index_path(repo).exists():
            shutil.copyfile(_index_path(repo), new_index)
        else:
            new_index.unlink(missing_ok=True)
    except OSError as exc:
        raise JitError(f"{new_index}: cannot write: {exc.strerror}", rule="io") from None
    records = "".join(
        f"{c.mode:o} {c.sha}\t{c.path}\0" if c.mode else f"0 {ZERO_SHA}\t{c.path}\0"
        for c in changes
    )
    if records:
        repo.run(
            ["update-index", "-z", "--index-info"],
            {"GIT_INDEX_FILE": str(new_index)},
            records.encode(),
        )
    written = [c for c in changes if c.mode and c.mode != 0o160000]
    blobs = repo.blobs(c.sha for c in written)
    for n, c in enumerate(written):
        target = repo.path / c.path
        tmp = _tmp_name(target, move.token, n)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            if c.mode == 0o120000:
                os.symlink(blobs[c.sha].decode("utf-8", errors="surrogateescape"), tmp)
            else:
                with open(tmp, "wb") as fh:
                    fh.write(blobs[c.sha])
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o755 if c.mode == 0o100755 else 0o644)
        except OSError as exc:
            raise JitError(
                f"{exc.filename or target}: cannot write: {exc.strerror}", rule="io"
            ) from None
    return new_index


def _switch(repo: GitRepo, move: Move, changes: Sequence[_Change], new_index: Path) -> None:
    """After the ref moved: put the prepared files and index in place (renames and unlinks
    only), refresh the index's file stamps, release the lock, drop the journal."""
    written = [c for c in changes if c.mode and c.mode != 0o160000]
    for n, c in enumerate(written):
        target = repo.path / c.path
        tmp = _tmp_name(target, move.token, n)
        if os.path.lexists(tmp):
            os.replace(tmp, target)
    for c in changes:
        if c.mode == 0:
            target = repo.path / c.path
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            _prune_empty_dirs(repo.path, target.parent)
    # the stamps only spare git a re-hash; a failure here changes no content
    with contextlib.suppress(JitError):
        repo.run(["update-index", "-q", "--refresh"], {"GIT_INDEX_FILE": str(new_index)})
    if new_index.exists():
        os.replace(new_index, _index_path(repo))
    lock = _lock_path(repo)
    if _ours(lock, move.token):
        lock.unlink(missing_ok=True)
    _journal_path(repo).unlink(missing_ok=True)


def _drop(repo: GitRepo, move: Move, changes: Sequence[_Change]) -> None:
    """Undo a prepared move that never switched: temporary files, new index, lock, journal."""
    for path in _tmp_files(repo, move, changes):
        with contextlib.suppress(OSError):
            path.unlink()
    with contextlib.suppress(OSError):
        (repo.git_dir / NEW_INDEX).unlink()
    lock = _lock_path(repo)
    if _ours(lock, move.token):
        lock.unlink(missing_ok=True)
    _journal_path(repo).unlink(missing_ok=True)


def _tmp_files(repo: GitRepo, move: Move, changes: Sequence[_Change]) -> Iterator[Path]:
    dirs = {(repo.path / c.path).parent for c in changes if c.mode}
    for d in dirs:
        with contextlib.suppress(OSError):
            yield from d.glob(f"{_TMP_PREFIX}{move.token}-*")


def _prune_empty_dirs(root: Path, d: Path) -> None:
    while d != root and root in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


# --- work-tree files (request and extend without --local) ------------------------------------


def write_new_file(repo: GitRepo, rel: str, data: bytes) -> None:
    """Create ``rel`` with ``data``, all or nothing: written to a temporary file, then linked
    into place (which fails if anything, even a dangling symlink, is there already)."""
    target = repo.path / rel
    tmp = _tmp_name(target, secrets.token_hex(8), 0)
    try:
        _write_synced(repo, target, tmp, data)
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise JitError(f"{rel}: already exists; nothing written", rule="io") from None
    except OSError as exc:
        raise _cannot_write(repo, rel, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def replace_file(repo: GitRepo, rel: str, expected: bytes, data: bytes) -> None:
    """Replace ``rel`` with ``data`` if, and only if, it is a regular file holding exactly
    ``expected`` (its committed content): uncommitted edits are never overwritten."""
    target = repo.path / rel
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise JitError(f"{rel}: {exc.strerror}", rule="io") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise JitError(
                f"{rel}: not a regular file in the work tree; nothing written", rule="io"
            )
        try:
            current = target.read_bytes()
        except OSError as exc:
            raise JitError(f"{rel}: cannot read: {exc.strerror}", rule="io") from None
        if current != expected:
            raise JitError(
                f"{rel}: has uncommitted changes in the work tree; commit or stash them first "
                "(nothing written)",
                rule="git",
            )
    tmp = _tmp_name(target, secrets.token_hex(8), 0)
    try:
        _write_synced(repo, target, tmp, data)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _cannot_write(repo, rel, exc) from None


def _write_synced(repo: GitRepo, target: Path, tmp: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``tmp`` beside ``target`` (its folder made if need be)
    and flush it to disk, before it is linked or renamed into place."""
    _mkdir_in(repo, target.parent)
    with open(tmp, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _cannot_write(repo: GitRepo, rel: str, exc: OSError) -> JitError:
    return JitError(
        f"{_rel(repo, exc.filename) or rel}: cannot write: {exc.strerror}; nothing written",
        rule="io",
    )


def _mkdir_in(repo: GitRepo, d: Path) -> None:
    if os.path.lexists(d) and not d.is_dir():
        raise JitError(
            f"{_rel(repo, str(d))}: not a directory; grant files go in a folder of that name",
            rule="io",
        )
    d.mkdir(parents=True, exist_ok=True)


def _rel(repo: GitRepo, name: object) -> str | None:
    if not isinstance(name, str | bytes | os.PathLike):
        return None
    p = Path(os.fsdecode(name))
    try:
        return str(p.relative_to(repo.path))
    except ValueError:
        return str(p)
