"""What jitctl says about a pull request: the ``jitctl`` status and the one PR comment. PURE.

The status means "the grant policy is met for this head": success, pending (approvals still
missing) or failure (findings). How each change kind maps:

- request / extension: findings -> failure; approvals missing -> pending; met -> success, and
  ``approvals --merge`` merges it. An approved open request (the clock starts at approval)
  stays pending: ``approvals --merge`` writes its expires_at first (``github.materialise``).
- revocation / expiry: only lower privilege, so no approval: success (merged with --merge);
  but a revocation by someone who neither holds the grant nor may approve it is judged like
  a request (its entitlement's approvals).
- mixed (grant changes plus other files): the grant part is judged like a request (failure /
  pending / success), but jitctl never merges it: the other files need code-owner review (the
  ruleset), and a person merges.
- none (no grant file changed): never merged by jitctl.

A change that touches anything outside grants/ is never a bare success: it stays pending,
naming the files, until a code owner of each (CODEOWNERS at the base tip) approved the judged
head. A change that cannot be judged exactly as it would merge stays pending too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, assert_never

from controller.core.model import ChangeKind
from controller.core.policy import ApprovalOutcome, Decision
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md

if TYPE_CHECKING:
    from controller.github.snapshot import OwnerReview

MARKER = "<!-- jitctl -->"


class StatusState(enum.StrEnum):
    SUCCESS = "success"
    PENDING = "pending"
    FAILURE = "failure"


@dataclass(frozen=True)
class Verdict:
    state: StatusState
    description: str  # <= 140 characters (GitHub's limit)
    auto_merge: bool  # jitctl may merge it itself


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names(paths: tuple[str, ...], limit: int = 3) -> str:
    more = f" (+{len(paths) - limit} more)" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def verdict(
    decision: Decision,
    approval: ApprovalOutcome | None,
    *,
    draft: bool = False,
    owners: OwnerReview | None = None,
    refusal: str | None = None,
) -> Verdict:
    if refusal is not None:
        return Verdict(StatusState.PENDING, _short(f"[change.inexact] {refusal}"), False)
    if not decision.ok:
        first = decision.errors[0]
        more = f" (+{len(decision.errors) - 1} more)" if len(decision.errors) > 1 else ""
        return Verdict(StatusState.FAILURE, _short(f"[{first.rule}] {first.message}{more}"), False)
    kind = decision.kind
    others = decision.other_paths
    owners_ok = owners is not None and owners.approved and owners.paths == others
    if others and not owners_ok:
        lacking = owners.missing if owners is not None and owners.missing else others
        needs = f"needs code-owner approval on this commit for {_names(lacking)}"
        if kind is ChangeKind.MIXED and approval is not None and not approval.satisfied:
            needs += "; and " + "; ".join(approval.missing)
        return Verdict(StatusState.PENDING, _short(needs), False)
    if kind is ChangeKind.NONE:
        return Verdict(
            StatusState.SUCCESS,
            _short(f"not a grant change; code owners approved {_names(others)}; merge by hand")
            if others
            else "no change to judge",
            False,
        )
    if kind in (ChangeKind.REVOCATION, ChangeKind.EXPIRY) and not decision.needs_approval:
        return Verdict(
            StatusState.SUCCESS, f"{kind.value}: lowers privilege, no approval needed", not draft
        )
    if kind is ChangeKind.REQUEST and decision.break_glass:
        if decision.materialise:
            # never merged as it is, even without approval: expires_at is written first
            return Verdict(
                StatusState.PENDING,
                "BREAK-GLASS request: jitctl starts the clock: writes expires_at, merges",
                not draft,
            )
        return Verdict(
            StatusState.SUCCESS,
            "BREAK-GLASS request: merges without approval; the approvers must approve it after "
            "the fact",
            not draft,
        )
    if kind in (
        ChangeKind.REQUEST, ChangeKind.EXTENSION, ChangeKind.MIXED, ChangeKind.REVOCATION,
        ChangeKind.EXPIRY,
    ):  # fmt: skip
        # (a revocation here: by someone neither holding nor approving the grant)
        if approval is None or not approval.satisfied:
            missing = "; ".join(approval.missing) if approval else "no approval rule applies"
            return Verdict(StatusState.PENDING, _short(f"needs {missing}"), False)
        who = ", ".join(approval.approvers)
        if decision.materialise:
            # an open request is never merged as it is: jitctl writes expires_at first (a
            # commit on the branch) and judges that head; never success here
            return Verdict(
                StatusState.PENDING,
                _short(f"approved by {who}; jitctl starts the clock: writes expires_at, merges"),
                kind is ChangeKind.REQUEST and not draft,
            )
        if kind is ChangeKind.MIXED:
            return Verdict(
                StatusState.SUCCESS,
                _short(
                    f"grants approved by {who}; other files need code-owner review; merge by hand"
                ),
                False,
            )
        return Verdict(StatusState.SUCCESS, _short(f"{kind.value} approved by {who}"), not draft)
    assert_never(kind)


def comment_body(
    number: int,
    author: str,
    decision: Decision,
    approval: ApprovalOutcome | None,
    v: Verdict,
    head_sha: str,
) -> str:
    """The one jitctl comment on a PR (found again by ``MARKER``). User text is escaped."""
    icon = {StatusState.SUCCESS: "✅", StatusState.PENDING: "⏳", StatusState.FAILURE: "❌"}[
        v.state
    ]
    lines = [
        MARKER,
        f"### jitctl: {icon} {v.state.value}: {md(v.description)}",
        "",
        f"Requested by **{md(author)}** · change: `{decision.kind.value}` · head `{head_sha[:12]}`",
        "",
    ]
    if decision.changes:
        lines += [
            "| grant | change | principal | entitlement | until | reason |",
            "|---|---|---|---|---|---|",
        ]
        for c in decision.changes:
            g = c.grant
            if g is None:
                lines.append(f"| {md(c.path)} | {c.kind.value} | | | | |")
                continue
            until = format_rfc3339(g.expires_at)
            if g.duration is not None and c.path in decision.materialise:
                until = f"{format_duration(g.duration)} from approval"
            elif g.duration is not None:
                until += f" ({format_duration(g.duration)} asked)"
            lines.append(
                f"| {md(g.id)} | {c.kind.value} | {md(g.principal)} | {md(g.entitlement)} "
                f"| {until} | {md(g.reason)} |"
            )
        lines.append("")
    if decision.other_paths:
        lines.append(
            "Other files (code-owner review): " + ", ".join(md(p) for p in decision.other_paths)
        )
        lines.append("")
    if decision.needs_approval:
        rules = "; AND ".join(md(r.describe()) for r in decision.approval_rules) or "none applies"
        lines.append(f"**Approvals required:** {rules}")
        if approval is not None:
            if approval.approvers:
                lines.append(f"**Counted:** {', '.join(md(a) for a in approval.approvers)}")
            if not approval.satisfied:
                lines.append(f"**Still needed:** {'; '.join(md(m) for m in approval.missing)}")
            for who, why in approval.ignored:
                lines.append(f"- approval by {md(who)} does not count: {md(why)}")
        lines.append("")
    if decision.findings:
        lines.append("**Findings**")
        for f in decision.findings:
            where = f"{f.file}:{f.line}" if f.line else f.file
            lines.append(f"- {f.severity.value} `{f.rule}` {md(where)}: {md(f.message)}")
        lines.append("")
    lines.append(
        "_Approvals count only on the current head commit; a new push needs a new approval._"
    )
    return "\n".join(lines) + "\n"


def split_message(text: str) -> tuple[str, str]:
    """A commit message -> (title, rest), for GitHub's commit_title / commit_message."""
    title, _, rest = text.partition("\n")
    return title.strip(), rest.strip("\n") + "\n" if rest.strip() else ""
