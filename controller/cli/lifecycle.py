"""``request``, ``extend``, ``merge``, ``expire``, ``revoke``: the lifecycle commands."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

import click

from controller.cli.app import (
    Env,
    _ctx,
    _duration,
    _time,
    branch_option,
    fmt_option,
    main,
)
from controller.cli.notifying import notify, repository_name
from controller.cli.output import (
    decision_json,
    decision_text,
    finding_text,
)
from controller.core.times import format_rfc3339
from controller.git import lifecycle as local_ops
from controller.git.lifecycle import MergeResult, Proposal
from controller.git.repo import GitRepo
from controller.notify.events import Event, events_of, grant_event


def _begin(repo: GitRepo, *, writes: bool = True) -> None:
    note = local_ops.begin(repo, writes=writes)
    if note:
        click.echo(f"note: {note}", err=True)


def merge_events(result: MergeResult, repository: str, now: datetime) -> list[Event]:
    """A merge tells: approved (one per approval that counted) and granted, or break-glass."""
    out: list[Event] = []
    approvers = result.approval.approvers if result.approval else ()
    requester = result.requester or ""
    for c in result.decision.changes:
        g = c.after
        if g is None:
            continue
        if result.review_by is not None:
            why = (
                f"merged WITHOUT approval; approve it before {format_rfc3339(result.review_by)}:"
                f" jitctl review {g.id} --approved-by LOGIN"
            )
            out.append(
                grant_event(
                    "break-glass", g, actor=requester, repository=repository, at=now, detail=why
                )
            )
        for a in approvers:
            out.append(grant_event("approved", g, actor=a, repository=repository, at=now))
        out.append(grant_event("granted", g, actor=requester, repository=repository, at=now))
    return out


def _report_proposal(p: Proposal, fmt: str, verb: str) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    **decision_json(p.decision),
                    "id": p.grant.id if p.grant else None,
                    "path": p.path,
                    "branch": p.branch,
                    "commit": p.commit,
                    "written": p.decision.ok,
                    "from_approval": p.from_approval,
                },
                indent=2,
            )
        )
    else:
        for line in decision_text(p.decision):
            click.echo(line, err=not p.decision.ok)
        if p.decision.ok:
            where = f"on branch {p.branch} ({p.commit[:12]})" if p.branch and p.commit else ""
            click.echo(f"{verb} {p.path} {where}".rstrip())
        else:
            click.echo(f"refused: nothing written ({p.path} would break policy)", err=True)
    sys.exit(0 if p.decision.ok else 1)


@main.command()
@click.argument("entitlement")
@click.option("--for", "duration", required=True, callback=_duration, help="How long: 30m, 8h.")
@click.option("--reason", required=True, help="Why you need the access (ticket, incident).")
@click.option("--principal", default=None, help="Identity in the target (default: yours).")
@click.option("--starts-at", default=None, callback=_time, help="Start later (RFC 3339).")
@click.option("--ticket", default=None, help="Ticket or incident id.")
@click.option(
    "--fixed-end",
    is_flag=True,
    help="Fix expires_at now ((starts-at or now) + DURATION) instead of starting the clock at "
    "approval.",
)
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@click.option("--local", is_flag=True, help="Commit on a new branch jit/request/<id>.")
@click.option(
    "--open-pr", is_flag=True, help="Commit, push the branch to --remote and open the PR (GitHub)."
)
@click.option("--remote", default="origin", show_default=True, help="The git remote (GitHub).")
@click.option(
    "--break-glass",
    "break_glass",
    is_flag=True,
    help="Emergency: merge without approval (only where the catalog allows break_glass), "
    "to be approved after the fact within review_within.",
)
@branch_option
@fmt_option("text", "json")
@click.pass_obj
def request(
    env: Env,
    entitlement: str,
    duration: timedelta,
    reason: str,
    principal: str | None,
    starts_at: datetime | None,
    ticket: str | None,
    fixed_end: bool,
    login: str | None,
    local: bool,
    open_pr: bool,
    remote: str,
    break_glass: bool,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Ask for an entitlement: write grants/<id>.hcl, judged by policy before anything is written.

    The file asks for DURATION (`duration = "4h"`): the clock starts when the request is
    approved and merged, which writes expires_at = (merge time or starts_at, if later) +
    DURATION, never more than the entitlement's max_duration. With --fixed-end,
    expires_at = (starts_at or now) + DURATION is written now instead. With --local the file is
    committed on a new branch jit/request/<id>; without, it is written into the work tree for
    you to commit.

    With --open-pr it is also pushed to --remote and a pull request is opened on GitHub.
    With --break-glass the request merges without approval where the catalog allows it.

    Example: jitctl request aws-prod-readonly --for 4h --reason "INC-1234" --as alice --local
    """
    with env.repo() as repo:
        _begin(repo)
        ctx = _ctx(env, repo, default_branch)
        proposal = local_ops.request(
            ctx,
            entitlement=entitlement,
            duration=duration,
            reason=reason,
            login=login,
            principal=principal,
            starts_at=starts_at,
            ticket=ticket,
            commit=local or open_pr,
            from_approval=not fixed_end and not break_glass,
            break_glass=break_glass,
        )
        number = None
        if open_pr and proposal.decision.ok:
            from controller.cli.github import open_request_pr

            catalog = ctx.catalog()
            who = local_ops.whoami(repo, catalog, login)
            from controller.github.snapshot import BREAK_GLASS_LABEL

            pr = open_request_pr(
                repo, proposal, base=ctx.branch, remote=remote, requester=who, catalog=catalog,
                labels=(BREAK_GLASS_LABEL,) if break_glass else (),
            )  # fmt: skip
            number = pr.number
            click.echo(f"opened PR #{pr.number} {pr.html_url}".rstrip(), err=True)
        if proposal.commit and proposal.grant is not None:
            catalog = ctx.catalog()
            who = local_ops.whoami(repo, catalog, login)
            notify(
                catalog,
                [
                    grant_event(
                        "requested",
                        proposal.grant,
                        actor=who,
                        repository=repository_name(repo),
                        at=ctx.now,
                        pr=number,
                        detail="BREAK-GLASS: no approval before access" if break_glass else "",
                    )
                ],
            )
    _report_proposal(proposal, fmt, "wrote")


