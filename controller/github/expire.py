"""``jitctl expire`` on GitHub: one expiry PR from the fixed branch ``jit/expire``.

Level-triggered: every run recomputes from the default branch's current commit and converges
the branch and the PR to it (created | updated | closed | none), then merges it with the
``sha`` precondition once jitctl's own check passes.

Grant contents never travel through the REST API: the run reads the default branch's sha
through the API, fetches that commit with git into the local checkout (``--repo``, the
workflow's checkout), and parses the grants there (the parse cache: unchanged grants are not
parsed again). The deletions reach GitHub as ``POST /git/trees`` calls (``base_tree`` + ``sha:
null`` entries) of at most TREE_ENTRIES_PER_REQUEST deletions each, chained (each call's base is
the tree the previous one made), then one ``POST /git/commits`` and one ref write: 8 requests
up to 1,000 expired grants, one more per further 1,000. GitHub's tree must equal the tree
computed locally from the judged change, or nothing is published.

Safe when runs overlap: the branch moves only by fast-forward (the new commit's second parent
is the head it replaces, so GitHub's fast-forward check is a compare-and-swap), the commit is
deterministic (pinned identity and date), the PR is created at most once (a refused or unclear
create is followed by a re-read), and the merge names the verified head sha.

The expiry PR is merged with a merge commit by default (``merge_method``): then the branch's
commit is contained in the default branch the moment the PR merges, so GitHub itself refuses a
second PR from the same commit ("No commits between"), and "an open PR exists" turns into
"already merged" atomically: overlapping runs cannot open a duplicate. The merge commit carries
the trailers (``Jit-Kind: expiry``, ``Expired-Grant``, ``Jit-PR``); the branch commit carries
none. With ``squash`` a run that overlaps a merge can, rarely, open and then close a second PR.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import ChangeKind, FileChange, Grant
from controller.core.policy import ChangeSet, check_change, plan_expiry
from controller.core.times import format_rfc3339
from controller.formats.markdown import md
from controller.formats.trailers import PR, expiry_message
from controller.git.repo import GitRepo
from controller.git.snapshot import read_catalog, read_grant_files
from controller.github.forge import STATUS_CONTEXT, Forge, ForgeError, MergeOutcome, PullRequest
from controller.github.retry import Uncertain
from controller.github.status import split_message

BRANCH = "jit/expire"
ZERO = "0" * 40
# GitHub documents no entry limit for "Create a tree"; a request too large to finish in its time
# budget is refused with 422 "Sorry, your request timed out. It's likely that your input was too
# large to process. Consider building the tree incrementally". So the tree is built
# incrementally, this many deletions per request (about 80 KB of JSON); the test emulator
# refuses a larger request the same way.
TREE_ENTRIES_PER_REQUEST = 1000
# GitHub refuses a pull request body over 65,536 characters ("body is too long")
PR_BODY_LIMIT = 65536


@dataclass(frozen=True)
class GhExpireResult:
    action: str  # created | updated | closed | none
    expired: tuple[Grant, ...]
    pr: int | None
    merged: bool
    merge_commit: str | None
    dry_run: bool
    invalid: tuple[str, ...] = ()
    note: str = ""


def _git(
    repo: GitRepo, *args: str, data: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    return repo.run(list(args), env, data)


def fetch(repo: GitRepo, remote: str, base: str, token: str | None = None) -> str | None:
    """Fetch the default branch and jit/expire (git, not the API). Returns jit/expire's sha.

    With ``token`` (the forge's credentials) an HTTPS remote is fetched with it, handed to git
    through GIT_CONFIG_* environment variables: never on a command line, never written to
    .git/config, so a checkout with persist-credentials: false still works."""
    _git(
        repo, "fetch", "-q", "--no-tags", remote,
        f"+refs/heads/{base}:refs/remotes/{remote}/{base}",
        f"+refs/heads/{BRANCH}*:refs/remotes/{remote}/{BRANCH}*",
        env=git_auth_env(token),
    )  # fmt: skip
    out = _git(repo, "for-each-ref", "--format=%(objectname)", f"refs/remotes/{remote}/{BRANCH}")
    return out.strip() or None


def git_auth_env(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def local_tree(repo: GitRepo, commit: str, deletions: list[str]) -> str:
    """The tree of ``commit`` minus ``deletions``, in a temporary index (one git call each)."""
    index = repo.cache_dir() / f"index.expire.{os.getpid()}.{id(deletions)}"
    index.parent.mkdir(parents=True, exist_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        _git(repo, "read-tree", commit, env=env)
        info = "".join(f"0 {ZERO}\t{p}\n" for p in deletions).encode()
        _git(repo, "update-index", "--index-info", data=info, env=env)
        return _git(repo, "write-tree", env=env).strip()
    finally:
        index.unlink(missing_ok=True)


def _commit_shape(repo: GitRepo, sha: str) -> tuple[str, tuple[str, ...]] | None:
    if not repo.has_commit(sha):
        return None
    out = _git(repo, "show", "-s", "--format=%T %P", sha).split()
    return out[0], tuple(out[1:])


def branch_message(expired: tuple[Grant, ...]) -> str:
    """The branch commit's message: no trailers. The audit's record is the merge commit,
    whose message is ``expiry_message`` plus ``Jit-PR`` (as ``--local`` writes it)."""
    ids = ", ".join(g.id for g in expired)
    return f"jitctl: remove {len(expired)} expired grant(s)\n\n{ids}\n"


def pr_title(expired: tuple[Grant, ...]) -> str:
    return f"jitctl: expire {len(expired)} grant(s)"


def pr_body(expired: tuple[Grant, ...], now: datetime, limit: int = PR_BODY_LIMIT) -> str:
    """The expiry PR's description: a table of the grants it removes, cut to GitHub's limit on
    a body (thousands of expired grants); the commit lists them all, and the merge commit has
    one ``Expired-Grant`` trailer each."""
    lines = [
        "<!-- jitctl:expire -->",
        f"Removes the grants whose `expires_at` has passed (as of {format_rfc3339(now)}). "
        "Opened and kept up to date by `jitctl expire`; merged without human review because it "
        "only deletes expired grants (checked by `jitctl`).",
        "",
        "| grant | principal | entitlement | expired |",
        "|---|---|---|---|",
    ]
    size = sum(len(line) + 1 for line in lines)
    reserve = 200  # room for the closing line
    for i, g in enumerate(expired):
        row = (
            f"| {md(g.id)} | {md(g.principal)} | {md(g.entitlement)} | "
            f"{format_rfc3339(g.expires_at)} |"
        )
        if size + len(row) + 1 > limit - reserve:
            rest = len(expired) - i
            lines += [
                "",
                f"... and {rest} more: {len(expired)} grants in all, too many to list here (each "
                "is an `Expired-Grant` trailer of the merge commit).",
            ]
            break
        lines.append(row)
        size += len(row) + 1
    return "\n".join(lines) + "\n"


def expire_on_github(
    forge: Forge,
    repo: GitRepo,
    *,
    now: datetime,
    base: str,
    catalog_path: str | None = None,
    remote: str = "origin",
    merge: bool = True,
    dry_run: bool = False,
    rounds: int = 4,
    merge_method: str = "merge",
) -> GhExpireResult:
    action = "none"
    note = "did not converge: the default branch or jit/expire kept moving; run again"
    expired: tuple[Grant, ...] = ()
    invalid: tuple[str, ...] = ()
    number: int | None = None
    for _ in range(rounds):
        main_sha = forge.get_ref(base)
        if main_sha is None:
            raise JitError(f"branch {base} not found on GitHub", rule="github")
        remote_head = fetch(repo, remote, base, forge.git_token())
        if not repo.has_commit(main_sha):
            continue  # the branch moved between the API read and the fetch: read again
        files = read_grant_files(repo, main_sha)
        invalid = tuple(sorted(p for p, gf in files.items() if gf.grant is None))
        expired = plan_expiry([gf.grant for gf in files.values() if gf.grant is not None], now)
        pr = forge.find_pull(BRANCH, base)
        number = pr.number if pr else None
        if dry_run:
            return GhExpireResult("none", expired, number, False, None, True, invalid, "dry run")
        if not expired:
            if pr is not None:
                forge.update_pull(pr.number, state="closed")
                action = "closed"
            return GhExpireResult(action, expired, number, False, None, False, invalid, "")

        # Judge the change by the same engine, as a claimed expiry.
        paths = [g.path for g in expired]
        decision = check_change(
            ChangeSet(
                catalog=read_catalog(repo, main_sha, catalog_path),
                changed={p: FileChange.DELETED for p in paths},
                base={p: files[p] for p in paths},
                head={},
                author=None,
                now=now,
                claimed_kind=ChangeKind.EXPIRY,
            )
        )
        if not decision.ok or decision.kind is not ChangeKind.EXPIRY:
            raise JitError("the expiry change does not pass the check (a bug)", rule="github")

        # Converge the branch.
        want_tree = local_tree(repo, main_sha, paths)
        head = pr.head_sha if pr is not None else remote_head
        shape = _commit_shape(repo, head) if head else None
        if head and shape is not None and shape[0] == want_tree and shape[1][:1] == (main_sha,):
            commit = head  # already exactly this change
            moved = False
        else:
            tree = _git(repo, "rev-parse", f"{main_sha}^{{tree}}").strip()
            for start in range(0, len(paths), TREE_ENTRIES_PER_REQUEST):
                tree = forge.create_tree(tree, paths[start : start + TREE_ENTRIES_PER_REQUEST])
            if tree != want_tree:
                raise JitError(
                    f"GitHub built tree {tree[:12]}, not the judged {want_tree[:12]}; nothing "
                    "published",
                    rule="github",
                )
            msg = branch_message(expired)
            made = forge.create_commit(msg, tree, [main_sha, *([head] if head else [])], now)
            if not _set_branch(forge, head, made.sha):
                continue
            commit, moved = made.sha, True

        # Converge the PR.
        title, body = pr_title(expired), pr_body(expired, now)
        if pr is None:
            pr = _open_pull(forge, base, title, body)
            if pr is None:
                continue
            action = "created"
        elif moved or pr.title != title or pr.body != body:
            forge.update_pull(pr.number, title=title, body=body)
            action = "updated" if action == "none" else action
        number = pr.number
        forge.set_status(
            commit, "success", f"expiry: removes {len(expired)} expired grant(s)", STATUS_CONTEXT
        )
        if not merge:
            return GhExpireResult(action, expired, number, False, None, False, invalid, "left open")
        if pr.head_sha != commit or pr.base_sha != main_sha:
            pr = forge.get_pull(pr.number)
            if pr.state != "open" or pr.head_sha != commit or pr.base_sha != main_sha:
                continue  # something moved: recompute from the default branch
        message = dataclasses.replace(
            expiry_message(expired),
            trailers=(*expiry_message(expired).trailers, (PR, str(pr.number))),
        )
        mtitle, mrest = split_message(message.text())
        result = forge.merge(
            pr.number, sha=commit, title=mtitle, message=mrest, method=merge_method
        )
        if result.outcome is MergeOutcome.MERGED:
            return GhExpireResult(action, expired, number, True, result.sha, False, invalid, "")
        if result.outcome in (MergeOutcome.UNKNOWN, MergeOutcome.NOT_MERGEABLE):
            again = forge.get_pull(pr.number)
            if again.merged:
                return GhExpireResult(
                    action, expired, number, True, again.merge_commit_sha, False, invalid, ""
                )
            if (
                result.outcome is MergeOutcome.NOT_MERGEABLE
                and again.state == "open"
                and again.head_sha == commit
                and again.base_sha == main_sha
            ):
                note = f"left open: GitHub refused the merge ({result.message})"
                return GhExpireResult(action, expired, number, False, None, False, invalid, note)
        # HEAD_MOVED, INVALID, or an unclear answer: recompute from scratch
    return GhExpireResult(action, expired, number, False, None, False, invalid, note)


def _set_branch(forge: Forge, old: str | None, new: str) -> bool:
    """Point jit/expire at ``new``: create it, or fast-forward it from ``old``. False when
    another run got there first (the caller re-reads and converges)."""
    try:
        if old is None:
            forge.create_ref(BRANCH, new)
        else:
            forge.update_ref(BRANCH, new)
        return True
    except Uncertain:
        pass
    except ForgeError as exc:
        if exc.status != 422:
            raise
    return forge.get_ref(BRANCH) == new


def _open_pull(forge: Forge, base: str, title: str, body: str) -> PullRequest | None:
    try:
        return forge.create_pull(BRANCH, base, title, body)
    except Uncertain:
        pass
    except ForgeError as exc:
        if exc.status != 422:
            raise
    return forge.find_pull(BRANCH, base)  # created after all, or by another run
