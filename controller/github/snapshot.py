"""Gather a pull request from the forge into the same ``ChangeSet`` the local check builds.

Only the changed files are read (at the merge base and at the head), plus the catalog at the
BASE sha: a pull request cannot loosen the policy it is judged by. Teams come from the catalog's
``teams:`` first, then from the forge; a team that cannot be resolved counts as no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from controller.core.errors import JitError
from controller.core.model import Catalog, ChangeKind, FileChange, GrantFile, Review
from controller.core.policy import ChangeSet, Decision, check_change, is_grant_path
from controller.formats.catalog import load_catalog
from controller.formats.grantfile import parse_grant_file
from controller.git.snapshot import DEFAULT_CATALOG, load_catalog_file
from controller.github.forge import Forge, PullRequest

# the label that marks a pull request break-glass (judged as ``check --break-glass``)
BREAK_GLASS_LABEL = "break-glass"


@dataclass(frozen=True)
class PullSnapshot:
    pr: PullRequest
    change: ChangeSet
    reviews: tuple[Review, ...]


def read_catalog_at(forge: Forge, sha: str, path: str | None = None) -> Catalog:
    """``catalog.yaml`` as committed at ``sha`` (the base), or ``path`` on disk (``--catalog``,
    from a trusted checkout of the default branch)."""
    if path is not None:
        return load_catalog_file(path)
    data = forge.read_file(DEFAULT_CATALOG, sha)
    if data is None:
        raise JitError(f"{DEFAULT_CATALOG}: not found at {sha[:12]}", rule="catalog.invalid")
    return load_catalog(data, DEFAULT_CATALOG)


def read_grants_at(forge: Forge, sha: str, paths: Iterable[str]) -> dict[str, GrantFile]:
    out: dict[str, GrantFile] = {}
    for path in paths:
        data = forge.read_file(path, sha)
        if data is not None:
            out[path] = parse_grant_file(path, data)
    return out


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


def gather_pull(
    forge: Forge,
    number: int,
    *,
    now: datetime,
    catalog_path: str | None = None,
    claimed_kind: ChangeKind | None = None,
) -> tuple[PullSnapshot, Decision]:
    """One snapshot of PR ``number`` and the engine's decision on it."""
    pr = forge.get_pull(number)
    files = forge.pull_files(number)
    changed: dict[str, FileChange] = {f.path: f.change for f in files}
    # the policy in force now: the base branch's current tip, not the (possibly older) sha
    # GitHub recorded when the PR was last synced, so a tightened catalog applies at once
    base_tip = forge.get_ref(pr.base_ref)
    if base_tip is None:
        raise JitError(f"the base branch {pr.base_ref!r} of #{number} is gone", rule="github")
    catalog = read_catalog_at(forge, base_tip, catalog_path)
    grant_paths = [p for p in changed if is_grant_path(p)]
    need_base = [p for p in grant_paths if changed[p] is not FileChange.ADDED]
    mb = forge.merge_base(pr.base_sha, pr.head_sha) if need_base else pr.base_sha
    base_files = read_grants_at(forge, mb, need_base)
    head_files = read_grants_at(
        forge, pr.head_sha, [p for p in grant_paths if changed[p] is not FileChange.DELETED]
    )
    reviews = forge.reviews(number)

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
    return PullSnapshot(pr, cs, reviews), decision