@main.command()
@click.argument("grant_id", metavar="ID")
@click.option("--for", "duration", required=True, callback=_duration, help="How much longer.")
@click.option("--reason", default=None, help="A new reason (default: keep the old one).")
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@click.option("--local", is_flag=True, help="Commit on a new branch jit/extend/<id>-<time>.")
@click.option(
    "--open-pr", is_flag=True, help="Commit, push the branch to --remote and open the PR (GitHub)."
)
@click.option("--remote", default="origin", show_default=True, help="The git remote (GitHub).")
@branch_option
@fmt_option("text", "json")
@click.pass_obj
def extend(
    env: Env,
    grant_id: str,
    duration: timedelta,
    reason: str | None,
    login: str | None,
    local: bool,
    open_pr: bool,
    remote: str,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Extend a grant: expires_at moves later by DURATION (from now if it already passed).

    The change needs approval again, like a request, and stays within max_duration. Without
    --local or --open-pr the file is changed in the work tree for you to commit. With --open-pr
    it is pushed to --remote and a pull request is opened on GitHub (checked first: nothing is
    left behind when anything fails).

    Example: jitctl extend alice-aws-prod-readonly-20261124t1200 --for 2h --as alice --open-pr
    """
    with env.repo() as repo:
        _begin(repo)
        ctx = _ctx(env, repo, default_branch)
        proposal = local_ops.extend(
            ctx, grant_id=grant_id, duration=duration, login=login, reason=reason,
            commit=local or open_pr,
        )  # fmt: skip
        number = None
        if open_pr and proposal.decision.ok:
            from controller.cli.github import open_extend_pr

            who = local_ops.whoami(repo, ctx.catalog(), login)
            pr = open_extend_pr(repo, proposal, base=ctx.branch, remote=remote, requester=who)
            number = pr.number
            click.echo(f"opened PR #{pr.number} {pr.html_url}".rstrip(), err=True)
        if proposal.commit and proposal.grant is not None:
            catalog = ctx.catalog()
            notify(
                catalog,
                [
                    grant_event(
                        "requested",
                        proposal.grant,
                        actor=local_ops.whoami(repo, catalog, login),
                        repository=repository_name(repo),
                        at=ctx.now,
                        pr=number,
                        detail="extension",
                    )
                ],
            )
    _report_proposal(proposal, fmt, "extended")


@main.command()
@click.argument("branch")
@click.option("--local", is_flag=True, help="Merge in this git repository (no GitHub).")
@click.option(
    "--approved-by",
    "approved_by",
    default="",
    help="Comma-separated logins who approved (the author's own approval never counts).",
)
@click.option("--author", default=None, help="The requester (default: the Requested-by trailer).")
@branch_option
@fmt_option("text", "json")
@click.pass_obj
def merge(
    env: Env,
    branch: str,
    local: bool,
    approved_by: str,
    author: str | None,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Merge a request branch if policy and approvals allow it, with audit trailers.

    The branch is checked exactly as `check` does; the approvals must meet every rule of the
    entitlement. A refused merge changes nothing.

    Example: jitctl merge jit/request/alice-gcp-x-20261124t1200 --local --approved-by carol
    """
    if not local:
        raise click.UsageError(
            "on GitHub a pull request is merged by the merge workflow as the jitctl App "
            "(`jitctl approvals --pr N --merge`); `merge --local` merges a branch of a plain git "
            "repository"
        )
    approvers = [a.strip() for a in approved_by.split(",") if a.strip()]
    with env.repo() as repo:
        _begin(repo)
        ctx = _ctx(env, repo, default_branch)
        result = local_ops.merge(ctx, branch=branch, approvers=approvers, author=author)
        if result.merged and result.commit:  # not when it was merged already
            notify(ctx.catalog(), merge_events(result, repository_name(repo), ctx.now))
    a = result.approval
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    **decision_json(result.decision),
                    "merged": result.merged,
                    "commit": result.commit,
                    "requester": result.requester,
                    "refusal": result.refusal,
                    "break_glass": result.decision.break_glass,
                    "review_by": format_rfc3339(result.review_by) if result.review_by else None,
                    "approvers": list(a.approvers) if a else [],
                    "missing": list(a.missing) if a else [],
                    "ignored": [{"login": w, "why": y} for w, y in a.ignored] if a else [],
                },
                indent=2,
            )
        )
    else:
        for f in result.decision.findings:
            click.echo(finding_text(f), err=True)
        if a:
            for who, why in a.ignored:
                click.echo(f"approval by {who} does not count: {why}", err=not result.merged)
        if result.merged and result.commit:
            click.echo(f"merged {branch} ({result.decision.kind.value}) as {result.commit[:12]}")
            if result.review_by is not None:
                click.echo(
                    "BREAK-GLASS: merged without approval; the approvers must approve it with "
                    f"`jitctl review` before {format_rfc3339(result.review_by)}",
                    err=True,
                )
        elif result.merged:
            click.echo(f"{branch} is already merged; nothing to do")
        else:
            click.echo(f"refused: {result.refusal}; nothing changed", err=True)
    sys.exit(0 if result.merged else 1)


