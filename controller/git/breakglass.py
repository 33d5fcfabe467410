"""Break-glass in a local repository: spot a break-glass request, compute its review deadline,
and record the after-the-fact review as an empty commit on the default branch (the audit's
record, like every other trailer).

A break-glass request (``Jit-Break-Glass: yes`` on the request branch) merges after the same
checks as any request but without approval, only for an entitlement with ``break_glass`` and
within its ``max_duration``; its merge carries ``Jit-Break-Glass: <id> <review_by>``. The
entitlement's approvers must then approve it (``jitctl review``) before ``review_by``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import GRANT_SUFFIX, GRANTS_DIR, Catalog, Grant, Review, ReviewState
from controller.core.policy import ApprovalOutcome, Decision, evaluate_approvals, team_members
from controller.core.times import parse_rfc3339
from controller.formats.trailers import (
    BREAK_GLASS,
    GRANT,
    KIND,
    REQUESTED_BY,
    REVIEW_KIND,
    parse_trailers,
    review_message,
    values,
)
from controller.git import txn
from controller.git.repo import GitRepo
from controller.git.snapshot import read_grant_files


def requested_on(repo: GitRepo, base: str, branch: str) -> bool:
    """Whether the branch's own newest request commit is marked ``Jit-Break-Glass: yes``."""
    log = repo.git("log", "--format=%B%x00", f"{repo.rev(base)}..{repo.rev(branch)}")
    for message in log.split("\0"):
        trailers = parse_trailers(message)
        if values(trailers, KIND):
            return any(v.strip().lower() == "yes" for v in values(trailers, BREAK_GLASS))
    return False


def review_deadline(catalog: Catalog, decision: Decision, now: datetime) -> datetime:
    """now + the shortest ``review_within`` among the change's entitlements."""
    windows = []
    for c in decision.changes:
        g = c.after
        ent = catalog.entitlements.get(g.entitlement) if g else None
        if ent is None or ent.break_glass is None:
            raise JitError("break-glass decision without break_glass in the catalog", rule="usage")
        windows.append(ent.break_glass.review_within)
    return now + min(windows)


@dataclass(frozen=True)
class BreakGlassMerge:
    """The merge that granted a break-glass grant: who asked, what, and the deadline."""

    commit: str
    grant_id: str
    requester: str | None
    review_by: datetime


def find_merge(repo: GitRepo, branch: str, grant_id: str) -> BreakGlassMerge | None:
    """The newest first-parent commit on ``branch`` with ``Jit-Break-Glass: <grant_id> ...``."""
    out = repo.git(
        "log",
        "--first-parent",
        "--format=%H%x00%B%x00",
        "--fixed-strings",
        f"--grep={BREAK_GLASS}: {grant_id} ",
        repo.rev(branch),
    )
    fields = out.split("\0")
    for i in range(0, len(fields) - 1, 2):
        sha, message = fields[i].strip(), fields[i + 1]
        trailers = parse_trailers(message)
        for value in values(trailers, BREAK_GLASS):
            parts = value.split()
            if len(parts) == 2 and parts[0] == grant_id:
                requesters = values(trailers, REQUESTED_BY)
                return BreakGlassMerge(
                    sha,
                    grant_id,
                    requesters[-1] if requesters else None,
                    parse_rfc3339(parts[1]),
                )
    return None


def reviewed(repo: GitRepo, branch: str, since: str, grant_id: str) -> bool:
    """Whether a review of ``grant_id`` is on ``branch`` after commit ``since``."""
    out = repo.git(
        "log",
        "--first-parent",
        "--format=%B%x00",
        "--fixed-strings",
        f"--grep={GRANT}: {grant_id}",
        f"{since}..{repo.rev(branch)}",
    )
    for message in out.split("\0"):
        trailers = parse_trailers(message)
        if REVIEW_KIND in [v.lower() for v in values(trailers, KIND)] and grant_id in values(
            trailers, GRANT
        ):
            return True
    return False


@dataclass(frozen=True)
class ReviewResult:
    merge: BreakGlassMerge
    grant: Grant
    approval: ApprovalOutcome
    commit: str | None  # None: refused
    late: bool  # recorded after review_by: the audit reports it


def review(
    repo: GitRepo,
    branch: str,
    catalog: Catalog,
    *,
    grant_id: str,
    approvers: Sequence[str],
    now: datetime,
    env: dict[str, str],
) -> ReviewResult:
    """Approve a break-glass grant after the fact, if the approvals meet its rules."""
    merge = find_merge(repo, branch, grant_id)
    if merge is None:
        raise JitError(
            f"no break-glass grant {grant_id!r} on {branch} (no Jit-Break-Glass merge names it)",
            rule="usage",
        )
    path = f"{GRANTS_DIR}/{grant_id}{GRANT_SUFFIX}"
    gf = read_grant_files(repo, merge.commit, [path]).get(path)
    if gf is None or gf.grant is None:
        raise JitError(f"{path} is not a valid grant at {merge.commit[:12]}", rule="usage")
    if reviewed(repo, branch, merge.commit, grant_id):
        raise JitError(f"break-glass grant {grant_id} is already reviewed", rule="usage")
    approval = judge_review(catalog, merge, gf.grant.entitlement, approvers)
    if not approval.satisfied:
        return ReviewResult(merge, gf.grant, approval, None, now > merge.review_by)
    sha = record_review(repo, branch, merge, approval.approvers, env, catalog)
    return ReviewResult(merge, gf.grant, approval, sha, now > merge.review_by)


def judge_review(
    catalog: Catalog, merge: BreakGlassMerge, entitlement: str, approvers: Sequence[str]
) -> ApprovalOutcome:
    """The after-the-fact approval is judged like any approval: the entitlement's rules,
    never the requester's own."""
    ent = catalog.entitlements.get(entitlement)
    rules = ent.approvals if ent is not None else ()
    reviews = [
        Review(login=a, state=ReviewState.APPROVED, commit=merge.commit, id=i)
        for i, a in enumerate(approvers)
    ]
    return evaluate_approvals(
        rules, reviews, head=None, author=merge.requester, members=team_members(catalog)
    )


def record_review(
    repo: GitRepo,
    branch: str,
    merge: BreakGlassMerge,
    approvers: Sequence[str],
    env: dict[str, str],
    catalog: Catalog,
) -> str:
    """An empty commit on ``branch`` recording the review (compare-and-swap on the branch)."""
    base = repo.rev(branch)
    try:
        msg = review_message(merge.grant_id, merge.requester, approvers).text()
    except ValueError as exc:
        raise JitError(f"cannot write the commit message: {exc}", rule="usage") from None
    # signed like jitctl's other commits on the default branch: the audit accepts a review
    # only from a commit proven to be jitctl's (lifecycle.signs)
    sha = repo.commit_tree(base, {}, msg, env=env, sign=catalog.audit.signers is not None)
    txn.advance(repo, branch, base, sha)
    return sha
