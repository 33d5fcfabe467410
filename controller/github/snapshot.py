"""Gather a pull request from the forge into the same ``ChangeSet`` the local check builds.

One head sha, read once, is judged: every later read is addressed by sha (commits, trees,
blobs), never by PR number, so a push during the evaluation cannot slip unjudged content under
the status posted on that sha. What is judged is what would merge: the change from the base
branch's CURRENT tip to the merge result (the head itself when it contains the tip, else
GitHub's test merge commit, accepted only when its parents are exactly that tip and that head).
The changed paths come from a tree diff (complete, with file modes; a rename is a delete plus
an add); a listing GitHub truncates is refused, never judged in part.

The catalog is read at the base tip: a pull request cannot loosen the policy it is judged by.
Teams come from the catalog's ``teams:`` first, then from the forge; a team that cannot be
resolved counts as no one. Files outside ``grants/`` are matched against CODEOWNERS at the base
tip, and an owner's approval on the judged head is looked for (the status never says a bare
"success" for them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import (
    GRANTS_DIR,
    Catalog,
    ChangeKind,
    FileChange,
    GrantFile,
    Review,
    ReviewState,
)
from controller.core.policy import ChangeSet, Decision, check_change, mode_finding
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import parse_grant_file
from controller.git.snapshot import DEFAULT_CATALOG, load_catalog_file
from controller.github.doctor import owners_of, parse_codeowners
from controller.github.forge import Forge, PullRequest, TreeItem

# the label that marks a pull request break-glass (judged as ``check --break-glass``)
BREAK_GLASS_LABEL = "break-glass"


@dataclass(frozen=True)
class PullSnapshot:
    pr: PullRequest
    change: ChangeSet
    reviews: tuple[Review, ...]
    base_tip: str = ""  # the base branch's tip the change was judged against
    result: str | None = None  # the commit whose tree would merge (None: not judged)
    refusal: str | None = None  # why the change cannot be judged exactly (status: pending)
    owners: OwnerReview | None = None


def read_catalog_at(forge: Forge, sha: str, path: str | None = None) -> Catalog:
    """``catalog.yaml`` as committed at ``sha`` (the base), or ``path`` on disk (``--catalog``,
    from a trusted checkout of the default branch)."""
    if path is not None:
        return load_catalog_file(path)
    data = forge.read_file(DEFAULT_CATALOG, sha)
    if data is None:
        raise JitError(f"{DEFAULT_CATALOG}: not found at {sha[:12]}", rule="catalog.invalid")
    return load_catalog(data, DEFAULT_CATALOG)


def teams_to_resolve(catalog: Catalog, decision: Decision) -> set[str]:
    """Teams named by the approval rules and requesters that apply, not defined in the catalog."""
    names: set[str] = set()
    for rule in decision.approval_rules:
        names.update(rule.from_)
    for c in decision.changes:
        if c.after is not None:
            ent = catalog.entitlements.get(c.after.entitlement)
            if ent is not None and ent.requesters:
                names.update(ent.requesters)
    return {n for n in names if n.startswith("@") and n not in catalog.teams}


def resolve_teams(forge: Forge, teams: Iterable[str]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for team in sorted(teams):
        org, sep, slug = team[1:].partition("/")
        members = forge.team_members(org, slug) if sep and org and slug else None
        out[team] = members or frozenset()
    return out


CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
REGULAR = "100644"
SYMLINK = "120000"


@dataclass(frozen=True)
class OwnerReview:
    """The files outside grants/ and whether a code owner approved each on the judged head."""

    paths: tuple[str, ...]
    missing: tuple[str, ...]  # paths without an owner's approval on the head (or no owner)

    @property
    def approved(self) -> bool:
        return bool(self.paths) and not self.missing


@dataclass(frozen=True)
class TreeChange:
    """What a merge would change, from a tree diff: grant entries on each side, other paths."""

    grants: Mapping[str, tuple[TreeItem | None, TreeItem | None]]
    other: tuple[str, ...]
    problem: str | None = None  # why the diff is not exact (truncated listing)


def _flatten(forge: Forge, tree: str, prefix: str) -> tuple[dict[str, TreeItem], bool]:
    items, truncated = forge.tree(tree, recursive=True)
    return {
        f"{prefix}{i.path}": dataclasses.replace(i, path=f"{prefix}{i.path}")
        for i in items
        if i.type != "tree"
    }, truncated


def tree_change(forge: Forge, before: str, after: str) -> TreeChange:
    """The paths that differ between the trees of commits ``before`` and ``after``."""
    ta, tb = forge.commit(before).tree, forge.commit(after).tree
    if ta == tb:
        return TreeChange({}, ())
    ra = {i.path: i for i in forge.tree(ta)[0]}
    rb = {i.path: i for i in forge.tree(tb)[0]}
    grants: dict[str, tuple[TreeItem | None, TreeItem | None]] = {}
    other: list[str] = []
    problem = None
    for name in sorted(set(ra) | set(rb)):
        a, b = ra.get(name), rb.get(name)
        if a is not None and b is not None and (a.sha, a.mode) == (b.sha, b.mode):
            continue
        sides: list[dict[str, TreeItem]] = []
        for item in (a, b):
            if item is None:
                sides.append({})
            elif item.type == "tree":
                flat, truncated = _flatten(forge, item.sha, f"{name}/")
                if truncated:
                    problem = f"GitHub truncated the listing of {name}/; it cannot be judged whole"
                sides.append(flat)
            else:
                sides.append({name: item})
        fa, fb = sides
        for path in sorted(set(fa) | set(fb)):
            x, y = fa.get(path), fb.get(path)
            if (
                x is not None
                and y is not None
                and (x.sha, x.mode, x.type) == (y.sha, y.mode, y.type)
            ):
                continue
            if name == GRANTS_DIR and path.startswith(GRANTS_DIR + "/"):
                grants[path] = (x, y)
            else:
                other.append(path)
    return TreeChange(grants, tuple(other), problem)


def grant_file(forge: Forge, item: TreeItem) -> GrantFile:
    """Parse the entry: only a regular file is read; its mode comes from the tree."""
    path = item.path
    if item.type == "blob" and item.mode in (REGULAR, SYMLINK):
        return parse_grant_file(path, forge.blob(item.sha), mode=int(item.mode, 8))
    return GrantFile(path, None, (mode_finding(path, item.mode, item.type),))


def read_codeowners(forge: Forge, sha: str) -> list[tuple[str, tuple[str, ...]]] | None:
    for path in CODEOWNERS_PATHS:
        data = forge.read_file(path, sha)
        if data is not None:
            return parse_codeowners(data.decode("utf-8", "replace"))
    return None


def owner_review(
    forge: Forge, pr: PullRequest, base_tip: str, paths: Sequence[str], reviews: Sequence[Review]
) -> OwnerReview:
    """Whether every path outside grants/ has an approval on the head from one of its owners
    (CODEOWNERS at the base tip; the last matching line wins; no owner means no approval)."""
    if not paths:
        return OwnerReview((), ())
    entries = read_codeowners(forge, base_tip) or []
    latest: dict[str, Review] = {}
    for r in sorted(reviews, key=lambda r: r.id):
        if r.state in (ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.DISMISSED):
            latest[r.login.lower()] = r
    approvers = {
        login
        for login, r in latest.items()
        if r.state is ReviewState.APPROVED
        and r.commit == pr.head_sha
        and login != pr.author.lower()
    }
    teams: dict[str, frozenset[str]] = {}
    missing = []
    for path in paths:
        ok = False
        for owner in owners_of(entries, path):
            name = owner.lstrip("@").lower()
            if "/" in name:
                if owner not in teams:
                    teams.update(resolve_teams(forge, [owner]))
                ok = bool(approvers & {m.lower() for m in teams[owner]})
            else:
                ok = name in approvers
            if ok:
                break
        if not ok:
            missing.append(path)
    return OwnerReview(tuple(paths), tuple(missing))


def gather_pull(
    forge: Forge,
    number: int,
    *,
    now: datetime,
    catalog_path: str | None = None,
    claimed_kind: ChangeKind | None = None,
) -> tuple[PullSnapshot, Decision]:
    """One snapshot of PR ``number`` at one head sha, and the engine's decision on it."""
    pr = forge.get_pull(number)
    head = pr.head_sha
    # the policy in force now: the base branch's current tip, not the (possibly older) sha
    # GitHub recorded when the PR was last synced, so a tightened catalog applies at once
    base_tip = forge.get_ref(pr.base_ref)
    if base_tip is None:
        raise JitError(f"the base branch {pr.base_ref!r} of #{number} is gone", rule="github")
    catalog = read_catalog_at(forge, base_tip, catalog_path)
    reviews = forge.reviews(number)
    refusal = None
    result: str | None = None
    if pr.state == "open":
        if forge.compare_status(base_tip, head) in ("ahead", "identical"):
            result = head  # the head contains the tip: the merge result is the head's tree
        elif pr.merge_commit_sha:
            merge = forge.commit(pr.merge_commit_sha)
            if merge.parents == (base_tip, head):
                result = merge.sha
        if result is None:
            refusal = (
                f"cannot judge exactly: GitHub has no merge of {head[:12]} onto {pr.base_ref} at "
                f"{base_tip[:12]} yet; update the branch or wait for the next run"
            )
    changes = TreeChange({}, ())
    if result is not None:
        changes = tree_change(forge, base_tip, result)
        refusal = changes.problem
    if refusal is not None:
        changes = TreeChange({}, ())
    changed: dict[str, FileChange] = {}
    base_files: dict[str, GrantFile] = {}
    head_files: dict[str, GrantFile] = {}
    for path, (before, after) in changes.grants.items():
        if before is None:
            changed[path] = FileChange.ADDED
        elif after is None:
            changed[path] = FileChange.DELETED
        else:
            changed[path] = FileChange.MODIFIED
        if before is not None:
            base_files[path] = grant_file(forge, before)
        if after is not None:
            head_files[path] = grant_file(forge, after)
    for path in changes.other:
        changed[path] = FileChange.MODIFIED
    owners = owner_review(forge, pr, base_tip, changes.other, reviews)

    def change_set(members: Mapping[str, frozenset[str]]) -> ChangeSet:
        return ChangeSet(
            catalog=catalog,
            changed=changed,
            base=base_files,
            head=head_files,
            author=pr.author or None,
            now=now,
            related=(),
            members=members,
            claimed_kind=claimed_kind,
            break_glass=BREAK_GLASS_LABEL in pr.labels,
        )

    first = check_change(change_set({}))
    members = resolve_teams(forge, teams_to_resolve(catalog, first))
    cs = change_set(members)
    decision = check_change(cs) if members else first
    snap = PullSnapshot(pr, cs, reviews, base_tip, result, refusal, owners)
    return snap, decision
