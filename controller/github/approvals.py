"""``jitctl approvals`` on GitHub: judge a PR, post the ``jitctl`` status and the one comment,
and (with ``merge``) merge what policy allows, with the same trailers as a local merge.

Every run starts from scratch (level-triggered): gather, decide, act. A merge is never
repeated blindly: after an unclear answer the PR is re-read; merged means done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from controller.core.model import Catalog, ChangeKind, Review
from controller.core.policy import ApprovalOutcome, Decision, evaluate_approvals, team_members
from controller.formats.markdown import md
from controller.formats.trailers import merge_message
from controller.git.breakglass import review_deadline
from controller.github.expire import BRANCH as EXPIRY_BRANCH
from controller.github.forge import (
    STATUS_CONTEXT,
    Comment,
    Forge,
    ForgeError,
    MergeOutcome,
    PullRequest,
)
from controller.github.materialise import approved_parent, materialise_pull, with_carried
from controller.github.retry import Uncertain
from controller.github.reviewers import ask, asked_in, reviewers_for
from controller.github.snapshot import PullSnapshot, gather_pull
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
    base_tip: str = ""  # the base tip the change was judged against
    pr: PullRequest | None = None
    reviews: tuple[Review, ...] = ()  # the reviews judged (after any carried over)
    closed: bool = False  # closed now as stale (expired, or older than request_ttl)
    review_by: datetime | None = None  # break-glass: to be approved after the fact before this
    author: str = ""  # the PR author: the requester

    @property
    def ok(self) -> bool:
        return self.merged or (
            self.verdict is not None and self.verdict.state is StatusState.SUCCESS
        )


def evaluate(
    forge: Forge,
    number: int,
    *,
    now: datetime,
    catalog_path: str | None,
    carried: tuple[Review, ...] = (),
) -> tuple[ApprovalsResult, str | None]:
    """Judge PR ``number`` and publish the status and comment. Returns the result and the
    merge commit message (None when jitctl may not merge it). ``carried``: the reviews this
    run read on the open request it has just materialised (see ``github.materialise``)."""
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
    approval, reviews = judge_approvals(forge, snap, decision, now=now, carried=carried)
    v = verdict(decision, approval, draft=pr.draft, owners=snap.owners, refusal=snap.refusal)
    if v.auto_merge and pr.head_ref == EXPIRY_BRANCH:
        # the expiry PR is merged by `jitctl expire` alone, after it checked that every commit
        # on the branch is its own; anyone who can push there must not get a revocation merged
        # in jitctl's name
        v = Verdict(v.state, v.description, False)
    forge.set_status(pr.head_sha, v.state.value, v.description, STATUS_CONTEXT)
    ours = our_comment(forge, number)
    asked = asked_in(ours.body if ours else None)
    if (
        decision.needs_approval
        and decision.ok
        and not pr.draft
        and (approval is None or not approval.satisfied)
    ):
        owner = forge.repo.split("/", 1)[0]
        wanted = reviewers_for(decision.approval_rules, snap.change.catalog, pr.author, owner)
        asked = ask(forge, number, wanted, asked, snap.reviews)
    body = comment_body(number, pr.author, decision, approval, v, pr.head_sha)
    if asked.users or asked.teams:
        body += f"\n_Review requested from: {md(asked.describe())}_\n{asked.marker()}\n"
    write_comment(forge, number, body, ours)
    message = None
    review_by = None
    if v.auto_merge:
        ids = [c.grant.id for c in decision.changes if c.grant is not None]
        approvers = approval.approvers if approval else ()
        if decision.break_glass:
            review_by = review_deadline(snap.change.catalog, decision, now)
        message = merge_message(
            pr.head_ref,
            decision.kind,
            ids,
            pr.author or None,
            approvers,
            pr=number,
            teams=resolved_teams(decision, approvers, snap.change.catalog, snap.change.members),
            break_glass=[(gid, review_by) for gid in ids] if review_by else (),
        ).text()
    result = ApprovalsResult(number, pr.head_sha, decision, approval, v, False)
    result = replace(result, base_tip=snap.base_tip, pr=pr, reviews=reviews)
    return replace(result, review_by=review_by, author=pr.author), message


def resolved_teams(
    decision: Decision,
    approvers: Sequence[str],
    catalog: Catalog,
    members: Mapping[str, frozenset[str]],
) -> list[tuple[str, str]]:
    """(team, login) for each approver who is in a rule's team that GitHub resolved (a team not
    defined in the catalog): what the merger saw, recorded for the audit (docs/audit.md)."""
    out: list[tuple[str, str]] = []
    teams = {n for r in decision.approval_rules for n in r.from_ if n.startswith("@")}
    for team in sorted(teams - set(catalog.teams)):
        logins = {m.lower() for m in members.get(team, frozenset())}
        out += [(team, a) for a in approvers if a.lower() in logins]
    return out


def judge_approvals(
    forge: Forge,
    snap: PullSnapshot,
    decision: Decision,
    *,
    now: datetime,
    carried: tuple[Review, ...] = (),
) -> tuple[ApprovalOutcome | None, tuple[Review, ...]]:
    """The approvals of a gathered PR (read-only): the reviews on its head, or on the open
    request a materialised head only writes expires_at into. Returns them and the reviews used.
    """
    if not decision.needs_approval:
        return None, snap.reviews
    reviews = snap.reviews
    also: tuple[str, ...] = ()
    if _may_be_materialised(decision):
        parent = approved_parent(forge, snap.pr, snap.change.catalog, now)
        if parent is not None:
            also = (parent,)
            reviews = with_carried(reviews, carried, parent)
    approval = evaluate_approvals(
        decision.approval_rules,
        reviews,
        head=snap.pr.head_sha,
        author=snap.pr.author,
        members=team_members(snap.change.catalog, snap.change.members),
        also=also,
    )
    return approval, reviews


def _may_be_materialised(decision: Decision) -> bool:
    """A request whose added grants all record a duration asked (cheap: no API call)."""
    added = [c for c in decision.changes if c.kind is ChangeKind.REQUEST]
    return (
        bool(added)
        and not decision.materialise
        and all(c.after is not None and c.after.duration is not None for c in added)
    )


def our_comment(forge: Forge, number: int) -> Comment | None:
    """jitctl's one comment on the PR (marker + our login), if any."""
    me = forge.self_login()
    mine = [
        c
        for c in forge.comments(number)
        if c.body.startswith(MARKER) and (me is None or c.author.lower() == me.lower())
    ]
    return mine[0] if mine else None


