"""Adapter: the git repository. Trees at a ref, diffs, blobs, commits, pushes.

Everything the core needs from git comes through here, as plain values. Errors become JitError.
Commands run as git processes, as GitPython ran them (``_call``); GitPython itself (~0.1 s to
import) is loaded only for a path inside a work tree's git directory (``repo``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from controller.core.errors import JitError
from controller.core.model import GRANTS_DIR, FileChange

if TYPE_CHECKING:
    import git

_READ_SIZE = 1 << 20  # bytes read from ``git cat-file`` at a time

_STATUS = {"A": FileChange.ADDED, "M": FileChange.MODIFIED, "D": FileChange.DELETED}


@dataclass(frozen=True)
class Entry:
    """A file in a tree: its path, git mode and blob id."""

    path: str
    mode: int
    sha: str


class GitFailed(Exception):
    """A git command run by :meth:`GitRepo._call` exited non-zero."""

    def __init__(self, status: int, stderr: str) -> None:
        super().__init__(status, stderr)
        self.status = status
        self.stderr = stderr


class GitRepo:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._given = path
        found = _discover(path)
        if found is None:  # inside the git directory of a work tree: as GitPython finds it
            repo = self.repo
            tree = None if repo.working_tree_dir is None else os.fspath(repo.working_tree_dir)
            found = _Found(tree, os.fspath(repo.git_dir), os.fspath(repo.common_dir), repo.bare)
        self._work_tree = None if found.work_tree is None else Path(found.work_tree)
        self._git_dir = Path(found.git_dir)
        self._common_dir = Path(found.common_dir)
        self.bare = found.bare
        self.path = self._work_tree or self._git_dir

    @functools.cached_property
    def repo(self) -> git.Repo:
        """The repository as GitPython sees it, made on first use (what a read needs does not
        use it)."""
        import git
        from git.exc import InvalidGitRepositoryError, NoSuchPathError

        try:
            return git.Repo(self._given, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise JitError(
                f"{self._given}: not a git repository (give --repo)", rule="git"
            ) from None

    def close(self) -> None:
        if "repo" in self.__dict__:
            self.repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def _call(self, *args: str) -> str:
        """``git ARGS`` run as GitPython ran it: in the work tree (or git directory), English
        messages, no input, the output decoded (undecodable bytes kept as surrogates) and one
        trailing newline dropped. Raises GitFailed on a non-zero exit."""
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.path,
                env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise JitError(f"cannot run git {args[0]}: {exc.strerror}", rule="git") from None
        if proc.returncode != 0:
            raise GitFailed(proc.returncode, _decode(proc.stderr))
        return _decode(proc.stdout)

    def git(self, *args: str) -> str:
        try:
            return self._call(*args)
        except GitFailed as exc:
            reason = _git_reason(exc) or f"failed with exit code {exc.status}"
            raise JitError(f"git {' '.join(args[:3])}: {reason}", rule="git") from None

    def rev(self, ref: str) -> str:
        """The commit id a ref names. Raises JitError for an unknown ref, or with git's own
        reason when git refuses the repository (e.g. "detected dubious ownership")."""
        try:
            return self._call("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except GitFailed as exc:
            reason = _git_reason(exc)
            if reason:
                raise JitError(f"git rev-parse {ref}: {reason}", rule="git") from None
            raise JitError(f"unknown git ref {ref!r}", rule="git") from None

    def merge_base(self, a: str, b: str) -> str:
        try:
            return self._call("merge-base", a, b).strip()
        except GitFailed as exc:
            reason = _git_reason(exc)
            if reason:
                raise JitError(f"git merge-base: {reason}", rule="git") from None
            raise JitError(
                f"{a[:12]} and {b[:12]} share no history (unrelated histories); a change must "
                "branch from the branch it goes into",
                rule="git",
            ) from None

    def is_ancestor(self, a: str, b: str) -> bool:
        try:
            self._call("merge-base", "--is-ancestor", a, b)
            return True
        except GitFailed:
            return False

    def entries(self, ref: str, under: str = GRANTS_DIR) -> list[Entry]:
        """Every file under ``under`` at ``ref`` (recursively), with mode and blob id."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", self.rev(ref), "--", under + "/")
        return list(_ls_tree_files(out))

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
                return {e.path: e for e in _ls_tree_files(out) if e.path in asked}
        for start in range(0, len(wanted), 2000):  # stay under the command line limit
            chunk = wanted[start : start + 2000]
            asked = set(chunk)
            out = self.git("ls-tree", "-z", "--full-tree", sha, "--", *chunk)
            found.update((e.path, e) for e in _ls_tree_files(out) if e.path in asked)
        return found

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Blob contents by id, all through one ``git cat-file --batch`` run."""
        return dict(self.stream_blobs(shas))

    def stream_blobs(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(id, contents) of each blob, in the order asked (each id once), as ``git cat-file
        --batch --buffer`` writes them: the caller works on one blob while git reads the next,
        and never holds them all. One git process; its input is a temporary file of the ids
        (no pipe to keep fed, no dead-lock, no thread waiting for the interpreter while git
        waits for ids). An id that is missing or not a blob raises JitError; stopping early
        stops git."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return
        with tempfile.TemporaryFile() as ids, tempfile.TemporaryFile() as err:
            ids.write("".join(f"{sha}\n" for sha in wanted).encode())
            ids.seek(0)
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch", "--buffer"],
                cwd=self._git_dir,
                stdin=ids,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            assert proc.stdout is not None
            with contextlib.suppress(OSError, AttributeError):  # Linux: let git run ahead
                fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, _READ_SIZE)
            done = False
            try:
                # read in large pieces and cut the records out of them: a read call per blob
                # costs more than parsing the blob
                fd, buf, pos = proc.stdout.fileno(), b"", 0
                for sha in wanted:
                    eol = buf.find(b"\n", pos)
                    while eol < 0:
                        more = os.read(fd, _READ_SIZE)
                        if not more:
                            raise _cat_file_error(proc, err, sha, [])
                        buf, pos = buf[pos:] + more, 0
                        eol = buf.find(b"\n")
                    header = buf[pos:eol].split()
                    if len(header) != 3 or header[1] != b"blob":
                        raise _cat_file_error(proc, err, sha, header)
                    start = eol + 1
                    end = start + int(header[2])
                    while len(buf) <= end:  # the blob and the newline after it
                        more = os.read(fd, max(_READ_SIZE, end + 1 - len(buf)))
                        if not more:
                            raise _cat_file_error(proc, err, sha, [])
                        buf, start, end = buf[pos:] + more, start - pos, end - pos
                        pos = 0
                    yield sha, buf[start:end]
                    pos = end + 1
                done = True
            finally:
                if not done:
                    proc.kill()
                proc.stdout.close()
                proc.wait()
            if proc.returncode != 0:
                raise _cat_file_error(proc, err, None, [])

    def has_commit(self, sha: str) -> bool:
        try:
            self._call("cat-file", "-e", f"{sha}^{{commit}}")
            return True
        except GitFailed:
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
            out = self._call("grep", "-l", "-z", "-F", *patterns, sha, "--", under + "/")
        except GitFailed as exc:
            if exc.status == 1:
                return []
            reason = _git_reason(exc) or f"failed with exit code {exc.status}"
            raise JitError(f"git grep: {reason}", rule="git") from None
        prefix = sha + ":"
        return [p.removeprefix(prefix) for p in out.split("\0") if p]

    def commit_message(self, ref: str) -> str:
        return self.git("log", "-1", "--format=%B", self.rev(ref))

    def current_branch(self) -> str | None:
        try:
            return self._call("symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
        except GitFailed:
            return None

    def default_branch(self) -> str:
        """origin/HEAD's branch if known, else main or master, else the current branch."""
        try:
            ref = self._call("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
            return ref.removeprefix("refs/remotes/origin/")
        except GitFailed:
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
            self._call("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
            return True
        except GitFailed:
            return False

    def is_clean(self) -> bool:
        """No change to a tracked file, staged or not (untracked files do not count); a bare
        repository is clean. The two ``git diff`` GitPython's ``is_dirty()`` ran."""
        if self.bare:
            return True
        raw = ("--abbrev=40", "--full-index", "--raw")
        if (self._git_dir / "index").is_file() and self.git("diff", "--cached", *raw):
            return False
        return not self.git("diff", *raw)

    def config_value(self, key: str) -> str | None:
        try:
            return self._call("config", "--get", key).strip() or None
        except GitFailed:
            return None

    def cache_dir(self) -> Path:
        return self._git_dir / "jitctl"

    @property
    def git_dir(self) -> Path:
        """This work tree's git directory (``.git``, or ``.git/worktrees/<name>``)."""
        return self._git_dir

    @property
    def common_dir(self) -> Path:
        """The git directory shared by every work tree (refs, objects)."""
        return self._common_dir

    def is_shallow(self) -> int:
        """0 for a complete clone; else how many commits have their parents cut off."""
        try:
            text = (self.common_dir / "shallow").read_text("ascii", errors="replace")
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise JitError(f"{self.common_dir / 'shallow'}: {exc.strerror}", rule="io") from None
        return len([line for line in text.splitlines() if line.strip()])

    def operation_in_progress(self) -> str | None:
        """A git operation this work tree is in the middle of (rebase, merge, ...), if any."""
        for name, what in _IN_PROGRESS:
            if (self.git_dir / name).exists():
                return what
        return None

    def worktrees(self) -> list[Worktree]:
        """Every work tree of the repository, with the branch it has checked out (or is
        rebasing: during a rebase the branch is detached but still in use)."""
        out = self.git("worktree", "list", "--porcelain", "-z")
        trees: list[Worktree] = []
        path: str | None = None
        branch: str | None = None
        bare = False
        for field in [*out.split("\0"), ""]:
            if field.startswith("worktree "):
                path = field.removeprefix("worktree ")
            elif field.startswith("branch "):
                branch = field.removeprefix("branch ")
            elif field == "bare":
                bare = True
            elif field == "" and path is not None:
                trees.append(Worktree(path, branch, bare))
                path, branch, bare = None, None, False
        gitdirs = {self.common_dir.resolve()}
        wt_root = self.common_dir / "worktrees"
        if wt_root.is_dir():
            gitdirs.update(p.resolve() for p in wt_root.iterdir() if p.is_dir())
        rebasing: dict[str, str] = {}
        for gd in gitdirs:
            for sub in ("rebase-merge", "rebase-apply"):
                try:
                    name = (gd / sub / "head-name").read_text("utf-8", errors="replace").strip()
                except OSError:
                    continue
                rebasing[str(gd)] = name
        if rebasing:
            for i, t in enumerate(trees):
                own = self._gitdir_of(t.path)
                if own is not None and str(own) in rebasing:
                    trees[i] = Worktree(t.path, t.branch, t.bare, rebasing[str(own)])
        return trees

    def _gitdir_of(self, worktree: str) -> Path | None:
        dot = Path(worktree) / ".git"
        try:
            if dot.is_dir():
                return dot.resolve()
            text = dot.read_text("utf-8", errors="replace").strip()
        except OSError:
            return None
        if not text.startswith("gitdir:"):
            return None
        gd = Path(text.removeprefix("gitdir:").strip())
        return (dot.parent / gd).resolve() if not gd.is_absolute() else gd.resolve()

    # --- writing -------------------------------------------------------------------------

    def write_blobs(self, datas: Sequence[bytes]) -> list[str]:
        """Write blobs into the object store: one ``git hash-object -w --stdin-paths`` for all
        of them (contents go through temporary files; no filters: the bytes are the blob)."""
        if not datas:
            return []
        tmp = self._tmp_dir()
        try:
            paths = []
            for i, data in enumerate(datas):
                f = tmp / f"blob{i}"
                f.write_bytes(data)
                paths.append(str(f))
            out = self.run(
                ["hash-object", "-w", "--no-filters", "--stdin-paths"],
                data="".join(p + "\n" for p in paths).encode(),
            )
        except OSError as exc:
            raise JitError(
                f"{exc.filename or tmp}: cannot write: {exc.strerror}", rule="io"
            ) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        shas = out.split()
        if len(shas) != len(datas):
            raise JitError("git hash-object: unexpected output", rule="git")
        return shas

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

        Built in a temporary index with a fixed number of git processes whatever the number of
        paths (read-tree, one hash-object for every blob, one ``update-index --index-info``,
        write-tree, commit-tree): the work tree, the real index and every ref are untouched,
        so a failure here leaves the repository exactly as it was (at most unreferenced
        objects, which ``git gc`` prunes). ``sign``: see ``SIGN``.
        """
        adds = sorted(p for p, d in changes.items() if d is not None)
        shas = dict(zip(adds, self.write_blobs([changes[p] or b"" for p in adds]), strict=True))
        records = []
        for path in sorted(changes):
            if path in shas:
                records.append(f"100644 {shas[path]}\t{path}\0")
            else:
                records.append(f"0 {ZERO_SHA}\t{path}\0")
        tmp = self._tmp_dir()
        genv = {"GIT_INDEX_FILE": str(tmp / "index")}
        try:
            self.run(["read-tree", parent], genv)
            self.run(["update-index", "-z", "--index-info"], genv, "".join(records).encode())
            tree = self.run(["write-tree"], genv).strip()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.commit_with_tree(tree, (parent, *extra_parents), message, env, sign)

    def commit_with_tree(
        self,
        tree: str,
        parents: tuple[str, ...],
        message: str,
        env: Mapping[str, str] | None,
        sign: bool = False,
    ) -> str:
        """The one place jitctl writes a commit object (a seam for signing)."""
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        return self.run(
            [*args, *_sign_args(sign), "-F", "-"], dict(env or {}), message.encode()
        ).strip()

    def update_ref(self, ref: str, new: str, old: str | None) -> None:
        """Move ``ref`` to ``new`` only if it still points at ``old`` (None: must not exist)."""
        self.git("update-ref", "-m", "jitctl", ref, new, old or ZERO_SHA)

    def _tmp_dir(self) -> Path:
        base = self.cache_dir()
        try:
            base.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="tmp-", dir=base))
        except OSError as exc:
            raise JitError(
                f"{exc.filename or base}: cannot write in the git directory: {exc.strerror}",
                rule="io",
            ) from None

    def run(
        self, args: list[str], env: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> str:
        """Run ``git ARGS`` in this repository with ``env`` over the process environment."""
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.path,
                env={**os.environ, **(env or {})},
                input=data,
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise JitError(f"cannot run git {args[0]}: {exc.strerror}", rule="git") from None
        if proc.returncode != 0:
            msg = _first_lines(proc.stderr.decode(errors="replace"))
            raise JitError(f"git {args[0]}: {msg or f'exit code {proc.returncode}'}", rule="git")
        return proc.stdout.decode()


def _sign_args(sign: bool) -> list[str]:
    """``-S``: git signs the commit with the repository's signing setup (``gpg.format``, e.g.
    ``ssh``, and ``user.signingKey``); a missing key fails the commit (nothing is written).
    ``git commit-tree`` ignores ``commit.gpgSign``, so jitctl asks for it explicitly."""
    return ["-S"] if sign else []


ZERO_SHA = "0" * 40
_IN_PROGRESS = (
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase (or git am)"),
    ("MERGE_HEAD", "a merge"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("sequencer", "a cherry-pick or revert"),
    ("BISECT_LOG", "a bisect"),
)


@dataclass(frozen=True)
class Worktree:
    path: str
    branch: str | None  # refs/heads/<name> checked out, None when detached
    bare: bool = False
    rebasing: str | None = None  # refs/heads/<name> being rebased there


def _first_lines(text: str) -> str:
    """git's own reason, on one line (its hints dropped)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith("hint:")]
    return " ".join(keep[:3])


def _git_reason(exc: GitFailed) -> str:
    return _first_lines(exc.stderr.strip("'\n "))


def _decode(out: bytes) -> str:
    return out.removesuffix(b"\n").decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class _Found:
    work_tree: str | None  # None: a bare repository
    git_dir: str
    common_dir: str
    bare: bool


def _discover(path: str | os.PathLike[str]) -> _Found | None:
    """The repository at or above ``path``, found by git itself (one ``git rev-parse``), with
    its paths spelled as GitPython spelt them (``path`` made absolute, symlinks left as given).
    None when ``path`` is inside the git directory of a repository with a work tree."""
    where = os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))
    not_a_repo = JitError(f"{path}: not a git repository (give --repo)", rule="git")
    if not os.path.isdir(where):
        raise not_a_repo
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--is-bare-repository", "--is-inside-git-dir",
             "--absolute-git-dir", "--path-format=absolute", "--git-common-dir", "--show-cdup"],
            cwd=where,
            env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )  # fmt: skip
    except OSError as exc:
        raise JitError(f"cannot run git rev-parse: {exc.strerror}", rule="git") from None
    if proc.returncode != 0:
        stderr = _decode(proc.stderr)
        if "not a git repository" in stderr:
            raise not_a_repo
        reason = _first_lines(stderr) or f"failed with exit code {proc.returncode}"
        raise JitError(f"git rev-parse: {reason}", rule="git")
    bare, in_git_dir, git_dir, common_dir, *cdup = _decode(proc.stdout).split("\n")
    if bare == "true":
        git_dir = _as_reached(where, git_dir)
        return _Found(None, git_dir, _as_reached(git_dir, common_dir), True)
    if in_git_dir == "true" or not cdup:
        return None
    top = _as_reached(where, os.path.normpath(os.path.join(os.path.realpath(where), cdup[0])))
    dotgit = os.path.join(top, ".git")
    if os.path.isfile(dotgit):  # a linked work tree or a submodule: "gitdir: <path>"
        with open(dotgit, encoding="utf-8", errors="surrogateescape") as f:
            written = f.read().removeprefix("gitdir:").strip()
        dotgit = os.path.normpath(os.path.join(top, written))
    git_dir = dotgit if _same(dotgit, git_dir) else git_dir
    return _Found(top, git_dir, git_dir if _same(git_dir, common_dir) else common_dir, False)


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _as_reached(where: str, real: str) -> str:
    """``real`` (a resolved path) as reached from ``where`` by going up, symlinks unresolved
    (GitPython's walk up from the path given); ``real`` itself when going up never gets there."""
    here = where
    while not _same(here, real):
        parent = os.path.dirname(here)
        if parent == here:
            return real
        here = parent
    return here


def _ls_tree_files(out: str) -> Iterator[Entry]:
    """The files of ``git ls-tree -z`` output: blobs, and gitlinks too (a gitlink under
    grants/ is refused by its mode, never skipped); trees are left out."""
    for record in out.split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind in ("blob", "commit"):
                yield Entry(path, int(mode, 8), sha)


def _cat_file_error(
    proc: subprocess.Popen[bytes], err: IO[bytes], sha: str | None, header: Sequence[bytes]
) -> JitError:
    if len(header) == 2 and header[1] == b"missing":
        return JitError(f"git object {sha} is missing", rule="git")
    if len(header) == 3 and header[1] != b"blob":
        return JitError(f"git object {sha} is not a blob", rule="git")
    proc.kill()
    proc.wait()
    err.seek(0)
    reason = _first_lines(err.read().decode(errors="replace"))
    return JitError(f"git cat-file: {reason or 'output ended early'}", rule="git")


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
