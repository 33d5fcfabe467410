"""Break-glass reviews given on GitHub, recorded in git (``jitctl review --github``).

A break-glass PR merges without approval; the entitlement's approvers then approve the MERGED
pull request on GitHub. The audit works from git alone, so a scheduled run (jit-merge, as the
App) reads those reviews through the API and records them on the default branch:

1. find the break-glass merges on the default branch's first-parent chain (git, fetched):
   ``Jit-Break-Glass: <id> <review_by>``, ``Requested-by``, ``Jit-PR``; skip those already
   recorded by jitctl's App and those whose ``review_by`` passed more than ``GRACE`` ago;
2. check that the PR merged as that very commit (a hand-made merge naming another PR borrows
   nothing), read the PR's reviews and keep the approvals submitted after the merge (the merge
   commit's committer date, GitHub's clock) and no later than ``review_by``; judge them like any
   approval (:func:`~controller.core.policy.evaluate_approvals`: the entitlement's rules in the
   catalog at the default branch, the latest review per reviewer, never the requester's own,
   teams not in the catalog resolved through the API);
3. when they meet the rules, record them as jitctl records everything on GitHub: the App opens a
   pull request from ``jit/review/<id>`` whose one commit changes nothing (its tree is its
   parent's, and that parent is on the default branch), posts the ``jitctl`` status and merges
   it with a merge commit carrying the trailers (``Jit-Kind: review``, ``Jit-Grant``,
   ``Requested-by``, ``Approved-by``, ``Approver-Team``, ``Jit-PR``, one ``Jit-Review: <review
   id> <login> <submitted_at>`` per counted approval). GitHub makes, signs (web-flow) and
   authors that commit as the App, which is how the audit proves it (docs/audit.md); the
   ruleset needs no bypass for it.

Once only, across runs and racing runs: a grant with a review merge by the App on the default
branch is skipped; the branch ``jit/review/<id>`` is created at most once (GitHub refuses a
second create), a later run reuses its commit when it still changes nothing and rebuilds it
otherwise (someone else's push is never merged: the merge names the verified sha); GitHub opens
one PR per branch, and once the PR merged its commit is in the default branch, so no second PR
can be opened from it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.core.errors import JitError
from controller.core.model import GRANT_SUFFIX, GRANTS_DIR, Catalog, Grant, Review, ReviewState
from controller.core.policy import ApprovalOutcome, evaluate_approvals, team_members
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.formats.trailers import (
    BREAK_GLASS,
    GRANT,
    KIND,
    PR,
    REQUESTED_BY,
    REVIEW_KIND,
    parse_trailers,
    review_message,
    values,
)
from controller.git.repo import GitRepo
from controller.git.snapshot import read_catalog, read_grant_files
from controller.github.expire import git_auth_env
from controller.github.forge import STATUS_CONTEXT, Forge, ForgeError, MergeOutcome, PullRequest
from controller.github.retry import Uncertain
from controller.github.snapshot import resolve_teams
from controller.github.status import split_message

BRANCH_PREFIX = "jit/review/"
# a review given in time is still recorded by a run up to this long after review_by (a run
# that was late or failed); older break-glass grants are left to the audit
GRACE = timedelta(hours=24)
_BOT_EMAIL = re.compile(r"\A(?:\d+\+)?([A-Za-z0-9-]+\[bot\])@users\.noreply\.github\.com\Z")


@dataclass(frozen=True)
class BreakGlassMerge:
    """A break-glass merge on the default branch, as git recorded it."""

    commit: str
    merged_at: datetime  # the merge commit's committer date (GitHub's clock)
    grant_id: str
    review_by: datetime
    requester: str | None
    pr: int | None


@dataclass(frozen=True)
class GhReviewResult:
    merge: BreakGlassMerge
    state: str  # recorded | already | waiting | unreviewed | no-pr | invalid
    grant: Grant | None = None
    approval: ApprovalOutcome | None = None
    reviews: tuple[Review, ...] = ()  # the counted approvals
    review_pr: int | None = None
    merge_commit: str | None = None
    note: str = ""


def break_glass_merges(repo: GitRepo, tip: str) -> list[BreakGlassMerge]:
    """Every ``Jit-Break-Glass: <id> <review_by>`` merge on ``tip``'s first-parent chain,
    newest first."""
    out = repo.git(
        "log", "--first-parent", "--format=%H%x00%ct%x00%B%x00", "--fixed-strings",
        f"--grep={BREAK_GLASS}: ", tip,
    )  # fmt: skip
    fields = out.split("\0")
    merges: list[BreakGlassMerge] = []
    for i in range(0, len(fields) - 2, 3):
        sha, epoch, message = fields[i].strip(), fields[i + 1].strip(), fields[i + 2]
        trailers = parse_trailers(message)
        requesters = values(trailers, REQUESTED_BY)
        prs = [p.lstrip("#") for p in values(trailers, PR)]
        pr = int(prs[-1]) if prs and prs[-1].isdigit() else None
        for value in values(trailers, BREAK_GLASS):
            parts = value.split()
            if len(parts) != 2 or not epoch.isdigit():
                continue
            try:
                review_by = parse_rfc3339(parts[1])
            except ValueError:
                continue
            merged_at = datetime.fromtimestamp(int(epoch), review_by.tzinfo)
            merges.append(
                BreakGlassMerge(
                    sha, merged_at, parts[0], review_by, requesters[-1] if requesters else None, pr
                )
            )
    return merges


def recorded_by_app(
    forge: Forge, repo: GitRepo, tip: str, merge: BreakGlassMerge, bot: str | None
) -> bool:
    """Whether a review of the grant made by jitctl's App (``bot``) follows the merge on the
    first-parent chain: authored by the App's bot AND verified by GitHub (a commit pushed with
    the bot's email written in by hand is not, so it cannot make a run skip the record; the
    audit proves the signature itself)."""
    out = repo.git(
        "log", "--first-parent", "--format=%H%x00%ae%x00%B%x00", "--fixed-strings",
        f"--grep=Jit-Grant: {merge.grant_id}", f"{merge.commit}..{tip}",
    )  # fmt: skip
    fields = out.split("\0")
    for i in range(0, len(fields) - 2, 3):
        sha, email, message = fields[i].strip(), fields[i + 1].strip(), fields[i + 2]
        trailers = parse_trailers(message)
        if REVIEW_KIND not in [v.lower() for v in values(trailers, KIND)]:
            continue
        if merge.grant_id not in values(trailers, GRANT):
            continue
        m = _BOT_EMAIL.match(email)
        if m is None or (bot is not None and m.group(1).lower() != bot.lower()):
            continue
        if forge.commit(sha).verified:
            return True
    return False


def counted_reviews(reviews: Sequence[Review], merge: BreakGlassMerge) -> list[Review]:
    """The reviews that may count for the after-the-fact approval: submitted after the merge
    and no later than ``review_by`` (a review without a time never counts)."""
    return [
        r
        for r in reviews
        if r.submitted_at is not None and merge.merged_at <= r.submitted_at <= merge.review_by
    ]


def judge(
    catalog: Catalog,
    entitlement: str,
    reviews: Sequence[Review],
    requester: str | None,
    resolved: Mapping[str, frozenset[str]],
) -> ApprovalOutcome:
    """The entitlement's approval rules over the in-window reviews; never the requester's."""
    ent = catalog.entitlements.get(entitlement)
    rules = ent.approvals if ent is not None else ()
    return evaluate_approvals(
        rules, reviews, head=None, author=requester, members=team_members(catalog, resolved)
    )


def review_on_github(
    forge: Forge,
    repo: GitRepo,
    *,
    remote: str,
    base: str,
    now: datetime,
    grant_id: str | None = None,
    dry_run: bool = False,
) -> list[GhReviewResult]:
    """Record the in-time GitHub approvals of every break-glass grant that needs them."""
    env = git_auth_env(forge.git_token())
    tip_ref = f"refs/remotes/{remote}/{base}"

    def refetch() -> str:
        # a workflow's checkout is shallow (depth 1): the break-glass merges are further back
        deepen = ["--unshallow"] if repo.is_shallow() else []
        spec = f"+refs/heads/{base}:{tip_ref}"
        repo.run(["fetch", "-q", "--no-tags", *deepen, remote, spec], env)
        return repo.rev(tip_ref)

    tip = refetch()
    catalog = read_catalog(repo, tip)
    bot = forge.self_login()
    out: list[GhReviewResult] = []
    seen: set[str] = set()
    for merge in break_glass_merges(repo, tip):
        if grant_id is not None and merge.grant_id != grant_id:
            continue
        if merge.grant_id in seen or merge.review_by + GRACE < now:
            continue
        seen.add(merge.grant_id)  # the newest merge of an id is the one to review
        if recorded_by_app(forge, repo, tip, merge, bot):
            out.append(GhReviewResult(merge, "already"))
            continue
        out.append(
            _one(
                forge, repo, catalog, merge, tip=tip, base=base, now=now, dry_run=dry_run,
                refetch=refetch,
            )
        )  # fmt: skip
    return out


def _one(
    forge: Forge,
    repo: GitRepo,
    catalog: Catalog,
    merge: BreakGlassMerge,
    *,
    tip: str,
    base: str,
    now: datetime,
    dry_run: bool,
    refetch: Callable[[], str],
) -> GhReviewResult:
    path = f"{GRANTS_DIR}/{merge.grant_id}{GRANT_SUFFIX}"
    gf = read_grant_files(repo, merge.commit, [path]).get(path)
    if gf is None or gf.grant is None:
        return GhReviewResult(merge, "invalid", note=f"{path} is not a valid grant there")
    grant = gf.grant
    if merge.pr is None:
        return GhReviewResult(merge, "no-pr", grant, note="the merge names no pull request")
    pull = forge.get_pull(merge.pr)
    if not pull.merged or pull.merge_commit_sha != merge.commit:
        # the reviews of another pull request never approve this merge
        why = f"PR #{merge.pr} did not merge as {merge.commit[:12]}"
        return GhReviewResult(merge, "invalid", grant, note=why)
    reviews = counted_reviews(forge.reviews(merge.pr), merge)
    ent = catalog.entitlements.get(grant.entitlement)
    teams = {n for r in (ent.approvals if ent else ()) for n in r.from_ if n.startswith("@")}
    resolved = resolve_teams(forge, teams - set(catalog.teams))
    approval = judge(catalog, grant.entitlement, reviews, merge.requester, resolved)
    if not approval.satisfied:
        state = "unreviewed" if now > merge.review_by else "waiting"
        return GhReviewResult(merge, state, grant, approval)
    counted = {a.lower() for a in approval.approvers}
    latest: dict[str, Review] = {}
    for r in sorted(reviews, key=lambda r: r.id):
        if r.login.lower() in counted and r.state is ReviewState.APPROVED:
            latest[r.login.lower()] = r
    used = tuple(sorted(latest.values(), key=lambda r: r.login.lower()))
    if dry_run:
        return GhReviewResult(merge, "waiting", grant, approval, used, note="dry run")
    members = team_members(catalog, resolved)
    claims = [
        (team, a)
        for team in sorted(resolved)
        for a in approval.approvers
        if a.lower() in {m.lower() for m in members.get(team, frozenset())}
    ]
    message = review_message(
        merge.grant_id,
        merge.requester,
        approval.approvers,
        pr=merge.pr,
        teams=claims,
        reviews=[(r.id, r.login, r.submitted_at) for r in used if r.submitted_at is not None],
    ).text()
    number, sha, note = _record(
        forge, repo, tip=tip, base=base, merge=merge, message=message, now=now, refetch=refetch
    )
    state = (
        "recorded" if sha is not None else ("already" if note.startswith("already") else "waiting")
    )
    return GhReviewResult(merge, state, grant, approval, used, number, sha, note)


def _change_free(forge: Forge, sha: str, tip: str) -> bool:
    """Whether merging ``sha`` into the default branch changes nothing: one parent, the same
    tree as that parent, and the parent already on the default branch (``tip`` contains it)."""
    c = forge.commit(sha)
    if len(c.parents) != 1:
        return False
    parent = forge.commit(c.parents[0])
    if parent.tree != c.tree:
        return False
    return forge.compare_status(parent.sha, tip) in ("ahead", "identical")


def _branch_commit(forge: Forge, branch: str, tip: str, now: datetime, subject: str) -> str:
    """The commit ``jit/review/<id>`` points at, made (or rebuilt) so that it changes nothing
    and is not yet in the default branch."""
    for _ in range(3):
        head = forge.get_ref(branch)
        if head is not None and _change_free(forge, head, tip):
            if forge.compare_status(head, tip) not in ("ahead", "identical"):
                return head
            # already in the default branch: merged by a run whose review this run's fetch
            # did not see (the caller re-checks), or a commit pointed at to block the record
            raise _InBase(head)
        tree = forge.commit(tip).tree
        made = forge.create_commit(subject, tree, [tip], now)
        try:
            if head is None:
                forge.create_ref(branch, made.sha)
            else:  # someone else's commit is there: replace it (it is never merged)
                forge.update_ref(branch, made.sha, force=True)
            return made.sha
        except (ForgeError, Uncertain):
            continue  # another run created it meanwhile (or the answer was unclear): re-read
    raise JitError(f"could not set up branch {branch}: it kept changing", rule="github")


class _InBase(Exception):
    """The review branch's commit is already in the default branch."""


