"""Commit messages with jitctl's trailers: the audit's one format, local and on GitHub. Pure.

Trailers (``Key: value`` lines in the message's last paragraph):

- ``Jit-Kind: request|extension|revocation|expiry|mixed``
- ``Jit-Grant: <id>``: one per grant the commit grants, extends or revokes
- ``Requested-by: <login>``: the requester (the PR author)
- ``Approved-by: <login>``: one per approval that counted
- ``Revoked-by: <login>``: who revoked
- ``Expired-Grant: <id> <expires_at>``: one per grant an expiry removes
- ``Jit-PR: <number>``: the pull request, on GitHub
- ``Approver-Team: <@org/team> <login>``: on GitHub, a team the merger resolved through GitHub
  (not defined in the catalog) that made an approver eligible; a claim the audit can only take
  from a proven merge
- ``Jit-Break-Glass: yes`` on a break-glass request commit; on its merge
  ``Jit-Break-Glass: <id> <review_by>``, one per grant: approve after the fact before review_by
- ``Jit-Kind: review`` with ``Jit-Grant``, ``Requested-by`` and ``Approved-by``: the after-the-fact
  approval of a break-glass grant (an empty commit on the default branch)

A trailer whose key or value holds an invisible or misleading character
(:mod:`controller.formats.text`: bidi controls, zero-width characters, control characters) is
never written, and is ignored when read (:func:`visible_trailers`): ``Approved-by: bob\u200b``
proves no approval by ``bob``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.core.model import ChangeKind, Grant
from controller.core.times import format_duration, format_rfc3339
from controller.formats.text import first_invisible

KIND = "Jit-Kind"
GRANT = "Jit-Grant"
REQUESTED_BY = "Requested-by"
APPROVED_BY = "Approved-by"
REVOKED_BY = "Revoked-by"
EXPIRED_GRANT = "Expired-Grant"
PR = "Jit-PR"
APPROVER_TEAM = "Approver-Team"
BREAK_GLASS = "Jit-Break-Glass"
REVIEW_KIND = "review"
REVIEW = "Jit-Review"  # <review id> <login> <submitted_at>: a GitHub review counted

_TRAILER_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*?)\s*$")
_SAFE_VALUE = re.compile(r"^[^\x00-\x1f\x7f]*$")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str = ""
    trailers: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        for key, value in self.trailers:
            if (
                not _SAFE_VALUE.match(value)
                or not _TRAILER_RE.match(f"{key}: {value}")
                or first_invisible(key + value) is not None
            ):
                raise ValueError(f"unsafe trailer {key}: {value!r}")
        parts = [self.subject.splitlines()[0] if self.subject else "jitctl"]
        if self.body.strip():
            parts.append(self.body.strip())
        if self.trailers:
            parts.append("\n".join(f"{k}: {v}" for k, v in self.trailers))
        return "\n\n".join(parts) + "\n"


def parse_trailers(message: str) -> tuple[tuple[str, str], ...]:
    """The ``Key: value`` lines of the message's last paragraph (when all its lines are such)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return ()
    out = []
    for line in paragraphs[-1].splitlines():
        m = _TRAILER_RE.match(line)
        if not m:
            return ()
        out.append((m.group(1), m.group(2)))
    return visible_trailers(out)


def visible_trailers(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The trailers without those holding an invisible or control character (they prove nothing)."""
    return tuple((k, v) for k, v in pairs if first_invisible(k + v) is None)


def values(trailers: Iterable[tuple[str, str]], key: str) -> list[str]:
    low = key.lower()
    return [v for k, v in trailers if k.lower() == low]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def request_message(
    grant: Grant,
    requester: str,
    kind: ChangeKind,
    *,
    open_request: bool = False,
    break_glass: bool = False,
) -> Message:
    verb = "extend" if kind is ChangeKind.EXTENSION else "request"
    until = (
        f"for {format_duration(grant.duration)} from approval"
        if open_request and grant.duration is not None
        else f"until {format_rfc3339(grant.expires_at)}"
    )
    trailers = [(KIND, kind.value), (GRANT, grant.id), (REQUESTED_BY, requester)]
    if break_glass:
        trailers.append((BREAK_GLASS, "yes"))
    return Message(
        subject=f"jitctl: {verb} {grant.entitlement} for {grant.principal} {until}"
        + (" (BREAK-GLASS)" if break_glass else ""),
        body=f"Reason: {_one_line(grant.reason)}",
        trailers=tuple(trailers),
    )


def _approval(
    requester: str | None,
    approvers: Sequence[str],
    teams: Sequence[tuple[str, str]],
    pr: int | None,
) -> list[tuple[str, str]]:
    """The trailers of an approval, in this order: who asked, who approved, the teams they were
    resolved in, the pull request (a merge and a break-glass review record alike)."""
    out: list[tuple[str, str]] = []
    if requester:
        out.append((REQUESTED_BY, requester))
    out += [(APPROVED_BY, login) for login in approvers]
    out += [(APPROVER_TEAM, f"{team} {login}") for team, login in teams]
    if pr is not None:
        out.append((PR, str(pr)))
    return out


def review_message(
    grant_id: str,
    requester: str | None,
    approvers: Sequence[str],
    *,
    pr: int | None = None,
    teams: Sequence[tuple[str, str]] = (),
    reviews: Sequence[tuple[int, str, datetime]] = (),
) -> Message:
    """The after-the-fact approval of a break-glass grant. On GitHub also the break-glass PR,
    the teams the approvers were resolved in, and each counted review (id, login, submitted)."""
    trailers = [(KIND, REVIEW_KIND), (GRANT, grant_id)]
    trailers += _approval(requester, approvers, teams, pr)
    trailers += [(REVIEW, f"{rid} {login} {format_rfc3339(at)}") for rid, login, at in reviews]
    return Message(subject=f"jitctl: review break-glass grant {grant_id}", trailers=tuple(trailers))


def merge_message(
    branch: str,
    kind: ChangeKind,
    grant_ids: Sequence[str],
    requester: str | None,
    approvers: Sequence[str],
    pr: int | None = None,
    teams: Sequence[tuple[str, str]] = (),
    break_glass: Sequence[tuple[str, datetime]] = (),
) -> Message:
    trailers: list[tuple[str, str]] = [(KIND, kind.value)]
    trailers += [(GRANT, gid) for gid in grant_ids]
    trailers += _approval(requester, approvers, teams, pr)
    trailers += [(BREAK_GLASS, f"{gid} {format_rfc3339(by)}") for gid, by in break_glass]
    what = ", ".join(grant_ids) or "no grant"
    head = f"#{pr}" if pr is not None else branch
    return Message(subject=f"jitctl: merge {head} ({kind.value}: {what})", trailers=tuple(trailers))


def expiry_message(expired: Sequence[Grant]) -> Message:
    ids = ", ".join(g.id for g in expired)
    return Message(
        subject=f"jitctl: expire {len(expired)} grant(s)",
        body=f"Removes grants whose expires_at has passed: {ids}",
        trailers=(
            (KIND, ChangeKind.EXPIRY.value),
            *((EXPIRED_GRANT, f"{g.id} {format_rfc3339(g.expires_at)}") for g in expired),
        ),
    )


def revocation_message(grant: Grant, by: str, reason: str | None = None) -> Message:
    return Message(
        subject=f"jitctl: revoke {grant.id} ({grant.entitlement} for {grant.principal})",
        body=f"Reason: {_one_line(reason)}" if reason else "",
        trailers=((KIND, ChangeKind.REVOCATION.value), (GRANT, grant.id), (REVOKED_BY, by)),
    )
