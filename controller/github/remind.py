"""Reminders on GitHub: once per grant and expires_at, across runs on fresh checkouts.

The claim is a ref on the remote, ``refs/jitctl/reminded/<id>/<expires_at>``, pushed without
force and pointing at a commit unique to this run: of two runs, git lets exactly one create it
(the other's push is rejected), and a later run fetches it and stays silent. The winner
comments on the grant's pull request (found from the merge's ``Jit-PR`` trailer) with the
``jitctl extend`` command, and the CLI notifies ``expiring``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.core.errors import JitError
from controller.core.model import Grant
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md
from controller.git import reminders
from controller.git.repo import GitRepo
from controller.github.announce import pr_of
from controller.github.expire import git_auth_env
from controller.github.forge import Forge
from controller.github.retry import Uncertain

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True)
class Reminder:
    grant: Grant
    pr: int | None
    sent: bool  # False: another run (or an earlier one) already reminded


def comment(grant: Grant, now: datetime) -> str:
    left = format_duration(grant.expires_at - now)
    return (
        f"<!-- jitctl:expiring {grant.id} {format_rfc3339(grant.expires_at)} -->\n"
        f"⏰ **{md(grant.principal)}** → **{md(grant.entitlement)}** ends at "
        f"**{format_rfc3339(grant.expires_at)}** (in {left}).\n\n"
        f"To keep it longer: `jitctl extend {grant.id} --for 1h` (approved again).\n"
    )


def remind_on_github(
    forge: Forge, repo: GitRepo, *, remote: str, base: str, now: datetime, before: timedelta
) -> list[Reminder]:
    env = git_auth_env(forge.git_token())
    tip = f"refs/remotes/{remote}/{base}"
    repo.run(
        ["fetch", "-q", "--no-tags", remote, f"+refs/heads/{base}:{tip}",
         f"+{reminders.REF_PREFIX}/*:{reminders.REF_PREFIX}/*"],
        env,
    )  # fmt: skip
    out: list[Reminder] = []
    for grant, already in reminders.due(repo, tip, now, before):
        if already or not _claim(repo, remote, grant, env):
            out.append(Reminder(grant, None, False))
            continue
        pr = pr_of(repo, tip, grant.id)
        if pr is not None:
            with contextlib.suppress(Uncertain):
                forge.create_comment(pr, comment(grant, now))
        out.append(Reminder(grant, pr, True))
    return out


def _claim(repo: GitRepo, remote: str, grant: Grant, env: dict[str, str]) -> bool:
    ref = reminders.reminder_ref(grant)
    nonce = f"jitctl reminder {grant.id} {format_rfc3339(grant.expires_at)} {os.urandom(8).hex()}"
    who = {"GIT_AUTHOR_NAME": "jitctl", "GIT_AUTHOR_EMAIL": "jitctl@localhost"}
    who |= {"GIT_COMMITTER_NAME": "jitctl", "GIT_COMMITTER_EMAIL": "jitctl@localhost"}
    # a CI checkout has no git identity; this commit is only the claim's unique object
    sha = repo.run(["commit-tree", EMPTY_TREE, "-m", nonce], {**env, **who}).strip()
    try:
        repo.run(["push", "-q", "--no-verify", remote, f"{sha}:{ref}"], env)
    except JitError:
        return False  # someone else's claim is there (or the push failed: remind next run)
    repo.run(["update-ref", ref, sha], env)
    return True