def _record(
    forge: Forge,
    repo: GitRepo,
    *,
    tip: str,
    base: str,
    merge: BreakGlassMerge,
    message: str,
    now: datetime,
    refetch: Callable[[], str],
) -> tuple[int | None, str | None, str]:
    """Open (or find) the review PR and merge it. Returns (PR, merge commit, note)."""
    branch = BRANCH_PREFIX + merge.grant_id
    title, rest = split_message(message)
    for _ in range(3):
        try:
            head = _branch_commit(forge, branch, tip, now, title)
        except _InBase:
            tip = refetch()
            if recorded_by_app(forge, repo, tip, merge, forge.self_login()):
                return None, None, "already recorded by another run"
            # not a review of ours: rebuild the branch on the new tip
            made = forge.create_commit(title, forge.commit(tip).tree, [tip], now)
            with contextlib.suppress(ForgeError, Uncertain):
                forge.update_ref(branch, made.sha, force=True)
            continue
        # a run that merged the record since this run's fetch: no second record
        tip = refetch()
        if recorded_by_app(forge, repo, tip, merge, forge.self_login()):
            return None, None, "already recorded by another run"
        pr = _pull(forge, branch, base, title, merge)
        if pr is None:
            return None, None, "the review pull request could not be opened; next run"
        if pr.merged:
            return pr.number, pr.merge_commit_sha, "merged by an earlier run"
        if pr.head_sha != head:
            continue  # the branch moved under us: re-check it
        forge.set_status(
            head, "success", "break-glass review record: changes nothing", STATUS_CONTEXT
        )
        outcome = forge.merge(pr.number, sha=head, title=title, message=rest, method="merge")
        if outcome.outcome is MergeOutcome.MERGED:
            return pr.number, outcome.sha, "merged"
        again = forge.get_pull(pr.number)
        if again.merged:
            return pr.number, again.merge_commit_sha, "merged"
        if outcome.outcome in (MergeOutcome.NOT_MERGEABLE, MergeOutcome.INVALID):
            return pr.number, None, f"GitHub refused the merge: {outcome.message}"
    return None, None, "the review branch kept changing; next run"


def _pull(
    forge: Forge, branch: str, base: str, title: str, merge: BreakGlassMerge
) -> PullRequest | None:
    found = forge.find_pull(branch, base)
    if found is not None:
        return forge.get_pull(found.number)
    body = (
        f"<!-- jitctl:review {merge.grant_id} -->\n"
        f"Records the after-the-fact approval of break-glass grant `{merge.grant_id}` "
        f"(#{merge.pr}) given on GitHub before {format_rfc3339(merge.review_by)}. "
        "Changes no file; merged by jitctl."
    )
    try:
        return forge.create_pull(branch, base, title, body)
    except (ForgeError, Uncertain):
        with contextlib.suppress(ForgeError, Uncertain):
            return forge.find_pull(branch, base)
    return None
