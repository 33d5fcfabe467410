"""Reminders before expiry, at most once per grant and window, remembered in git itself.

A reminder is claimed by creating the ref ``refs/jitctl/reminded/<id>/<expires_at>`` with a
compare-and-swap from "absent": of two runs, exactly one creates it, and an extension (a new
expires_at) is a new window with a reminder of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.core.errors import JitError
from controller.core.model import Grant
from controller.core.policy import plan_reminders
from controller.git.repo import GitRepo
from controller.git.snapshot import read_grant_files

REF_PREFIX = "refs/jitctl/reminded"


def reminder_ref(grant: Grant) -> str:
    return f"{REF_PREFIX}/{grant.id}/{grant.expires_at.strftime('%Y%m%dT%H%M%SZ')}"


def due(
    repo: GitRepo, branch: str, now: datetime, before: timedelta
) -> tuple[tuple[Grant, bool], ...]:
    """Grants on ``branch`` expiring within ``before``, each with whether it was reminded."""
    files = read_grant_files(repo, repo.rev(branch))
    grants = [gf.grant for gf in files.values() if gf.grant is not None]
    return tuple((g, _exists(repo, g)) for g in plan_reminders(grants, now, before))


def claim(repo: GitRepo, branch: str, grant: Grant) -> bool:
    """Record the reminder; False when another run already did (then say nothing)."""
    try:
        repo.update_ref(reminder_ref(grant), repo.rev(branch), None)
    except JitError:
        if _exists(repo, grant):
            return False
        raise
    return True


def _exists(repo: GitRepo, grant: Grant) -> bool:
    try:
        repo.git("rev-parse", "--verify", "--quiet", reminder_ref(grant))
    except JitError:
        return False
    return True
