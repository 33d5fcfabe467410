"""Helpers shared by the route modules."""

from __future__ import annotations

from ..routing import ApiError, Ctx, not_found
from ..server import GitHubEmulator
from ..state import PullRequest


def resolve(emu: GitHubEmulator, ref: str) -> str:
    """A branch name, a full ref or a sha -> a commit sha (404 when unknown)."""
    for candidate in (f"refs/heads/{ref}", ref if ref.startswith("refs/") else None, ref):
        if candidate:
            sha = emu.git.resolve(candidate)
            if sha:
                return sha
    raise ApiError(404, f"No commit found for SHA: {ref}")


def get_pull(ctx: Ctx) -> PullRequest:
    pr = ctx.emu.state.pulls.get(ctx.int_param("pull_number"))
    if pr is None:
        raise not_found()
    return pr


def refresh(emu: GitHubEmulator, pr: PullRequest) -> None:
    """Follow the head and base branches of an open PR."""
    if pr.state != "open":
        return
    head = emu.ref(pr.head_ref)
    base = emu.ref(pr.base_ref)
    if base:
        pr.base_sha = base
    if head and head != pr.head_sha:
        pr.head_sha = head
        pr.reported_base_sha = pr.base_sha  # a synchronize event records the base anew
        protection: dict[str, object] = emu.state.protections.get(pr.base_ref) or {}
        reviews = protection.get("required_pull_request_reviews") or {}
        if isinstance(reviews, dict) and reviews.get("dismiss_stale_reviews"):
            # GitHub dismisses approvals when new commits are pushed
            for r in emu.state.reviews:
                if r.pr_number == pr.number and r.state == "APPROVED":
                    r.state = "DISMISSED"


def mergeability(emu: GitHubEmulator, pr: PullRequest) -> tuple[bool | None, str]:
    """GitHub's ``mergeable`` and ``mergeable_state`` for ``pr``."""
    if pr.state != "open":
        return None, "unknown"
    if emu.ref(pr.head_ref) is None:
        return False, "dirty"
    if emu.git.merge_tree(pr.base_sha, pr.head_sha) is None:
        return False, "dirty"
    if pr.draft:
        return True, "draft"
    failing = [s for s in latest_statuses(emu, pr.head_sha) if s.state != "success"]
    if failing:
        return True, "unstable"
    if emu.git.is_ancestor(pr.base_sha, pr.head_sha):
        return True, "clean"
    return True, "behind" if pr.base_ref in emu.state.protections else "clean"


def latest_statuses(emu: GitHubEmulator, sha: str) -> list:  # type: ignore[type-arg]
    latest = {}
    for status in emu.state.statuses:
        if status.sha == sha:
            latest[status.context] = status
    return list(latest.values())
