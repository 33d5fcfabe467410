"""The reviewers' to-do list: the open request PRs into the default branch and the approvals
they have so far. Read-only: no status, no comment, no review request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.core.model import ChangeKind, Finding, Severity
from controller.core.policy import ApprovalOutcome, Decision
from controller.github.approvals import judge_approvals
from controller.github.forge import Forge, PullRequest
from controller.github.snapshot import gather_pull

_WAITING = (ChangeKind.REQUEST, ChangeKind.EXTENSION, ChangeKind.MIXED)


@dataclass(frozen=True)
class PendingRequest:
    pr: PullRequest
    decision: Decision
    approval: ApprovalOutcome | None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.decision.findings if f.severity is Severity.ERROR)


def pending_requests(
    forge: Forge, *, now: datetime, catalog_path: str | None = None
) -> tuple[PendingRequest, ...]:
    """Every open PR into the default branch that requests or extends a grant, oldest first."""
    out = []
    for pr in forge.open_pulls(forge.default_branch()):
        snap, decision = gather_pull(forge, pr.number, now=now, catalog_path=catalog_path)
        if decision.kind not in _WAITING or not decision.changes:
            continue
        approval, _ = judge_approvals(forge, snap, decision, now=now)
        out.append(PendingRequest(snap.pr, decision, approval))
    return tuple(out)
