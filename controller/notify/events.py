"""What a notification says. PURE: grants and facts in, events and their texts out.

A generic JSON webhook receives :meth:`Event.body` exactly (one POST per event); every other
service (Slack, Microsoft Teams, email, ...) receives :meth:`Event.text`, in which every value a
requester controls is escaped so that it can neither mention anyone nor format or link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.core.model import Grant
from controller.core.times import format_rfc3339

TITLES = {
    "requested": "access requested",
    "approved": "access approved",
    "granted": "access granted",
    "expiring": "access expiring soon",
    "expired": "access expired",
    "revoked": "access revoked",
    "break-glass": "BREAK-GLASS access granted without approval",
    "failed": "jitctl run failed",
    "drift": "drift: the cloud differs from the grants",
    "closed": "request closed",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened to one grant (or to the whole run: ``grant`` empty)."""

    event: str
    grant: str
    principal: str
    entitlement: str
    expires_at: datetime | None
    actor: str
    pr: int | None
    repository: str
    at: datetime
    detail: str = ""  # free text for people (never in the JSON body): the extend command, why

    def body(self) -> dict[str, Any]:
        """The generic webhook's JSON body: exactly these keys."""
        return {
            "event": self.event,
            "grant": self.grant,
            "principal": self.principal,
            "entitlement": self.entitlement,
            "expires_at": format_rfc3339(self.expires_at) if self.expires_at else None,
            "actor": self.actor,
            "pr": self.pr,
            "repository": self.repository,
            "at": format_rfc3339(self.at),
        }

    def title(self) -> str:
        return f"jitctl: {TITLES.get(self.event, self.event)}"

    def text(self) -> str:
        """One plain line (two with a detail) for people; user values escaped."""
        what = (
            f"{safe(self.principal)} -> {safe(self.entitlement)} ({safe(self.grant)})"
            if self.grant
            else safe(self.repository)
        )
        parts = [f"{self.event}: {what}"]
        if self.expires_at is not None:
            parts.append(f"until {format_rfc3339(self.expires_at)}")
        if self.actor:
            parts.append(f"by {safe(self.actor)}")
        if self.pr is not None:
            parts.append(f"(PR #{self.pr})")
        text = " ".join(parts)
        if self.detail:
            text += "\n" + safe(self.detail)
        return text


_MARKUP = str.maketrans(
    {
        "<": "\u2039",  # Slack's <!channel>, <@U123>, <url|label>; Teams' <at>; HTML
        ">": "\u203a",
        "&": "+",
        "*": "\u2217",
        "_": "\uff3f",
        "~": "\u223c",
        "`": "\u02cb",
        "[": "\u298b",  # Markdown links [label](url)
        "]": "\u298c",
        "|": "\u2223",
        "#": "\uff03",
        "!": "\u01c3",
    }
)
_MENTION = re.compile(r"@(?=\w)")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):/{2}")


def safe(text: str, limit: int = 300) -> str:
    """User text made inert for chat and email: no control or invisible characters, no markup,
    no mention (``@here``, ``@channel``, ``@user``), no link (``://`` is broken), one line."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\r\n\t":
            out.append(" ")
        elif cat.startswith("C") or cat in ("Zl", "Zp"):
            continue  # control, format (zero-width, bidi), private use, unassigned
        else:
            out.append(ch)
    clean = "".join(out).translate(_MARKUP)
    clean = _MENTION.sub("@\u2060", clean)
    clean = _SCHEME.sub(lambda m: f"{m.group(1)}:/\u2060/", clean)
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "\u2026"


def grant_event(
    event: str,
    grant: Grant,
    *,
    actor: str,
    repository: str,
    at: datetime,
    pr: int | None = None,
    detail: str = "",
) -> Event:
    return Event(
        event=event,
        grant=grant.id,
        principal=grant.principal,
        entitlement=grant.entitlement,
        expires_at=grant.expires_at,
        actor=actor,
        pr=pr,
        repository=repository,
        at=at,
        detail=detail,
    )


def run_event(event: str, *, actor: str, repository: str, at: datetime, detail: str = "") -> Event:
    """An event about a run rather than a grant (``failed``, ``drift``)."""
    return Event(event, "", "", "", None, actor, None, repository, at, detail)


def extend_command(grant: Grant, duration: str = "1h") -> str:
    return f"jitctl extend {grant.id} --for {duration}"


def events_of(kind: str, grants: Sequence[Grant], **kw: Any) -> list[Event]:
    return [grant_event(kind, g, **kw) for g in grants]
