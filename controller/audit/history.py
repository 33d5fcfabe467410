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

Proof of who made a commit: one more ``git cat-file --batch`` reads the raw objects of the
commits the audit judges; SSH signatures are verified in this process
(:mod:`controller.audit.signatures`); only OpenPGP-signed ones (GitHub's) go to git, in ONE
``git log --no-walk --stdin --format=%G?...`` (git runs gpg for each of those). What is trusted
is fixed by the audited tree alone: before the log, one ``git cat-file --batch`` reads
``catalog.yaml`` at REF and one more the files its ``audit`` key names (the SSH allowed-signers
file; GitHub's OpenPGP key, imported once into a keyring of the audit's own). The auditor's own
git configuration, keyring and allowed signers are never used. The log also lists the commits
that changed ``catalog.yaml`` (their blobs go into the same ``cat-file --batch``), so each change
is judged by the catalog as it was at its first parent, and the commits that changed the trust
files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from controller.audit.lifecycles import CommitRecord, CommitSignature, PathChange, Trust
from controller.audit.signatures import (
    PGP_ARMOR,
    SSH_ARMOR,
    AllowedKey,
    parse_allowed_signers,
    split_signed_commit,
    verify_ssh,
)
from controller.core.errors import JitError
from controller.core.model import GRANTS_DIR, Catalog, FileChange, Grant
from controller.core.policy import is_grant_path
from controller.core.times import MAX_TIME, MIN_TIME
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import parse_grant_file
from controller.formats.trailers import visible_trailers
from controller.git.repo import parse_cat_file_batch

CATALOG_PATH = "catalog.yaml"

_TRAILERS = "%(trailers:only,unfold,separator=%x1f,key_value_separator=%x1d)"
# sha, parents, author name/email/time, committer name/email/time, subject, trailers
_HEADER = ("%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%s", _TRAILERS)
# git's verdict on an OpenPGP signature: sha, status, signer, key, primary key fingerprint
_SIG_FORMAT = "%x1e%H%x00%G?%x00%GS%x00%GK%x00%GP"
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
            if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GNUPGHOME")
        }
        self.env["GIT_NO_REPLACE_OBJECTS"] = "1"
        self.processes = 0  # how many git processes this reader started (the benchmark prints it)
        self.config: list[str] = []  # extra ``-c`` settings (signature verification)

    def run(self, args: Sequence[str], data: bytes | None = None) -> bytes:
        self.processes += 1
        try:
            base = ["git", "-c", "log.showRoot=true", "-c", "log.showSignature=false"]
            proc = subprocess.run(
                [*base, *self.config, *args],
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
    """A commit's time. git accepts any date (year 10000 included): a date outside the years
    jitctl accepts is clamped to the nearest bound, so one odd commit cannot stop the audit."""
    try:
        value = int(epoch)
    except ValueError:
        return MIN_TIME
    low, high = int(MIN_TIME.timestamp()), int(MAX_TIME.timestamp())
    return datetime.fromtimestamp(min(max(value, low), high), UTC)


def _record(
    fields: Sequence[str],
    changes: tuple[PathChange, ...] = (),
    catalog: Catalog | None = None,
    catalog_problem: str | None = None,
    signature: CommitSignature | None = None,
) -> CommitRecord:
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
        signature=signature,
        catalog=catalog,
        catalog_problem=catalog_problem,
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


def _import_keys(data: bytes, gnupg: Path, env: Mapping[str, str]) -> str | None:
    """Import OpenPGP public keys into the audit's own keyring (one gpg process). Why not."""
    gpg = shutil.which("gpg")
    if gpg is None:
        return "gpg is not installed, so GitHub's signatures cannot be verified"
    try:
        proc = subprocess.run(
            [gpg, "--batch", "--quiet", "--no-tty", "--import"],
            input=data,
            env={**env, "GNUPGHOME": str(gnupg)},
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        return f"cannot run gpg: {exc.strerror}"
    if proc.returncode != 0:
        return "not an OpenPGP public key: " + proc.stderr.decode(errors="replace").strip()[:200]
    return None


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
        self.catalogs: dict[str, tuple[Catalog | None, str | None]] = {}
        self.trust = Trust()  # set by read(): what the audited tree says to trust
        self.tip_catalog: Catalog | None = None  # catalog.yaml at the audited ref
        self.trust_changes: list[CommitRecord] = []  # commits that changed the trust files
        self.ssh_keys: list[AllowedKey] = []  # the audited tree's allowed signers
        self.reviews: list[CommitRecord] = []  # set by read(): the break-glass review records

    @property
    def processes(self) -> int:
        return self.git.processes

    def read(self, ref: str) -> list[CommitRecord]:
        """Every commit on ``ref``'s first-parent chain that changed grants/, oldest first.
        Also sets ``reviews``: the break-glass review records (:meth:`_reviews`)."""
        with tempfile.TemporaryDirectory(prefix="jitctl-audit-") as tmp:
            trust_paths = self._trust(ref, Path(tmp))
            records = self._read(ref, trust_paths)
            self.reviews = self._reviews(ref)
            return records

    def _reviews(self, ref: str) -> list[CommitRecord]:
        """The break-glass reviews on ``ref``'s first-parent chain (``Jit-Kind: review``
        commits, which change no file), oldest first, each with its signature verdict and the
        catalog at its first parent: one git log, and only when there are reviews, one
        cat-file for the raw commits and one for the catalogs (plus git for OpenPGP ones)."""
        out = self.git.run(
            [
                "log", "--first-parent", "--no-color", "--encoding=UTF-8", "-z", "--reverse",
                "--fixed-strings", "--grep=Jit-Kind: review", f"--format={FORMAT}", ref,
            ]
        )  # fmt: skip
        found = [
            fields
            for fields, _ in _parse_log(out)
            if (_record(fields).value("Jit-Kind") or "").lower() == "review"
        ]
        if not found:
            return []
        signatures = self._signatures([(f[0], f[7]) for f in found])
        names = {f[0]: f"{f[0]}^:{CATALOG_PATH}" for f in found if f[1].split()}
        blobs = _cat_blobs(self.git, names.values())
        records = []
        for fields in found:
            name = names.get(fields[0])
            data = blobs.get(name) if name else None
            catalog: Catalog | None = None
            problem: str | None = f"no {CATALOG_PATH} in the parent commit"
            if data is not None:
                try:
                    catalog, problem = load_catalog(data, CATALOG_PATH), None
                except JitError as exc:
                    problem = str(exc)
            records.append(
                _record(fields, (), catalog, problem, signature=signatures.get(fields[0]))
            )
        return records

    def _trust(self, ref: str, tmp: Path) -> list[str]:
        """Read the audited tree's trust root and point git's verification at it alone."""
        gnupg = tmp / "gnupg"
        gnupg.mkdir(mode=0o700)
        (gnupg / "gpg.conf").write_text("trust-model always\nno-autostart\n")
        empty = tmp / "allowed_signers"
        empty.write_bytes(b"")
        self.git.config = [
            "-c", "gpg.program=gpg",
            "-c", f"gpg.ssh.allowedSignersFile={empty}",
        ]  # fmt: skip
        self.git.env["GNUPGHOME"] = str(gnupg)
        tip = _cat_blobs(self.git, [f"{ref}:{CATALOG_PATH}"]).get(f"{ref}:{CATALOG_PATH}")
        if tip is None:
            self.trust = Trust(problems=(f"no {CATALOG_PATH} at {ref}: nothing is trusted",))
            return []
        try:
            self.tip_catalog = load_catalog(tip, CATALOG_PATH)
            conf = self.tip_catalog.audit
        except JitError as exc:
            self.trust = Trust(problems=(f"{exc}: nothing is trusted",))
            return []
        problems: list[str] = []
        if conf.signers is None and conf.github_keys is None:
            problems.append(
                f"{CATALOG_PATH} at {ref} has no audit.signers or audit.github_keys: no commit "
                "can be proven to be jitctl's"
            )
        wanted = [p for p in (conf.signers, conf.github_keys) if p is not None]
        files = _cat_blobs(self.git, [f"{ref}:{p}" for p in wanted])
        ssh = github = False
        if conf.signers is not None:
            data = files.get(f"{ref}:{conf.signers}")
            if data is None:
                problems.append(f"audit.signers: {conf.signers} is missing at {ref}")
            else:
                self.ssh_keys, bad = parse_allowed_signers(data.decode("utf-8", "replace"))
                problems += [f"audit.signers: {conf.signers} {why}" for why in bad]
                ssh = True
        if conf.github_keys is not None:
            data = files.get(f"{ref}:{conf.github_keys}")
            if data is None:
                problems.append(f"audit.github_keys: {conf.github_keys} is missing at {ref}")
            elif (why := _import_keys(data, gnupg, self.git.env)) is not None:
                problems.append(f"audit.github_keys: {conf.github_keys}: {why}")
            else:
                github = True
        self.trust = Trust(
            ssh=ssh,
            github=github,
            github_bots=conf.github_bots,
            signers_path=conf.signers,
            github_keys_path=conf.github_keys,
            problems=tuple(problems),
        )
        return wanted

    def _read(self, ref: str, trust_paths: Sequence[str]) -> list[CommitRecord]:
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
                CATALOG_PATH,
                *trust_paths,
            ]
        )
        commits: list[tuple[list[str], list[_Raw], str | None]] = []
        catalog_blob: str | None = None  # catalog.yaml's blob at the current commit's parent
        catalog_blobs: set[str] = set()
        for fields, raws in _parse_log(out):
            grant_raws = [r for r in raws if is_grant_path(r.path)]
            if grant_raws:
                commits.append((fields, grant_raws, catalog_blob))
                if catalog_blob is not None:
                    catalog_blobs.add(catalog_blob)
            if any(r.path in trust_paths for r in raws):
                self.trust_changes.append(_record(fields))
            for r in raws:
                if r.path == CATALOG_PATH:
                    catalog_blob = None if r.new_sha == _ZERO else r.new_sha
        blobs = _cat_blobs(
            self.git,
            [
                *(sha for _, raws, _ in commits for r in raws for sha in (r.old_sha, r.new_sha)),
                *catalog_blobs,
            ],
        )
        signatures = self._signatures([(f[0], f[7]) for f, _, _ in commits])
        records = [
            _record(
                fields,
                self._changes(raws, blobs),
                *self._catalog(cat, blobs),
                signature=signatures.get(fields[0]),
            )
            for fields, raws, cat in commits
        ]
        return self._with_sides(records)

    def _signatures(self, commits: Sequence[tuple[str, str]]) -> dict[str, CommitSignature]:
        """Each commit's signature verdict (commits: sha and committer epoch): one cat-file for
        the raw commits, SSH checked here, OpenPGP by git (one git log over just those)."""
        shas = [sha for sha, _ in commits]
        if not shas:
            return {}
        out = self.git.run(["cat-file", "--batch"], ("\n".join(shas) + "\n").encode())
        objects = parse_cat_file_batch(out, shas)
        verdicts: dict[str, CommitSignature] = {}
        pgp: list[str] = []
        for sha, when in commits:
            raw = objects.get(sha, ("missing", b""))[1]
            head = raw.partition(b"\n\n")[0]
            if b"\ngpgsig " not in head:  # unsigned: nothing to split
                verdicts[sha] = CommitSignature("N")
                continue
            payload, sig = split_signed_commit(raw)
            if sig is None:
                verdicts[sha] = CommitSignature("N")
            elif sig.startswith(SSH_ARMOR):
                verdicts[sha] = verify_ssh(payload, sig, self.ssh_keys, _when(when))
            elif sig.startswith(PGP_ARMOR):
                pgp.append(sha)
            else:
                verdicts[sha] = CommitSignature("E")
        if pgp:
            out = self.git.run(
                ["log", "--no-walk=unsorted", "--stdin", "--no-color", f"--format={_SIG_FORMAT}"],
                ("\n".join(pgp) + "\n").encode(),
            )
            for item in _text(out).split("\x1e")[1:]:
                sha, status, signer, key, primary = (item.rstrip("\n").split("\0") + [""] * 5)[:5]
                verdicts[sha] = CommitSignature(status or "E", signer, key, primary)
        return verdicts

    def _catalog(
        self, blob: str | None, blobs: Mapping[str, bytes]
    ) -> tuple[Catalog | None, str | None]:
        """The catalog in a blob, parsed once per blob (None and why when there is none)."""
        if blob is None:
            return None, f"no {CATALOG_PATH} in the parent commit"
        hit = self.catalogs.get(blob)
        if hit is None:
            data = blobs.get(blob)
            if data is None:
                hit = (None, f"{CATALOG_PATH} blob {blob} is missing from the repository")
            else:
                try:
                    hit = (load_catalog(data, CATALOG_PATH), None)
                except JitError as exc:
                    hit = (None, str(exc))
            self.catalogs[blob] = hit
        return hit

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
    """The break-glass reviews on ``ref``'s first-parent chain, with their signatures judged
    against the audited tree's trust root (reads the history too: prefer ``HistoryReader``)."""
    reader = HistoryReader(repo_path)
    reader.read(ref)
    return reader.reviews
