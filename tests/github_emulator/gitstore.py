"""A real bare git repository, driven through the ``git`` command line.

Everything the emulator knows about branches, commits, trees and blobs lives here: a branch
is a real ref, a merge is a real commit made with ``git merge-tree --write-tree`` and
``git commit-tree``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40


class GitError(Exception):
    """A git command failed."""


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: str  # ISO 8601 with zone, e.g. 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added | removed | modified
    sha: str  # blob sha after the change (before, when removed)
    additions: int
    deletions: int
    patch: str
    previous_filename: str | None = None


class GitStore:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last_returncode = 0
        # (GNUPGHOME, key): sign the commits GitHub itself makes (committer noreply@github.com)
        # with this key, as GitHub signs them with its web-flow key
        self.signing: tuple[Path, str] | None = None

    @classmethod
    def init_bare(cls, path: Path, default_branch: str) -> GitStore:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            check=True,
            capture_output=True,
        )
        return cls(path)

    # -- plumbing -------------------------------------------------------------------------

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> str:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        full_env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=input,
            capture_output=True,
            env=full_env,
            check=False,
        )
        if proc.returncode not in ok_codes:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        self.last_returncode = proc.returncode
        return proc.stdout.decode()

    def resolve(self, rev: str, kind: str = "commit") -> str | None:
        """The sha of ``rev`` peeled to ``kind``, or None."""
        if rev.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{{kind}}}", ok_codes=(0, 1))
        return out.strip() or None

    def object_type(self, sha: str) -> str | None:
        out = self.git("cat-file", "-t", sha, ok_codes=(0, 1, 128))
        return out.strip() or None

    def ref_sha(self, ref: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", ref, ok_codes=(0, 1))
        return out.strip() or None

    def list_refs(self, prefix: str = "refs/") -> list[tuple[str, str]]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return [(n, s) for n, s in (line.split(" ") for line in out.splitlines())]

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        """Move ``ref`` to ``new``; ``old`` (ZERO_SHA: must not exist) guards the update."""
        args = ["update-ref", ref, new] + ([old] if old is not None else [])
        self.git(*args)

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)

    # -- reading --------------------------------------------------------------------------

    def commit_info(self, sha: str) -> CommitInfo:
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        out = self.git("show", "-s", f"--format={fmt}", sha)
        parts = out.split("\x00", 9)
        return CommitInfo(
            sha=parts[0],
            tree=parts[1],
            parents=tuple(parts[2].split()),
            author=Signature(parts[3], parts[4], _utc(parts[5])),
            committer=Signature(parts[6], parts[7], _utc(parts[8])),
            message=parts[9].rstrip("\n"),
        )

    def verified(self, sha: str) -> bool:
        """What GitHub's ``verification.verified`` says: the commit carries an OpenPGP signature
        that verifies against GitHub's own (web-flow) key, the only key the emulator knows."""
        if self.signing is None:
            return False
        raw = self.git("cat-file", "commit", sha)
        if "\ngpgsig " not in raw.partition("\n\n")[0]:
            return False
        home, _ = self.signing
        self.git(
            "-c", "gpg.program=gpg", "verify-commit", sha,
            env={"GNUPGHOME": str(home)}, ok_codes=(0, 1),
        )  # fmt: skip
        return self.last_returncode == 0

    def ls_tree(self, tree: str, recursive: bool = False, path: str = "") -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(tree)
        if path:
            args.append(path)
        entries = []
        for rec in self.git(*args).split("\x00"):
            if not rec:
                continue
            meta, name = rec.split("\t", 1)
            mode, typ, sha, size = meta.split()
            entries.append(TreeEntry(mode, typ, sha, name, None if size == "-" else int(size)))
        return entries

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry at ``path`` in ``commit`` ("" is the root tree)."""
        if not path:
            tree = self.commit_info(commit).tree
            return TreeEntry("040000", "tree", tree, "", None)
        found = self.ls_tree(commit, path=path.rstrip("/"))
        match = [e for e in found if e.path == path.rstrip("/")]
        return match[0] if match else None

    def blob(self, sha: str) -> bytes:
        proc = subprocess.run(
            ["git", "-C", str(self.path), "cat-file", "blob", sha],
            capture_output=True,
            check=False,
        )
        if proc.returncode:
            raise GitError(proc.stderr.decode(errors="replace"))
        return proc.stdout

    def merge_base(self, a: str, b: str) -> str | None:
        out = self.git("merge-base", a, b, ok_codes=(0, 1))
        return out.strip() or None

    def is_ancestor(self, a: str, b: str) -> bool:
        self.git("merge-base", "--is-ancestor", a, b, ok_codes=(0, 1))
        return self.last_returncode == 0

    def rev_list(self, exclude: str | None, head: str) -> list[str]:
        """Commits reachable from ``head`` and not from ``exclude``, oldest first."""
        args = ["rev-list", "--reverse", "--topo-order", head]
        if exclude:
            args.append(f"^{exclude}")
        return self.git(*args).split()

    def diff_files(self, base: str, head: str, renames: bool = False) -> list[FileChange]:
        """The changed files, in path order; with ``renames`` (like a PR's file list) renamed
        and copied files are reported as such, with their previous name."""
        detect = ["-M", "-C"] if renames else ["--no-renames"]
        raw = self.git("diff-tree", "-r", *detect, "-z", base, head).split("\x00")
        numstat = self.git("diff-tree", "-r", *detect, "--numstat", "-z", base, head)
        counts: dict[str, tuple[int, int]] = {}
        recs = iter(numstat.split("\x00"))
        for rec in recs:
            if not rec.strip():
                continue
            add, dele, name = rec.split("\t", 2)
            if not name:  # a rename: the old and the new name follow
                next(recs)
                name = next(recs)
            counts[name] = (int(add) if add != "-" else 0, int(dele) if dele != "-" else 0)
        # every patch from one git process (one per file costs seconds for thousands of files)
        whole = self.git("diff", "--no-color", "--no-ext-diff", *detect, base, head)
        patches = ["diff --git " + p for p in ("\n" + whole).split("\ndiff --git ")[1:]]
        changes = []
        it = iter(r for r in raw if r)
        for i, meta in enumerate(it):
            letter = meta.lstrip(":").split()[4]
            old_sha, new_sha = meta.lstrip(":").split()[2:4]
            previous = next(it) if letter[0] in "RC" else None
            name = next(it)
            status = {"A": "added", "D": "removed", "R": "renamed", "C": "copied"}.get(
                letter[0], "modified"
            )
            patch = patches[i] if i < len(patches) else ""
            hunks = patch.split("\n@@", 1)
            adds, dels = counts.get(name, (0, 0))
            changes.append(
                FileChange(
                    filename=name,
                    status=status,
                    sha=old_sha if status == "removed" else new_sha,
                    additions=adds,
                    deletions=dels,
                    patch="@@" + hunks[1] if len(hunks) == 2 else "",
                    previous_filename=previous,
                )
            )
        return changes

    # -- writing --------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", input=data).strip()

    def build_tree(self, base_tree: str | None, changes: list[tuple[str, str, str | None]]) -> str:
        """A new tree: ``base_tree`` with (path, mode, blob-or-tree sha | None=delete) applied."""
        with tempfile.TemporaryDirectory(prefix="emu-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            worktree = ["--work-tree", tmp]
            if base_tree:
                self.git("read-tree", base_tree, env=env)
            else:
                self.git("read-tree", "--empty", env=env)
            for path, mode, sha in changes:
                if sha is None:
                    self.git(*worktree, "rm", "--cached", "-r", "-q", "--ignore-unmatch",
                             "--", path, env=env)  # fmt: skip
                elif mode == "040000":
                    self.git(*worktree, "rm", "--cached", "-r", "-q", "--ignore-unmatch",
                             "--", path, env=env)  # fmt: skip
                    self.git("read-tree", f"--prefix={path}/", sha, env=env)
                else:
                    self.git(*worktree, "update-index", "--add", "--cacheinfo",
                             f"{mode},{sha},{path}", env=env)  # fmt: skip
            return self.git("write-tree", env=env).strip()

    def commit_tree(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: Signature,
        committer: Signature,
    ) -> str:
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.date,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.date,
        }
        if self.signing is not None and committer.email == "noreply@github.com":
            home, key = self.signing
            env["GNUPGHOME"] = str(home)
            args = ["-c", "gpg.format=openpgp", "-c", "gpg.program=gpg", *args, f"-S{key}"]
        return self.git(*args, input=message.encode(), env=env).strip()

    def merge_tree(self, ours: str, theirs: str) -> str | None:
        """The merged tree of two commits, or None when they conflict."""
        out = self.git("merge-tree", "--write-tree", ours, theirs, ok_codes=(0, 1))
        if self.last_returncode == 1:
            return None
        return out.splitlines()[0].strip()

    def replay_tree(self, parent: str, onto: str, commit: str) -> str | None:
        """``commit``'s change (from ``parent``) applied onto ``onto``; None on conflict."""
        with tempfile.TemporaryDirectory(prefix="emu-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git("--work-tree", tmp, "read-tree", "-m", "-i", parent, onto, commit, env=env)
            out = self.git("write-tree", env=env, ok_codes=(0, 128))
            return out.strip() if self.last_returncode == 0 else None


def _utc(iso: str) -> str:
    """git's strict ISO date, normalised to Z when the offset is zero."""
    return iso[:-6] + "Z" if iso.endswith("+00:00") else iso
