"""Adapter: read the default branch's history into
:class:`~controller.audit.lifecycles.CommitRecord` values.

One pass over git, a fixed number of processes however long the history:

1. ``git log --first-parent --diff-merges=first-parent --raw --no-renames -z --reverse
   --format=<header with %(trailers:...)> REF -- grants/`` lists every commit on the first-parent
   chain that changed grants/, oldest first, with its trailers (parsed by git itself, with
   ``git interpret-trailers`` semantics) and the raw diff against its first parent (modes, blob
   ids, status, path);
2. one ``git cat-file --batch`` reads every grant blob those diffs name (each distinct blob
   once), parsed with :func:`~controller.formats.grantfile.parse_grant_file` (each (blob, path)
   once);
3. only if some merge carries ``Jit-Kind: request|extension|mixed``: one
   ``git log --no-walk=unsorted --stdin`` reads those merges' second parents (the request
   commits on the branch), header and trailers only.

No git command runs per commit or per file. Replace refs are ignored (``--no-replace-objects``)
so the audit reads the objects as they are.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from controller.audit.lifecycles import CommitRecord, PathChange
from controller.core.errors import JitError
from controller.core.model import GRANTS_DIR, FileChange, Grant
from controller.core.policy import is_grant_path
from controller.formats.grantfile import parse_grant_file
from controller.formats.trailers import visible_trailers
from controller.git.repo import parse_cat_file_batch

_TRAILERS = "%(trailers:only,unfold,separator=%x1f,key_value_separator=%x1d)"
# sha, parents, author name/email/time, committer name/email/time, subject, trailers
_HEADER = ("%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%s", _TRAILERS)
_NFIELDS = len(_HEADER)
FORMAT = "%x1e" + "%x00".join(_HEADER) + "%x00"
_ZERO = "0" * 40
_STATUS = {"A": FileChange.ADDED, "M": FileChange.MODIFIED, "D": FileChange.DELETED}
_SIDE_KINDS = ("request", "extension", "mixed")


@dataclass(frozen=True)
class _Raw:
    """One line of ``--raw`` output."""

    old_mode: int
    new_mode: int
    old_sha: str
    new_sha: str
    status: str
    path: str


class _Git:
    """Runs git in one repository with a fixed, config-independent environment."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
        }
        self.env["GIT_NO_REPLACE_OBJECTS"] = "1"
        self.processes = 0  # how many git processes this reader started (the benchmark prints it)

    def run(self, args: Sequence[str], data: bytes | None = None) -> bytes:
        self.processes += 1
        try:
            proc = subprocess.run(
                ["git", "-c", "log.showRoot=true", "-c", "log.showSignature=false", *args],
                cwd=self.path,
                env=self.env,
                input=data,
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise JitError(f"cannot run git: {exc.strerror}", rule="git") from None
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip()
            raise JitError(f"git {args[0]}: {msg}", rule="git")
        return proc.stdout


def _text(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


def _when(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _record(fields: Sequence[str], changes: tuple[PathChange, ...] = ()) -> CommitRecord:
    sha, parents, an, ae, at, cn, ce, ct, subject, trailers = fields
    pairs: list[tuple[str, str]] = []
    for item in trailers.split("\x1f"):
        key, sep, value = item.partition("\x1d")
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return CommitRecord(
        sha=sha,
        parents=tuple(parents.split()),
        author_name=an,
        author_email=ae,
        authored_at=_when(at),
        committer_name=cn,
        committer_email=ce,
        committed_at=_when(ct),
        subject=subject,
        trailers=visible_trailers(pairs),
        changes=changes,
    )


def _parse_log(out: bytes) -> Iterator[tuple[list[str], list[_Raw]]]:
    """Commits of ``git log -z --raw --format=FORMAT``: header fields and raw diff lines.

    Read field by field (NUL-separated), so nothing a commit message holds can shift a record.
    """
    tokens = _text(out).split("\0")
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i].lstrip("\n")
        if not tok.startswith("\x1e"):
            i += 1
            continue
        fields = [tok[1:], *tokens[i + 1 : i + _NFIELDS]]
        i += _NFIELDS
        raws: list[_Raw] = []
        while i < n:
            tok = tokens[i].lstrip("\n")
            if tok.startswith(":") and i + 1 < n:
                meta = tok[1:].split()
                raws.append(
                    _Raw(int(meta[0], 8), int(meta[1], 8), meta[2], meta[3], meta[4], tokens[i + 1])
                )
                i += 2
            elif tok == "":
                i += 1
            else:
                break
        if len(fields) == _NFIELDS:
            yield fields, raws


def _cat_blobs(git: _Git, shas: Iterable[str]) -> dict[str, bytes]:
    """Blob contents by id, from ONE ``git cat-file --batch`` (all ids written at once)."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    out = git.run(["cat-file", "--batch"], ("\n".join(wanted) + "\n").encode())
    return {
        sha: data
        for sha, (kind, data) in parse_cat_file_batch(out, wanted).items()
        if kind != "missing"
    }


def read_history(repo_path: str | os.PathLike[str], ref: str) -> list[CommitRecord]:
    """Every commit on ``ref``'s first-parent chain that changed grants/, oldest first."""
    return HistoryReader(repo_path).read(ref)


class HistoryReader:
    """Reads one repository's history; ``processes`` counts the git processes it started."""

    def __init__(self, repo_path: str | os.PathLike[str]) -> None:
        self.git = _Git(repo_path)
        self.parsed: dict[tuple[str, str, int], tuple[Grant | None, str | None]] = {}

    @property
    def processes(self) -> int:
        return self.git.processes

    def read(self, ref: str) -> list[CommitRecord]:
        """Every commit on ``ref``'s first-parent chain that changed grants/, oldest first."""
        out = self.git.run(
            [
                "log",
                "--first-parent",
                "--diff-merges=first-parent",
                "--raw",
                "--no-renames",
                "--no-abbrev",
                "--no-color",
                "--no-ext-diff",
                "--encoding=UTF-8",
                "-z",
                "--reverse",
                f"--format={FORMAT}",
                ref,
                "--",
                GRANTS_DIR + "/",
            ]
        )
        commits = [
            (fields, grant_raws)
            for fields, raws in _parse_log(out)
            if (grant_raws := [r for r in raws if is_grant_path(r.path)])
        ]
        blobs = _cat_blobs(
            self.git,
            (sha for _, raws in commits for r in raws for sha in (r.old_sha, r.new_sha)),
        )
        records = [_record(fields, self._changes(raws, blobs)) for fields, raws in commits]
        return self._with_sides(records)

    def _grant(
        self, path: str, sha: str, mode: int, blobs: Mapping[str, bytes]
    ) -> tuple[Grant | None, str | None]:
        if sha == _ZERO:
            return None, None
        key = (sha, path, mode)
        hit = self.parsed.get(key)
        if hit is None:
            data = blobs.get(sha)
            if data is None:
                hit = (None, f"blob {sha} is missing from the repository")
            else:
                gf = parse_grant_file(path, data, mode=mode)
                problem = "; ".join(f"[{f.rule}] {f.message}" for f in gf.findings) or None
                hit = (gf.grant, None if gf.grant is not None else problem)
            self.parsed[key] = hit
        return hit

    def _changes(self, raws: Sequence[_Raw], blobs: Mapping[str, bytes]) -> tuple[PathChange, ...]:
        out: list[PathChange] = []
        for r in raws:
            status = _STATUS.get(r.status[:1])
            if status is None:  # T (type change) and the like: read as a modification
                status = FileChange.MODIFIED
            before, _ = self._grant(r.path, r.old_sha, r.old_mode, blobs)
            after, problem = self._grant(r.path, r.new_sha, r.new_mode, blobs)
            out.append(PathChange(r.path, status, before, after, problem))
        return tuple(out)

    def _with_sides(self, records: list[CommitRecord]) -> list[CommitRecord]:
        """Attach each jit merge's second parent (the request commit), read in ONE git log."""
        wanted = {
            rec.parents[1]
            for rec in records
            if len(rec.parents) > 1 and (rec.value("Jit-Kind") or "").lower() in _SIDE_KINDS
        }
        if not wanted:
            return records
        out = self.git.run(
            ["log", "--no-walk=unsorted", "--stdin", "--no-color", "-z", f"--format={FORMAT}"],
            ("\n".join(sorted(wanted)) + "\n").encode(),
        )
        sides = {fields[0]: _record(fields) for fields, _ in _parse_log(out)}
        return [
            replace(rec, side=sides.get(rec.parents[1])) if len(rec.parents) > 1 else rec
            for rec in records
        ]


def read_reviews(repo_path: str | os.PathLike[str], ref: str) -> list[CommitRecord]:
    """The break-glass reviews on ``ref``'s first-parent chain (``Jit-Kind: review`` commits,
    which change no file), oldest first: one more git process."""
    out = _Git(repo_path).run(
        [
            "log",
            "--first-parent",
            "--no-color",
            "--encoding=UTF-8",
            "-z",
            "--reverse",
            "--fixed-strings",
            "--grep=Jit-Kind: review",
            f"--format={FORMAT}",
            ref,
        ]
    )
    records = [_record(fields) for fields, _ in _parse_log(out)]
    return [r for r in records if (r.value("Jit-Kind") or "").lower() == "review"]
