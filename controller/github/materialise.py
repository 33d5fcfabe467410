"""The clock starts at approval, on GitHub: write ``expires_at`` into an approved open request
as one commit on the PR branch, and recognise such a commit when judging the PR.

An open request (a grant file with ``duration`` and no ``expires_at``) is never merged as it
is: jitctl's status on it stays ``pending`` even when approved. ``approvals --merge`` then
pushes one commit M on the approved head P that only inserts the ``expires_at`` line
(:func:`~controller.formats.grantfile.materialise_text`), fast-forward only, and judges M from
scratch: the check reads the materialised file, and the approvals given on P count on M only
because M is recognised (:func:`approved_parent`) as nothing but P materialised.

Recognition, at the exact head sha judged (every read is addressed by sha):

- M has exactly one parent, P;
- M's author and committer are jitctl's pinned identity, and its message is exactly jitctl's
  clock-start message: the clock-start time T (no later than the judgement's now) and, for
  each grant, the expires_at it records;
- M changes nothing but grant files that are open requests at P, each byte for byte what
  jitctl writes for the expires_at that starting the clock at T gives (capped by the catalog
  at the base tip), and exactly the grants and times the message records.

So a commit a person pushes after the approval (any edit, or even the right line in an
ordinary commit) does not ride on P's approvals: it needs a new approval on the new head. The
identity fields can be forged by anyone who can push, but what such a forgery can carry is
fixed by the content rules: the approved request with an expires_at no later than jitctl would
write now (a shorter window, never a longer or different grant).

A ruleset that dismisses stale approvals on push dismisses P's approvals when M is pushed. The
run that pushes M read those approvals on P just before, so it carries them (and only them, by
review id) to its judgement of M; a later run sees them dismissed and needs a new approval on
M (deny when unsure).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import Catalog, Review, ReviewState
from controller.core.policy import Decision
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.formats.grantfile import materialise_text, parse_grant_file
from controller.git.lifecycle import materialise_message, materialised
from controller.github.expire import JITCTL_EMAIL
from controller.github.forge import Forge, PullRequest
from controller.github.snapshot import REGULAR, tree_change

_HEAD_RE = re.compile(r"jitctl: start the clock at (\S+)\n\n")
_LINE_RE = re.compile(r"- (\S+) until (\S+)")


def recorded(message: str) -> tuple[datetime, dict[str, datetime]] | None:
    """The clock-start time and the expires_at per grant id a materialisation message records,
    or None unless ``message`` is exactly what :func:`materialise_message` writes (but for the
    final newline). PURE."""
    head = _HEAD_RE.match(message)
    if head is None:
        return None
    try:
        at = parse_rfc3339(head.group(1))
        times: dict[str, datetime] = {}
        for line in message[head.end() :].splitlines():
            m = _LINE_RE.fullmatch(line)
            if m is None or m.group(1) in times:
                return None
            times[m.group(1)] = parse_rfc3339(m.group(2))
    except ValueError:
        return None
    summary = [f"{gid} until {format_rfc3339(when)}" for gid, when in times.items()]
    # git (and GitHub's API) may drop the message's final newline: nothing else may differ
    if not times or materialise_message(summary, at).rstrip("\n") != message.rstrip("\n"):
        return None
    return at, times


def is_materialisation(
    path: str, before: bytes, after: bytes, catalog: Catalog, at: datetime, expires_at: datetime
) -> bool:
    """Whether ``after`` is ``before`` (an open request) with jitctl's expires_at line, and that
    expires_at is both ``expires_at`` (as recorded) and what starting the clock at ``at`` gives.
    PURE."""
    request = parse_grant_file(path, before).open
    if request is None:
        return False
    ent = catalog.entitlements.get(request.entitlement)
    if request.materialise(at, ent.max_duration if ent else None).expires_at != expires_at:
        return False
    try:
        return materialise_text(path, before, expires_at) == after
    except ValueError:
        return False


def approved_parent(forge: Forge, pr: PullRequest, catalog: Catalog, now: datetime) -> str | None:
    """The commit whose approvals count on the PR head (the sha judged): its parent, when the
    head is jitctl's materialisation of that parent's open requests (see the module). None
    otherwise."""
    commit = forge.commit(pr.head_sha)
    if len(commit.parents) != 1:
        return None
    if commit.author_email != JITCTL_EMAIL or commit.committer_email != JITCTL_EMAIL:
        return None
    record = recorded(commit.message)
    if record is None:
        return None
    at, times = record
    if at > now:
        return None
    parent = commit.parents[0]
    change = tree_change(forge, parent, pr.head_sha)
    if change.problem is not None or change.other or not change.grants:
        return None
    seen: set[str] = set()
    for path, (before, after) in change.grants.items():
        if before is None or after is None:
            return None
        if (before.type, before.mode, after.type, after.mode) != ("blob", REGULAR) * 2:
            return None
        old, new = forge.blob(before.sha), forge.blob(after.sha)
        request = parse_grant_file(path, old).open
        if request is None or request.id not in times or request.id in seen:
            return None
        seen.add(request.id)
        if not is_materialisation(path, old, new, catalog, at, times[request.id]):
            return None
    if seen != set(times):
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


def _regular_file(forge: Forge, tree: str, path: str) -> bytes | None:
    """The bytes of ``path`` in ``tree`` (git data API, by sha: never the contents API, which
    follows symlinks), or None unless it is a regular, non-executable file."""
    *folders, name = path.split("/")
    for folder in folders:
        found = [i for i in forge.tree(tree)[0] if i.path == folder and i.type == "tree"]
        if not found:
            return None
        tree = found[0].sha
    item = [i for i in forge.tree(tree)[0] if i.path == name]
    if not item or (item[0].type, item[0].mode) != ("blob", REGULAR):
        return None
    return forge.blob(item[0].sha)


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
    head = forge.commit(pr.head_sha)

    def read(path: str) -> bytes:
        data = _regular_file(forge, head.tree, path)
        if data is None:
            raise JitError(f"{path}: not a regular file at {pr.head_sha[:12]}", rule="github")
        return data

    files, message = materialised(decision, read, now, rule="github")
    if not files:
        raise JitError(f"#{pr.number}: no open request to start the clock for", rule="github")
    tree = forge.create_tree_with(head.tree, files)
    commit = forge.create_commit(message, tree, [pr.head_sha], now)
    forge.update_ref(pr.head_ref, commit.sha)
    return commit.sha
