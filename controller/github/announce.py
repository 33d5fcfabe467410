"""After an apply: tell each requester on their grant's pull request that the access is live
until ``expires_at`` (or that the apply failed), ONE comment per grant, window and result.

The pull request is found from git alone (the ``Jit-PR`` trailer of the merge that granted or
last extended the grant); the comment carries a marker ``<!-- jitctl:applied <id> <expires_at>
<result> -->``, so a later run (the hourly apply) finds it and posts nothing twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from controller.core.model import Grant, GrantState, grant_state
from controller.core.times import format_rfc3339
from controller.formats.markdown import md
from controller.formats.trailers import GRANT, PR, parse_trailers, values
from controller.git.repo import GitRepo
from controller.git.snapshot import read_grant_files
from controller.github.forge import Forge
from controller.github.retry import Uncertain

RESULTS = ("success", "failure")


@dataclass(frozen=True)
class Announcement:
    grant: Grant
    pr: int
    posted: bool  # False: already said (the marker is on the PR)


def marker(grant: Grant, result: str) -> str:
    return f"<!-- jitctl:applied {grant.id} {format_rfc3339(grant.expires_at)} {result} -->"


def body(grant: Grant, result: str, run_url: str | None) -> str:
    run = f" ([the apply]({run_url}))" if run_url and run_url.startswith("https://") else ""
    what = f"**{md(grant.principal)}** → **{md(grant.entitlement)}**"
    if result == "success":
        head = f"✅ Access is live: {what} until **{format_rfc3339(grant.expires_at)}**{run}."
        tail = f"To keep it longer: `jitctl extend {grant.id} --for 1h` (approved again)."
    else:
        head = f"❌ The apply failed{run}: {what} may not be live yet."
        tail = "The platform team is told; the next apply retries."
    return f"{marker(grant, result)}\n{head}\n\n{tail}\n"


def pr_of(repo: GitRepo, ref: str, grant_id: str) -> int | None:
    """The PR of the newest first-parent commit on ``ref`` that granted or extended the grant."""
    out = repo.git(
        "log", "--first-parent", "--format=%B%x00", "--fixed-strings",
        f"--grep={GRANT}: {grant_id}", repo.rev(ref),
    )  # fmt: skip
    for message in out.split("\0"):
        trailers = parse_trailers(message)
        if grant_id in values(trailers, GRANT):
            prs = values(trailers, PR)
            if prs and prs[-1].lstrip("#").isdigit():
                return int(prs[-1].lstrip("#"))
    return None


def announce(
    forge: Forge,
    repo: GitRepo,
    *,
    ref: str,
    now: datetime,
    result: str,
    run_url: str | None = None,
) -> list[Announcement]:
    """Comment once on the PR of every grant that is active or pending at ``ref``."""
    if result not in RESULTS:
        raise ValueError(result)
    me = forge.self_login()
    out: list[Announcement] = []
    files = read_grant_files(repo, repo.rev(ref))
    for gf in sorted(files.values(), key=lambda f: f.path):
        g = gf.grant
        if g is None or grant_state(g, now) is GrantState.EXPIRED:
            continue
        number = pr_of(repo, ref, g.id)
        if number is None:
            continue
        mark = marker(g, result)
        said = any(
            c.body.startswith(mark) and (me is None or c.author.lower() == me.lower())
            for c in forge.comments(number)
        )
        if not said:
            # an unclear create is not retried: the next run finds it, or says it then
            with contextlib.suppress(Uncertain):
                forge.create_comment(number, body(g, result, run_url))
        out.append(Announcement(g, number, not said))
    return out
