"""Adapter: the git repository (gitpython). Trees at a ref, diffs, blobs, commits, pushes.

Everything the core needs from git comes through here, as plain values. Errors become JitError.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from controller.core.errors import JitError
from controller.core.model import GRANTS_DIR, FileChange

_STATUS = {"A": FileChange.ADDED, "M": FileChange.MODIFIED, "D": FileChange.DELETED}


@dataclass(frozen=True)
class Entry:
    """A file in a tree: its path, git mode and blob id."""

    path: str
    mode: int
    sha: str


class GitRepo:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            self.repo = git.Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise JitError(f"{path}: not a git repository (give --repo)", rule="git") from None
        self.path = Path(self.repo.working_tree_dir or self.repo.git_dir)

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def git(self, *args: str) -> str:
        try:
            out: str = self.repo.git.execute(["git", *args], stdout_as_string=True)
            return out
        except GitCommandError as exc:
            stderr = (exc.stderr or "").strip().removeprefix("stderr: ").strip("'\n ")
            raise JitError(f"git {' '.join(args[:3])}: {stderr or exc}", rule="git") from None

    def rev(self, ref: str) -> str:
        """The commit id a ref names. Raises JitError for an unknown ref."""
        try:
            return str(self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")).strip()
        except GitCommandError:
            raise JitError(f"unknown git ref {ref!r}", rule="git") from None

    def merge_base(self, a: str, b: str) -> str:
        return self.git("merge-base", a, b).strip()

    def is_ancestor(self, a: str, b: str) -> bool:
        try:
            self.repo.git.merge_base("--is-ancestor", a, b)
            return True
        except GitCommandError:
            return False

    def entries(self, ref: str, under: str = GRANTS_DIR) -> list[Entry]:
        """Every file under ``under`` at ``ref`` (recursively), with mode and blob id."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", self.rev(ref), "--", under + "/")
        entries = []
        for record in out.split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind in ("blob", "commit"):  # a gitlink is listed too: it is refused, not skipped
                entries.append(Entry(path, int(mode, 8), sha))
        return entries

    def tree_id(self, ref: str, path: str) -> str | None:
        """The id of the tree at ``path`` in ``ref`` (None when there is no such directory)."""
        out = self.git("ls-tree", "-z", "--full-tree", self.rev(ref), "--", path.rstrip("/"))
        for record in out.split("\0"):
            if record:
                meta, name = record.split("\t", 1)
                _mode, kind, sha = meta.split()
                if kind == "tree" and name == path.rstrip("/"):
                    return sha
        return None

    def entry(self, ref: str, path: str) -> Entry | None:
        return self.entries_at(ref, [path]).get(path)

    def entries_at(self, ref: str, paths: Iterable[str]) -> dict[str, Entry]:
        """The files among ``paths`` that exist at ``ref`` (one git call for all of them)."""
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return {}
        found: dict[str, Entry] = {}
        sha = self.rev(ref)
        if len(wanted) > 64:
            # git matches every pathspec against every entry: for many paths, list their
            # folders once and pick the paths out here
            asked = set(wanted)
            folders = sorted({p.rsplit("/", 1)[0] + "/" if "/" in p else "" for p in wanted})
            if "" not in folders:
                out = self.git("ls-tree", "-r", "-z", "--full-tree", sha, "--", *folders)
                for record in out.split("\0"):
                    if record:
                        meta, path = record.split("\t", 1)
                        mode, kind, blob = meta.split()
                        if kind in ("blob", "commit") and path in asked:
                            found[path] = Entry(path, int(mode, 8), blob)
                return found
        for start in range(0, len(wanted), 2000):  # stay under the command line limit
            chunk = wanted[start : start + 2000]
            asked = set(chunk)
            out = self.git("ls-tree", "-z", "--full-tree", sha, "--", *chunk)
            for record in out.split("\0"):
                if record:
                    meta, path = record.split("\t", 1)
                    mode, kind, blob = meta.split()
                    if kind in ("blob", "commit") and path in asked:
                        found[path] = Entry(path, int(mode, 8), blob)
        return found

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Blob contents by id, all through one ``git cat-file --batch`` run."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.repo.git_dir,
            input="".join(f"{s}\n" for s in wanted).encode(),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise JitError(f"git cat-file: {proc.stderr.decode(errors='replace')}", rule="git")
        out: dict[str, bytes] = {}
        for sha, (kind, data) in parse_cat_file_batch(proc.stdout, wanted).items():
            if kind != "blob":
                raise JitError(f"git object {sha} is not a blob", rule="git")
            out[sha] = data
        return out

    def has_commit(self, sha: str) -> bool:
        try:
            self.repo.git.cat_file("-e", f"{sha}^{{commit}}")
            return True
        except GitCommandError:
            return False

    def read(self, ref: str, path: str) -> bytes | None:
        e = self.entry(ref, path)
        return None if e is None else self.blobs([e.sha])[e.sha]

    def diff(self, base: str, head: str) -> dict[str, FileChange]:
        """Paths changed from the merge base of base and head to head (like a pull request)."""
        mb = self.merge_base(self.rev(base), self.rev(head))
        out = self.git("diff", "--name-status", "--no-renames", "-z", mb, self.rev(head))
        fields = [f for f in out.split("\0") if f]
        changes: dict[str, FileChange] = {}
        for status, path in zip(fields[0::2], fields[1::2], strict=True):
            changes[path] = _STATUS.get(status[0], FileChange.MODIFIED)
        return changes

    def grep(
        self, ref: str, needle: str, under: str = GRANTS_DIR, also: str | None = None
    ) -> list[str]:
        """Paths under ``under`` at ``ref`` whose text contains ``needle`` (and ``also``)."""
        sha = self.rev(ref)
        patterns = ["-e", needle] + (["--all-match", "-e", also] if also else [])
        try:
            out = self.repo.git.grep("-l", "-z", "-F", *patterns, sha, "--", under + "/")
        except GitCommandError as exc:
            if exc.status == 1:
                return []
            raise JitError(f"git grep: {exc.stderr}", rule="git") from None
        prefix = sha + ":"
        return [p.removeprefix(prefix) for p in out.split("\0") if p]

    def commit_message(self, ref: str) -> str:
        return self.git("log", "-1", "--format=%B", self.rev(ref))

    def current_branch(self) -> str | None:
        try:
            return self.repo.git.symbolic_ref("--quiet", "--short", "HEAD").strip() or None
        except GitCommandError:
            return None

    def default_branch(self) -> str:
        """origin/HEAD's branch if known, else main or master, else the current branch."""
        try:
            ref = str(self.repo.git.symbolic_ref("--quiet", "refs/remotes/origin/HEAD")).strip()
            return ref.removeprefix("refs/remotes/origin/")
        except GitCommandError:
            pass
        for name in ("main", "master"):
            if self.branch_exists(name):
                return name
        current = self.current_branch()
        if current:
            return current
        raise JitError("cannot tell the default branch; give it explicitly", rule="git")

    def branch_exists(self, name: str) -> bool:
        try:
            self.repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{name}")
            return True
        except GitCommandError:
            return False

    def is_clean(self) -> bool:
        return not self.repo.is_dirty(index=True, working_tree=True, untracked_files=False)

    def config_value(self, key: str) -> str | None:
        try:
            return self.repo.git.config("--get", key).strip() or None
        except GitCommandError:
            return None

    def cache_dir(self) -> Path:
        return Path(self.repo.git_dir) / "jitctl"

    # --- writing -------------------------------------------------------------------------

    def commit_tree(
        self,
        parent: str,
        changes: Mapping[str, bytes | None],
        message: str,
        *,
        extra_parents: tuple[str, ...] = (),
        env: Mapping[str, str] | None = None,
        sign: bool = False,
    ) -> str:
        """A commit = ``parent``'s tree with ``changes`` (path -> content, None deletes).

        Built in a temporary index: the work tree, the real index and every ref are untouched,
        so a failure here leaves the repository exactly as it was. ``sign``: see ``SIGN``.
        """
        index_file = self.cache_dir() / f"index.{os.getpid()}"
        index_file.parent.mkdir(parents=True, exist_ok=True)
        genv = {"GIT_INDEX_FILE": str(index_file), **(env or {})}
        try:
            self.run(["read-tree", parent], genv)
            for path, data in sorted(changes.items()):
                if data is None:
                    self.run(["update-index", "--force-remove", "--", path], genv)
                else:
                    sha = self.run(["hash-object", "-w", "--stdin"], genv, data).strip()
                    self.run(["update-index", "--add", "--cacheinfo", f"100644,{sha},{path}"], genv)
            tree = self.run(["write-tree"], genv).strip()
            args = ["commit-tree", tree, "-p", parent]
            for p in extra_parents:
                args += ["-p", p]
            return self.run([*args, *_sign_args(sign), "-F", "-"], genv, message.encode()).strip()
        finally:
            index_file.unlink(missing_ok=True)

    def commit_with_tree(
        self,
        tree: str,
        parents: tuple[str, ...],
        message: str,
        env: Mapping[str, str] | None,
        sign: bool = False,
    ) -> str:
        genv = dict(env or {})
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        return self.run([*args, *_sign_args(sign), "-F", "-"], genv, message.encode()).strip()

    def update_ref(self, ref: str, new: str, old: str | None) -> None:
        """Move ``ref`` to ``new`` only if it still points at ``old`` (None: must not exist)."""
        self.git("update-ref", "-m", "jitctl", ref, new, old or "0" * 40)

    def sync_worktree(self, branch: str, old: str, new: str) -> None:
        """After a ref move, bring a clean work tree on ``branch`` along (old -> new)."""
        if self.current_branch() != branch or self.repo.bare:
            return
        self.git("read-tree", "-m", "-u", old, new)

    def run(
        self, args: list[str], env: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> str:
        """Run ``git ARGS`` in this repository with ``env`` over the process environment."""
        proc = subprocess.run(
            ["git", *args],
            cwd=self.repo.working_tree_dir or self.repo.git_dir,
            env={**os.environ, **(env or {})},
            input=data,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip()
            raise JitError(f"git {args[0]}: {msg}", rule="git")
        return proc.stdout.decode()


def _sign_args(sign: bool) -> list[str]:
    """``-S``: git signs the commit with the repository's signing setup (``gpg.format``, e.g.
    ``ssh``, and ``user.signingKey``); a missing key fails the commit (nothing is written).
    ``git commit-tree`` ignores ``commit.gpgSign``, so jitctl asks for it explicitly."""
    return ["-S"] if sign else []


def parse_cat_file_batch(out: bytes, wanted: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    """``git cat-file --batch`` output for ``wanted`` (in the order written) -> id -> (object
    type, contents); an id git does not have maps to ("missing", b"")."""
    found: dict[str, tuple[str, bytes]] = {}
    pos = 0
    for sha in wanted:
        eol = out.index(b"\n", pos)
        header = out[pos:eol].split()
        pos = eol + 1
        if len(header) == 2 and header[1] == b"missing":
            found[sha] = ("missing", b"")
            continue
        size = int(header[2])
        found[sha] = (header[1].decode(), out[pos : pos + size])
        pos += size + 1
    return found
