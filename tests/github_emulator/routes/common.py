"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

from ..gitstore import Signature
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
        if review_rules(emu, pr.base_ref).get("dismiss_stale_reviews_on_push"):
            for r in emu.state.reviews:
                if r.pr_number == pr.number and r.state == "APPROVED" and r.commit_id != head:
                    r.state = "DISMISSED"
    test_merge(emu, pr)


def test_merge(emu: GitHubEmulator, pr: PullRequest) -> None:
    """Like GitHub, an open PR's ``merge_commit_sha`` is its test merge commit: the base tip
    and the head merged (parents: base, head), recomputed when either moves; None on conflict."""
    key = (pr.base_sha, pr.head_sha)
    if pr.test_merge_key == key:
        return
    pr.test_merge_key = key
    tree = emu.git.merge_tree(pr.base_sha, pr.head_sha)
    if tree is None:
        pr.merge_commit_sha = None
        return
    sig = Signature("GitHub", "noreply@github.com", "2026-01-01T00:00:00Z")
    message = f"Merge {pr.head_sha} into {pr.base_sha}"
    pr.merge_commit_sha = emu.git.commit_tree(tree, [pr.base_sha, pr.head_sha], message, sig, sig)
    emu.git.update_ref(f"refs/pull/{pr.number}/merge", pr.merge_commit_sha)


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


def review_rules(emu: GitHubEmulator, branch: str) -> dict[str, Any]:
    """What protects merges into ``branch``: branch protection and active rulesets, merged
    (``required_approving_review_count``, ``require_code_owner_review``,
    ``dismiss_stale_reviews_on_push``, ``contexts``, ``strict``)."""
    out: dict[str, Any] = {"contexts": [], "required_approving_review_count": 0}
    prot: dict[str, Any] = emu.state.protections.get(branch) or {}  # type: ignore[assignment]
    reviews = prot.get("required_pull_request_reviews") or {}
    checks = prot.get("required_status_checks") or {}
    out["contexts"] += list(checks.get("contexts", []))
    out["strict"] = bool(checks.get("strict"))
    out["required_approving_review_count"] = int(reviews.get("required_approving_review_count", 0))
    out["require_code_owner_review"] = bool(reviews.get("require_code_owner_reviews"))
    out["dismiss_stale_reviews_on_push"] = bool(reviews.get("dismiss_stale_reviews"))
    if branch == emu.state.default_branch:
        for rs in emu.state.rulesets:
            if rs.get("enforcement", "active") != "active":
                continue
            for rule in rs.get("rules", []):  # type: ignore[union-attr]
                params = rule.get("parameters") or {}
                if rule.get("type") == "pull_request":
                    out["required_approving_review_count"] = max(
                        out["required_approving_review_count"],
                        int(params.get("required_approving_review_count", 0)),
                    )
                    for key in ("require_code_owner_review", "dismiss_stale_reviews_on_push"):
                        out[key] = out.get(key) or bool(params.get(key))
                elif rule.get("type") == "required_status_checks":
                    out["contexts"] += [
                        c["context"] for c in params.get("required_status_checks", [])
                    ]
                    out["strict"] = out["strict"] or bool(
                        params.get("strict_required_status_checks_policy")
                    )
    return out
