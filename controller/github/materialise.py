"""The clock starts at approval, on GitHub: write ``expires_at`` into an approved open request
as one commit on the PR branch, and recognise such a commit when judging the PR.

An open request (a grant file with ``duration`` and no ``expires_at``) is never merged as it
is: jitctl's status on it stays ``pending`` even when approved. ``approvals --merge`` then
pushes one commit M on the approved head P that only inserts the ``expires_at`` line
(:func:`~controller.formats.grantfile.materialise_text` at the time of the merge), fast-forward
only, and judges M: the check reads the materialised file, and the approvals given on P count
on M because M is recognised (:func:`approved_parent`) as nothing but P materialised.

Recognition is by content, not by author: M's only parent is P; M changes nothing but grant
files that are open requests at P; each file at M is byte for byte what jitctl writes for some
``expires_at`` no later than materialising now would give. Whoever pushes such a commit gets no
more than jitctl would give; any other change after the approval needs a new approval.

A ruleset that dismisses stale approvals on push dismisses P's approvals when M is pushed. The
run that pushes M read those approvals on P just before, so it carries them (and only them, by
review id) to its judgement of M; a later run sees them dismissed and needs a new approval on
M (deny when unsure).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import Catalog, FileChange, Review, ReviewState
from controller.core.policy import Decision, is_grant_path
from controller.core.times import format_rfc3339
from controller.formats.grantfile import materialise_text, parse_grant_file
from controller.github.forge import Forge, PullRequest


def is_materialisation(
    path: str, before: bytes, after: bytes, catalog: Catalog, now: datetime
) -> bool:
    """Whether ``after`` is ``before`` (an open request) with jitctl's expires_at line for a
    time no later than ``now``. PURE."""
    request = parse_grant_file(path, before).open
    grant = parse_grant_file(path, after).grant
    if request is None or grant is None:
        return False
    ent = catalog.entitlements.get(request.entitlement)
    latest = request.materialise(now, ent.max_duration if ent else None).expires_at
    if grant.expires_at > latest:
        return False
    try:
        return materialise_text(path, before, grant.expires_at) == after
    except ValueError:
        return False


def approved_parent(forge: Forge, pr: PullRequest, catalog: Catalog, now: datetime) -> str | None:
    """The commit whose approvals count on the PR head: its parent, when the head only
    materialises open requests of that parent. None otherwise."""
    commit = forge.get_commit(pr.head_sha)
    if len(commit.parents) != 1:
        return None
    parent = commit.parents[0]
    files = forge.compare_files(parent, pr.head_sha)
    if not files:
        return None
    for f in files:
        if f.change is not FileChange.MODIFIED or not is_grant_path(f.path):
            return None
        before = forge.read_file(f.path, parent)
        after = forge.read_file(f.path, pr.head_sha)
        if before is None or after is None:
            return None
        if not is_materialisation(f.path, before, after, catalog, now):
            return None
    return parent


def with_carried(
    current: Iterable[Review], carried: Sequence[Review], parent: str
) -> tuple[Review, ...]:
    """The reviews to judge a materialised head by: the current ones, except that an approval
    on ``parent`` read by this same run before it pushed the materialisation (``carried``) still
    counts if GitHub has since dismissed it for that push. Matched by review id."""
    before = {r.id: r for r in carried if r.commit == parent and r.state is ReviewState.APPROVED}
    out = []
    for r in current:
        kept = before.get(r.id)
        if r.state is ReviewState.DISMISSED and kept is not None and r.commit == parent:
            out.append(kept)
        else:
            out.append(r)
    return tuple(out)


def materialise_pull(forge: Forge, pr: PullRequest, decision: Decision, now: datetime) -> str:
    """Push one commit on the PR branch that writes expires_at into the open requests of
    ``decision`` (judged at ``now``) and nothing else. Fast-forward only: if the branch moved
    since ``pr.head_sha`` was judged, GitHub refuses and nothing changes. Returns the new head.
    """
    if pr.head_repo and pr.head_repo.lower() != forge.repo.lower():
        raise JitError(
            f"#{pr.number} comes from {pr.head_repo}: jitctl can start the clock only on a branch "
            f"of {forge.repo}; push the request there, or use --fixed-end",
            rule="github",
        )
    files: dict[str, bytes] = {}
    summary: list[str] = []
    for c in decision.changes:
        if c.path not in decision.materialise or c.after is None:
            continue
        data = forge.read_file(c.path, pr.head_sha)
        if data is None:
            raise JitError(f"{c.path}: not found at {pr.head_sha[:12]}", rule="github")
        try:
            files[c.path] = materialise_text(c.path, data, c.after.expires_at)
        except ValueError as exc:
            raise JitError(f"cannot start the clock: {exc}", rule="github") from None
        summary.append(f"- {c.after.id} until {format_rfc3339(c.after.expires_at)}")
    if not files:
        raise JitError(f"#{pr.number}: no open request to start the clock for", rule="github")
    head = forge.get_commit(pr.head_sha)
    tree = forge.create_tree_with(head.tree, files)
    stamp = format_rfc3339(now.replace(microsecond=0))
    message = f"jitctl: start the clock at {stamp}\n\n" + "\n".join(summary) + "\n"
    commit = forge.create_commit(message, tree, [pr.head_sha], now)
    forge.update_ref(pr.head_ref, commit.sha)
    return commit.sha