def upsert_comment(forge: Forge, number: int, body: str) -> None:
    """Keep ONE comment: edit ours (marker + our login) if it exists, else create it."""
    write_comment(forge, number, body, our_comment(forge, number))


def write_comment(forge: Forge, number: int, body: str, ours: Comment | None) -> None:
    """Edit ``ours`` (jitctl's comment, already looked up) if it exists, else create it."""
    if ours is not None:
        if ours.body != body:
            forge.edit_comment(ours.id, body)
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
    carried: tuple[Review, ...] = ()
    for _ in range(3):
        result, message = evaluate(
            forge, number, now=now, catalog_path=catalog_path, carried=carried
        )
        if not merge or message is None:
            return result
        if result.decision is not None and result.decision.materialise and result.pr:
            # approved open request: start the clock (a commit on the PR branch), then judge
            # the materialised head from scratch
            try:
                materialise_pull(forge, result.pr, result.decision, now)
            except ForgeError as exc:
                if exc.status == 422:  # the branch moved since we judged it: judge it again
                    continue
                raise
            carried = result.reviews
            continue
        title, rest = split_message(message)
        pr = forge.get_pull(number)
        if forge.get_ref(pr.base_ref) != result.base_tip:
            continue  # the base moved since the judgement: judge the new merge result
        # a merge commit: GitHub signs it and records the App as its author, which the audit
        # verifies from git alone (a squash commit would carry the PR author instead)
        outcome = forge.merge(
            number, sha=result.head_sha, title=title, message=rest, method="merge"
        )
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
