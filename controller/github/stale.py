"""Stale grant requests: an open request or extension PR whose ``expires_at`` has passed, or
that is older than the catalog's ``request_ttl``, is closed with a comment (by the merge
workflow), so it is not re-judged every 15 minutes forever."""

from __future__ import annotations

from datetime import datetime

from controller.core.model import Catalog, ChangeKind
from controller.core.policy import Decision
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md
from controller.github.forge import Forge, PullRequest
from controller.github.status import MARKER

STALE_KINDS = (ChangeKind.REQUEST, ChangeKind.EXTENSION)


def stale_reason(
    pr: PullRequest, decision: Decision, catalog: Catalog, now: datetime
) -> str | None:
    """Why this open PR is stale, or None. PURE."""
    if decision.kind not in STALE_KINDS:
        return None
    for c in decision.changes:
        if c.after is not None and c.after.expires_at <= now:
            return (
                f"grant {c.after.id} would have expired at {format_rfc3339(c.after.expires_at)}"
                " before it was approved"
            )
    if pr.created_at is not None and now - pr.created_at >= catalog.request_ttl:
        return (
            f"the request is older than the catalog request_ttl "
            f"({format_duration(catalog.request_ttl)})"
        )
    return None


def close_stale(forge: Forge, pr: PullRequest, why: str) -> None:
    """Say why in the one jitctl comment, then close the PR (both idempotent)."""
    from controller.github.approvals import upsert_comment

    body = (
        f"{MARKER}\n### jitctl: closed: {md(why)}\n\n"
        f"Requested by **{md(pr.author)}**. To still get this access, request it again "
        "(`jitctl request ... --open-pr`).\n"
    )
    upsert_comment(forge, pr.number, body)
    forge.update_pull(pr.number, state="closed")
