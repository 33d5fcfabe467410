"""``jitctl approvals`` on GitHub: judge a PR, post the ``jitctl`` status and the one comment,
and (with ``merge``) merge what policy allows, with the same trailers as a local merge.

Every run starts from scratch (level-triggered): gather, decide, act. A merge is never
repeated blindly: after an unclear answer the PR is re-read; merged means done.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime

from controller.core.policy import ApprovalOutcome, Decision, evaluate_approvals, team_members
from controller.formats.trailers import merge_message
from controller.git.breakglass import review_deadline
from controller.github.forge import STATUS_CONTEXT, Forge, MergeOutcome
from controller.github.retry import Uncertain
from controller.github.snapshot import gather_pull
from controller.github.stale import close_stale, stale_reason
from controller.github.status import (
    MARKER,
    StatusState,
    Verdict,
    comment_body,
    split_message,
    verdict,
)


@dataclass(frozen=True)
class ApprovalsResult:
    number: int
    head_sha: str
    decision: Decision | None
    approval: ApprovalOutcome | None
    verdict: Verdict | None
    merged: bool
    merge_commit: str | None = None
    note: str = ""  # why nothing was done, or what happened at the merge
    closed: bool = False  # closed now as stale (expired, or older than request_ttl)
    review_by: datetime | None = None  # break-glass: to be approved after the fact before this
    author: str = ""  # the PR author: the requester

    @property
    def ok(self) -> bool:
        return self.merged or (
            self.verdict is not None and self.verdict.state is StatusState.SUCCESS
        )


def evaluate(
    forge: Forge, number: int, *, now: datetime, catalog_path: str | None
) -> tuple[ApprovalsResult, str | None]:
    """Judge PR ``number`` and publish the status and comment. Returns the result and the
    merge commit message (None when jitctl may not merge it)."""
    snap, decision = gather_pull(forge, number, now=now, catalog_path=catalog_path)
    pr = snap.pr
    if pr.state != "open":
        note = "already merged" if pr.merged else "closed"
        return (
            ApprovalsResult(
                number, pr.head_sha, None, None, None, pr.merged, pr.merge_commit_sha, note
            ),
            None,
        )
    default = forge.default_branch()
    if pr.base_ref != default:
        # only the default branch is applied; a grant PR elsewhere is judged by a catalog the
        # platform team does not guard, so jitctl neither approves nor merges it
        v = Verdict(
            StatusState.FAILURE,
            f"jitctl judges pull requests into {default} only, not {pr.base_ref}"[:140],
            False,
        )
        forge.set_status(pr.head_sha, v.state.value, v.description, STATUS_CONTEXT)
        return ApprovalsResult(
            number, pr.head_sha, decision, None, v, False, None, v.description
        ), None
    why = stale_reason(pr, decision, snap.change.catalog, now)
    if why is not None:
        close_stale(forge, pr, why)
        return ApprovalsResult(
            number, pr.head_sha, decision, None, None, False, None, f"closed: {why}", closed=True,
            author=pr.author,
        ), None  # fmt: skip
    approval = None
    if decision.needs_approval:
        approval = evaluate_approvals(
            decision.approval_rules,
            snap.reviews,
            head=pr.head_sha,
            author=pr.author,
            members=team_members(snap.change.catalog, snap.change.members),
        )
    v = verdict(decision, approval, draft=pr.draft)
    forge.set_status(pr.head_sha, v.state.value, v.description, STATUS_CONTEXT)
    upsert_comment(
        forge, number, comment_body(number, pr.author, decision, approval, v, pr.head_sha)
    )
    message = None
    review_by = None
    if v.auto_merge:
        ids = [c.grant.id for c in decision.changes if c.grant is not None]
        approvers = approval.approvers if approval else ()
        if decision.break_glass:
            review_by = review_deadline(snap.change.catalog, decision, now)
        message = merge_message(
            pr.head_ref, decision.kind, ids, pr.author or None, approvers, pr=number,
            break_glass=[(gid, review_by) for gid in ids] if review_by else (),
        ).text()  # fmt: skip
    result = ApprovalsResult(number, pr.head_sha, decision, approval, v, False)
    return replace(result, review_by=review_by, author=pr.author), message


def upsert_comment(forge: Forge, number: int, body: str) -> None:
    """Keep ONE comment: edit ours (marker + our login) if it exists, else create it."""
    me = forge.self_login()
    mine = [
        c
        for c in forge.comments(number)
        if c.body.startswith(MARKER) and (me is None or c.author.lower() == me.lower())
    ]
    if mine:
        if mine[0].body != body:
            forge.edit_comment(mine[0].id, body)
        return
    # an unclear create: the next run finds it (or creates it); not worth a duplicate
    with contextlib.suppress(Uncertain):
        forge.create_comment(number, body)


def approvals(
    forge: Forge, number: int, *, now: datetime, catalog_path: str | None = None, merge: bool
) -> ApprovalsResult:
    """Evaluate PR ``number``; with ``merge``, merge it when policy allows, re-judging after a
    moved head or an unclear merge answer (at most three rounds)."""
    result: ApprovalsResult | None = None
    for _ in range(3):
        result, message = evaluate(forge, number, now=now, catalog_path=catalog_path)
        if not merge or message is None:
            return result
        title, rest = split_message(message)
        outcome = forge.merge(number, sha=result.head_sha, title=title, message=rest)
        if outcome.outcome is MergeOutcome.MERGED:
            return _merged(result, outcome.sha, "merged")
        if outcome.outcome in (MergeOutcome.UNKNOWN, MergeOutcome.NOT_MERGEABLE):
            pr = forge.get_pull(number)  # re-read: did it merge after all?
            if pr.merged:
                return _merged(result, pr.merge_commit_sha, "merged")
            if outcome.outcome is MergeOutcome.NOT_MERGEABLE:
                return _note(result, f"GitHub refused the merge: {outcome.message}")
            continue
        if outcome.outcome is MergeOutcome.HEAD_MOVED:
            continue  # re-judge the new head from scratch (its approvals are stale)
        return _note(result, f"GitHub refused the merge: {outcome.message}")
    assert result is not None
    return _note(result, "could not merge: the pull request kept changing or GitHub kept failing")


def _merged(r: ApprovalsResult, sha: str | None, note: str) -> ApprovalsResult:
    return replace(r, merged=True, merge_commit=sha, note=note)


def _note(r: ApprovalsResult, note: str) -> ApprovalsResult:
    return ApprovalsResult(
        r.number, r.head_sha, r.decision, r.approval, r.verdict, False, None, note
    )
