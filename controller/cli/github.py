"""The GitHub commands: ``approvals``, ``doctor``, and the GitHub side of ``expire`` and
``request --open-pr``. Thin: parse, call the library, format.

Credentials and the repository come from the environment (see ``ForgeConfig.from_env``):
GITHUB_REPOSITORY, GITHUB_API_URL, and JITCTL_APP_ID + JITCTL_APP_PRIVATE_KEY(_FILE)
[+ JITCTL_APP_INSTALLATION_ID] or GITHUB_TOKEN; JITCTL_HTTP_TIMEOUT.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from controller.cli.app import main
from controller.cli.output import (
    annotation,
    append_step_summary,
    decision_json,
    finding_text,
)
from controller.core.errors import JitError
from controller.core.model import Catalog, Grant
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md
from controller.git.lifecycle import Proposal
from controller.git.repo import GitRepo
from controller.github.retry import RetryPolicy

if TYPE_CHECKING:  # the GitHub modules import pygithub (~0.1 s): only GitHub commands pay it
    from controller.github.expire import GhExpireResult
    from controller.github.forge import Forge, PullRequest
    from controller.github.publish import Publication

# Tests swap these (a no-op sleep; an emulator-backed forge).
retry_policy: RetryPolicy = RetryPolicy()


def _default_factory() -> Forge:
    from controller.github.forge import ForgeConfig, GitHubForge

    return GitHubForge(ForgeConfig.from_env(), retry_policy)


forge_factory: Callable[[], Forge] = _default_factory


def open_forge() -> Forge:
    return forge_factory()


# --- approvals -----------------------------------------------------------------------------


@main.command()
@click.option("--pr", "number", type=int, required=True, help="The pull request number.")
@click.option("--merge", is_flag=True, help="Merge the PR when policy allows it (squash).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
    show_default=True,
    help="Output format; json is a stable schema on stdout; github adds annotations.",
)  # fmt: skip
@click.pass_obj
def approvals(env: Any, number: int, merge: bool, fmt: str) -> None:
    """Judge a pull request on GitHub: post the `jitctl` status and one comment, and merge it.

    The change is judged by the catalog at the PR's base; approvals count only when they are
    the reviewer's latest, on the current head, from the entitlement's approvers, and never the
    author's. Expiries need no approval, nor do revocations by the grant's holder or one of its
    approvers (anyone else's needs the entitlement's approvals). What is judged is the change
    from the base tip to the merge result, read at one head sha. With --merge an approved request,
    extension, revocation or expiry is squash-merged with the sha precondition and audit
    trailers; mixed PRs, PRs that change no grant (their status waits for the code owners'
    approval) and the jit/expire PR (merged by `jitctl expire`) are never merged here.
    Exit 0 when the status is success (and, with --merge, the PR merged), 1 otherwise.

    Example: GITHUB_REPOSITORY=acme/access jitctl approvals --pr 42 --merge
    """
    forge = open_forge()
    try:
        from controller.github.approvals import approvals as run_approvals

        r = run_approvals(forge, number, now=env.now, catalog_path=env.catalog_path, merge=merge)
    finally:
        forge.close()
    _notify_approvals(env, r)
    v, a = r.verdict, r.approval
    if fmt == "json":
        out: dict[str, Any] = {
            "pr": number,
            "head": r.head_sha,
            "state": v.state.value if v else None,
            "description": v.description if v else None,
            "auto_merge": v.auto_merge if v else False,
            "merged": r.merged,
            "merge_commit": r.merge_commit,
            "note": r.note,
            "approvers": list(a.approvers) if a else [],
            "missing": list(a.missing) if a and not a.satisfied else [],
            "ignored": [{"login": w, "why": y} for w, y in a.ignored] if a else [],
        }
        if r.decision is not None:
            out.update(decision_json(r.decision))
        click.echo(json.dumps(out, indent=2))
    else:
        if r.decision is not None:
            for f in r.decision.findings:
                click.echo(
                    annotation(f) if fmt == "github" else finding_text(f), err=fmt != "github"
                )
        if a:
            for who, why in a.ignored:
                click.echo(f"approval by {who} does not count: {why}", err=True)
        if v:
            click.echo(f"PR #{number} ({r.head_sha[:12]}): {v.state.value}: {v.description}")
        if r.merged:
            click.echo(
                f"merged PR #{number}" + (f" as {r.merge_commit[:12]}" if r.merge_commit else "")
            )
        elif r.note:
            click.echo(f"PR #{number}: {r.note}")
        if fmt == "github":
            append_step_summary(
                f"jitctl approvals #{number}",
                list(r.decision.findings) if r.decision else [],
                [f"{v.state.value}: {md(v.description)}" if v else md(r.note)],
            )
    wanted_merge = merge and v is not None and v.auto_merge
    sys.exit(0 if r.merged or (r.ok and not wanted_merge) else 1)


# --- list --state requested --------------------------------------------------------------


def list_requested(*, now: Any, catalog_path: str | None, fmt: str) -> None:
    """The open request PRs and their approvals so far (read-only)."""
    forge = open_forge()
    try:
        from controller.github.pending import pending_requests

        found = pending_requests(forge, now=now, catalog_path=catalog_path)
    finally:
        forge.close()
    rows: list[dict[str, Any]] = []
    for p in found:
        a = p.approval
        grants: list[dict[str, Any]] = []
        for c in p.decision.changes:
            g = c.after
            if g is None:
                continue
            opened = c.path in p.decision.materialise
            grants.append(
                {
                    "id": g.id,
                    "change": c.kind.value,
                    "principal": g.principal,
                    "entitlement": g.entitlement,
                    "expires_at": None if opened else format_rfc3339(g.expires_at),
                    "duration": format_duration(g.duration) if g.duration else None,
                    "from_approval": opened,
                }
            )
        rows.append(
            {
                "pr": p.pr.number,
                "url": p.pr.html_url,
                "author": p.pr.author,
                "title": p.pr.title,
                "head": p.pr.head_sha,
                "draft": p.pr.draft,
                "kind": p.decision.kind.value,
                "ok": p.decision.ok,
                "grants": grants,
                "approvers": list(a.approvers) if a else [],
                "missing": list(a.missing) if a and not a.satisfied else [],
                "errors": [f.as_dict() for f in p.errors],
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"now": format_rfc3339(now), "requests": rows}, indent=2))
        return
    if not rows:
        click.echo("no open requests")
    for r in rows:
        what = "; ".join(
            f"{g['entitlement']} for {g['principal']} "
            + (
                f"({g['duration']} from approval)"
                if g["from_approval"]
                else f"until {g['expires_at']}"
            )
            for g in r["grants"]
        )
        state = (
            "breaks policy"
            if not r["ok"]
            else ("needs " + "; ".join(r["missing"]) if r["missing"] else "approved")
        )
        got = ", ".join(r["approvers"]) or "none"
        click.echo(f"#{r['pr']} {r['author']}: {what}; approvals: {got}; {state}")


def _notify_approvals(env: Any, r: Any) -> None:
    """A merge tells approved + granted (or break-glass + granted); a stale PR, closed."""
    from controller.cli.notifying import notify, trusted_catalog
    from controller.notify.events import grant_event

    if r.decision is None or not (r.merged or r.closed):
        return
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    author = r.author
    events = []
    for c in r.decision.changes:
        g = c.after or c.before
        if g is None:
            continue

        def ev(kind: str, actor: str, detail: str = "", g: Any = g) -> Any:
            return grant_event(
                kind, g, actor=actor, repository=repository, at=env.now, pr=r.number, detail=detail
            )

        if r.closed:
            events.append(ev("closed", "jitctl", r.note))
            continue
        if c.after is None:
            revoked = c.kind.value == "revocation"
            events.append(ev("revoked", author) if revoked else ev("expired", "jitctl"))
            continue
        if r.review_by is not None:
            events.append(
                ev("break-glass", author or "", "merged WITHOUT approval; approve it before "
                   + format_rfc3339(r.review_by))
            )  # fmt: skip
        for a in r.approval.approvers if r.approval else ():
            events.append(ev("approved", a))
        events.append(ev("granted", author or ""))
    notify(trusted_catalog(env.catalog_path, env.repo_path), events)


# --- doctor --------------------------------------------------------------------------------


@main.command()
@click.option("--branch", default=None, help="The branch to inspect (default: the default branch).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format; json is a stable schema on stdout.",
)  # fmt: skip
def doctor(branch: str | None, fmt: str) -> None:
    """Check the repository's GitHub settings for what is unsafe or missing.

    The `jitctl` status must be required on the default branch (from the App), code-owner
    review required and CODEOWNERS giving every path outside grants/ an owner (a catch-all),
    no force pushes or deletion, no bypass, and jit/expire writable by the App alone.
    Exit 1 when there are findings.

    Example: GITHUB_REPOSITORY=acme/access jitctl doctor --format json
    """
    forge = open_forge()
    try:
        settings = forge.settings(branch or forge.default_branch())
    finally:
        forge.close()
    from controller.github.doctor import diagnose

    findings = diagnose(settings)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"branch": settings.default_branch, "findings": [f.as_dict() for f in findings]},
                indent=2,
            )
        )
    else:
        for f in findings:
            click.echo(finding_text(f))
        click.echo("no findings" if not findings else f"{len(findings)} finding(s)")
    sys.exit(1 if findings else 0)


# --- expire and request on GitHub ------------------------------------------------------------


def expire_github(
    repo: GitRepo, *, now: Any, base: str | None, catalog_path: str | None, remote: str,
    merge: bool, dry_run: bool, fmt: str,
) -> None:  # fmt: skip
    forge = open_forge()
    try:
        from controller.github.expire import expire_on_github

        result = expire_on_github(
            forge, repo, now=now, base=base or forge.default_branch(), catalog_path=catalog_path,
            remote=remote, merge=merge, dry_run=dry_run,
        )  # fmt: skip
    finally:
        forge.close()
    if result.merged and not result.dry_run:
        from controller.cli.notifying import notify, trusted_catalog
        from controller.notify.events import events_of

        events = events_of(
            "expired", result.expired, actor="jitctl",
            repository=os.environ.get("GITHUB_REPOSITORY", ""), at=now, pr=result.pr,
        )  # fmt: skip
        notify(trusted_catalog(catalog_path, str(repo.path)), events)
    report_expire(result, fmt)


def report_expire(r: GhExpireResult, fmt: str) -> None:
    removed = [
        {"id": g.id, "path": g.path, "expires_at": format_rfc3339(g.expires_at)} for g in r.expired
    ]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "action": r.action,
                    "pr": r.pr,
                    "merged": r.merged,
                    "merge_commit": r.merge_commit,
                    "removed": removed,
                    "dry_run": r.dry_run,
                    "invalid": list(r.invalid),
                    "note": r.note,
                },
                indent=2,
            )
        )
    else:
        if fmt == "github":
            append_step_summary(
                "jitctl expire",
                [],
                [f"expiry PR: {r.action}" + (f" #{r.pr}" if r.pr else "")]
                + [f"- {md(g.id)} (expired {format_rfc3339(g.expires_at)})" for g in r.expired],
            )
        verb = "would remove" if r.dry_run else "removes"
        for item in removed:
            click.echo(f"{verb} {item['path']} (expired {item['expires_at']})")
        if not removed:
            click.echo("nothing has expired")
        pr = f" PR #{r.pr}" if r.pr else ""
        click.echo(f"expiry PR: {r.action}{pr}" + ("; merged" if r.merged else ""))
        if r.note:
            click.echo(r.note, err=True)
    for path in r.invalid:
        click.echo(f"warning: {path} is not a valid grant; `jitctl check` says why", err=True)
    done = r.dry_run or r.merged or not r.expired or r.note.startswith("left open")
    sys.exit(0 if done else 1)


def request_body(p: Proposal, requester: str) -> str:
    g = p.grant
    assert g is not None
    until = f"until **{format_rfc3339(g.expires_at)}**"
    if p.from_approval and g.duration is not None:
        until = f"for **{format_duration(g.duration)} from approval**"
    lines = [
        "<!-- jitctl:request -->",
        f"**{md(requester)}** requests **{md(g.entitlement)}** for **{md(g.principal)}** {until}.",
        "",
        f"Reason: {md(g.reason)}",
    ]
    if g.starts_at:
        lines.append(f"Starts at: {format_rfc3339(g.starts_at)}")
    if g.ticket:
        lines.append(f"Ticket: {md(g.ticket)}")
    lines += ["", f"File: `{p.path}`. Opened with `jitctl request --open-pr`."]
    return "\n".join(lines) + "\n"


def publishing_forge(repo: GitRepo, remote: str) -> Forge:
    """The forge for a developer's command: the repository from the remote (or
    JITCTL_REPOSITORY), a token from the environment or `gh auth token` (github/publish.py)."""
    from controller.github.forge import GitHubForge
    from controller.github.publish import forge_config

    return GitHubForge(forge_config(repo, remote), retry_policy)


def _publish(repo: GitRepo, remote: str, pub: Publication) -> PullRequest:
    """Resolve where and who (nothing pushed yet), then publish (github/publish.py): a
    failure at any step leaves no branch behind, here or on the remote."""
    from controller.github.publish import drop_local, publish

    try:
        forge = publishing_forge(repo, remote)
    except BaseException:
        drop_local(repo, pub)
        raise
    try:
        return publish(repo, forge, pub, remote=remote)
    finally:
        forge.close()


def open_request_pr(
    repo: GitRepo,
    p: Proposal,
    *,
    base: str,
    remote: str,
    requester: str,
    catalog: Catalog,
    labels: tuple[str, ...] = (),
) -> PullRequest:
    """Check, push the request branch and open its pull request (with ``labels``); on any
    failure nothing is left behind (github/publish.py). Then ask the approvers the catalog
    names for a review."""
    from controller.github.publish import Publication

    if p.branch is None or p.grant is None or p.commit is None:
        raise JitError("nothing to open: the request was not committed", rule="usage")
    until = f"until {format_rfc3339(p.grant.expires_at)}"
    if p.from_approval and p.grant.duration is not None:
        until = f"for {format_duration(p.grant.duration)} from approval"
    title = f"jitctl: request {p.grant.entitlement} for {p.grant.principal} {until}"
    pub = Publication(p.branch, p.commit, base, title, request_body(p, requester), labels)
    pr = _publish(repo, remote, pub)
    # ask the approvers the catalog names (as the requester; jitctl's evaluation will not ask
    # again). The PR is open whatever happens here: `jitctl approvals` asks them later.
    from controller.github.reviewers import Asked, ask, reviewers_for

    try:
        forge = publishing_forge(repo, remote)
        try:
            owner = forge.repo.split("/", 1)[0]
            wanted = reviewers_for(p.decision.approval_rules, catalog, requester, owner)
            ask(forge, pr.number, wanted, Asked(), ())
        finally:
            forge.close()
    except JitError as exc:
        click.echo(f"warning: could not ask for reviews: {exc}", err=True)
    return pr


def open_extend_pr(
    repo: GitRepo, p: Proposal, *, base: str, remote: str, requester: str
) -> PullRequest:
    """Check, push the extension branch and open its pull request (approved like a request)."""
    from controller.github.publish import Publication

    if p.branch is None or p.grant is None or p.commit is None:
        raise JitError("nothing to open: the extension was not committed", rule="usage")
    g = p.grant
    title = f"jitctl: extend {g.id} until {format_rfc3339(g.expires_at)}"
    body = "\n".join(
        [
            "<!-- jitctl:extension -->",
            f"**{md(requester)}** asks to extend **{md(g.id)}** ({md(g.entitlement)} for "
            f"**{md(g.principal)}**) until **{format_rfc3339(g.expires_at)}**.",
            "",
            f"Reason: {md(g.reason)}",
            "",
            f"File: `{p.path}`. Needs approval like a request. Opened with "
            "`jitctl extend --open-pr`.",
        ]
    )
    return _publish(repo, remote, Publication(p.branch, p.commit, base, title, body + "\n"))


REVOCATION_LABEL = "revocation"  # for people filtering; jitctl judges the diff, never the label


def open_revoke_pr(
    repo: GitRepo, grant: Grant, *, branch: str, sha: str, base: str, remote: str, by: str,
    reason: str | None,
) -> PullRequest:  # fmt: skip
    """Check, push the revocation branch and open its pull request. It deletes one grant
    file and nothing else, so `jitctl approvals --merge` (the merge workflow) merges it
    without approval; what it is comes from the diff, not from this title or label."""
    from controller.github.publish import Publication

    title = f"jitctl: revoke {grant.id} ({grant.entitlement} for {grant.principal})"
    body = "\n".join(
        [
            "<!-- jitctl:revocation -->",
            f"**{md(by)}** revokes **{md(grant.id)}** ({md(grant.entitlement)} for "
            f"**{md(grant.principal)}**, until {format_rfc3339(grant.expires_at)}).",
            "",
            f"Reason: {md(reason)}" if reason else "No reason given.",
            "",
            f"Deletes `{grant.path}` only: it lowers privilege, so it needs no approval and the "
            "merge workflow merges it. Opened with `jitctl revoke`.",
        ]
    )
    pub = Publication(branch, sha, base, title, body + "\n", (REVOCATION_LABEL,))
    return _publish(repo, remote, pub)