@main.command()
@click.option("--local", is_flag=True, help="Commit on the default branch of this repository.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option(
    "--merge/--no-merge",
    default=True,
    show_default=True,
    help="GitHub: merge the expiry PR once checked (--no-merge: leave it open for the next run).",
)
@click.option("--remote", default="origin", show_default=True, help="GitHub: the git remote.")
@branch_option
@fmt_option("text", "json", "github")
@click.pass_obj
def expire(
    env: Env,
    local: bool,
    dry_run: bool,
    merge: bool,
    remote: str,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Remove every grant whose expires_at <= now, in one commit (idempotent).

    Nothing expired: no commit. The commit carries Jit-Kind: expiry and one Expired-Grant
    trailer per grant. Without --local (GitHub): one PR from the fixed branch jit/expire is
    created, updated or closed (reported as created|updated|closed|none), checked and merged.

    Example: jitctl expire --local --dry-run --format json
    """
    if not local:
        from controller.cli.github import expire_github

        with env.repo() as repo:
            expire_github(
                repo,
                now=env.now,
                base=default_branch,
                catalog_path=env.catalog_path,
                remote=remote,
                merge=merge,
                dry_run=dry_run,
                fmt=fmt,
            )
        return
    with env.repo() as repo:
        _begin(repo, writes=not dry_run)
        ctx = _ctx(env, repo, default_branch)
        result = local_ops.expire(ctx, dry_run=dry_run)
        if result.commit:
            notify(
                ctx.catalog(),
                events_of(
                    "expired",
                    result.expired,
                    actor="jitctl",
                    repository=repository_name(repo),
                    at=ctx.now,
                ),
            )
    removed = [
        {"id": g.id, "path": g.path, "expires_at": format_rfc3339(g.expires_at)}
        for g in result.expired
    ]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "removed": removed,
                    "commit": result.commit,
                    "dry_run": dry_run,
                    "invalid": list(result.invalid),
                },
                indent=2,
            )
        )
    else:
        if not removed:
            click.echo("nothing has expired")
        for r in removed:
            click.echo(
                f"{'would remove' if dry_run else 'removed'} {r['path']} "
                f"(expired {r['expires_at']})"
            )
        if result.commit:
            click.echo(f"committed {result.commit[:12]}")
    for path in result.invalid:
        click.echo(f"warning: {path} is not a valid grant; `jitctl check` says why", err=True)


@main.command()
@click.argument("grant_id", metavar="ID")
@click.option("--local", is_flag=True, help="Commit on the default branch of this repository.")
@click.option(
    "--open-pr",
    is_flag=True,
    help="GitHub (the default without --local): push a branch jit/revoke/<id>-<time> to "
    "--remote and open the PR.",
)
@click.option("--remote", default="origin", show_default=True, help="The git remote (GitHub).")
@click.option("--reason", default=None, help="Why (recorded in the commit).")
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@branch_option
@click.pass_obj
def revoke(
    env: Env,
    grant_id: str,
    local: bool,
    open_pr: bool,
    remote: str,
    reason: str | None,
    login: str | None,
    default_branch: str | None,
) -> None:
    """Revoke a grant early: delete its file (lowers privilege, so no approval is needed).

    With --local the deletion is committed on the default branch. Otherwise (GitHub) it is
    committed on a new branch, pushed to --remote and a pull request is opened (checked first:
    nothing is left behind when anything fails); the merge workflow (`jitctl approvals
    --merge`) merges it without approval because it only deletes a grant file.

    Example: jitctl revoke alice-aws-prod-readonly-20261124t1200 --as carol --reason "done"
    """
    if local and open_pr:
        raise click.UsageError("--local and --open-pr exclude each other")
    if not local:
        with env.repo() as repo:
            _begin(repo)
            ctx = _ctx(env, repo, default_branch)
            grant, branch, sha, decision = local_ops.revoke_branch(
                ctx, grant_id=grant_id, login=login, reason=reason
            )
            from controller.cli.github import open_revoke_pr

            pr = open_revoke_pr(
                repo, grant, branch=branch, sha=sha, base=ctx.branch, remote=remote,
                by=local_ops.whoami(repo, ctx.catalog(), login), reason=reason,
            )  # fmt: skip
        click.echo(
            f"opened PR #{pr.number} to revoke {grant.id} ({grant.entitlement} for "
            f"{grant.principal}): {pr.html_url}".rstrip(": ")
        )
        if decision.needs_approval:
            rules = "; AND ".join(r.describe() for r in decision.approval_rules)
            click.echo(
                "you neither hold this grant nor may approve it, so the revocation needs "
                f"approval ({rules or 'no rule applies'}) before the merge workflow merges it",
                err=True,
            )
        else:
            click.echo("it needs no approval: the merge workflow merges it", err=True)
        return
    with env.repo() as repo:
        _begin(repo)
        ctx = _ctx(env, repo, default_branch)
        grant, sha = local_ops.revoke(ctx, grant_id=grant_id, login=login, reason=reason)
        catalog = ctx.catalog()
        notify(
            catalog,
            [
                grant_event(
                    "revoked",
                    grant,
                    actor=local_ops.whoami(repo, catalog, login),
                    repository=repository_name(repo),
                    at=ctx.now,
                )
            ],
        )
    click.echo(f"revoked {grant.id} ({grant.entitlement} for {grant.principal}) in {sha[:12]}")
