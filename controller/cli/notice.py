"""``remind`` and ``review``: telling people before access ends, and the after-the-fact review
of a break-glass grant."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import click

from controller.cli.app import Env, _ctx, _duration, branch_option, fmt_option, main
from controller.cli.notifying import notify, repository_name
from controller.core.errors import JitError
from controller.core.model import Catalog
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md
from controller.git import breakglass, reminders
from controller.git.repo import GitRepo
from controller.notify.events import extend_command, grant_event, run_event


@main.command()
@click.option(
    "--before",
    required=True,
    callback=_duration,
    help="Remind about grants that expire within this window: 30m, 1h.",
)
@click.option("--local", is_flag=True, help="Remember reminders in this repository's refs.")
@click.option("--dry-run", is_flag=True, help="Say who would be reminded; send nothing.")
@click.option("--remote", default="origin", show_default=True, help="GitHub: the git remote.")
@branch_option
@fmt_option("text", "json")
@click.pass_obj
def remind(
    env: Env,
    before: timedelta,
    local: bool,
    dry_run: bool,
    remote: str,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Tell people that access ends soon, once per grant and expiry (for a schedule).

    Every grant that expires within --before gets one `expiring` notification with the
    `jitctl extend` command to run; a grant already reminded for its current expires_at is
    skipped (the reminder is remembered as the ref refs/jitctl/reminded/<id>/<expires_at>).
    On GitHub (without --local) that ref is pushed to --remote, which lets one run only create
    it, and the grant's pull request gets one comment.

    Example: jitctl remind --before 30m --local
    """
    if not local and not dry_run:
        _remind_github(env, before, remote, default_branch, fmt)
        return
    sent = []
    with env.repo() as repo:
        ctx = _ctx(env, repo, default_branch)
        due = reminders.due(repo, ctx.branch, ctx.now, before)
        catalog = ctx.catalog()
        events = []
        for g, already in due:
            if already or dry_run or not reminders.claim(repo, ctx.branch, g):
                continue
            sent.append(g)
            left = format_duration(g.expires_at - ctx.now)
            events.append(
                grant_event(
                    "expiring",
                    g,
                    actor="jitctl",
                    repository=repository_name(repo),
                    at=ctx.now,
                    detail=f"ends in {left}; to keep it: {extend_command(g)}",
                )
            )
        notify(catalog, events)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "due": [g.id for g, _ in due],
                    "reminded": [g.id for g in sent],
                    "dry_run": dry_run,
                },
                indent=2,
            )
        )
        return
    if not due:
        click.echo("no grant expires within " + format_duration(before))
    for g, already in due:
        what = (
            "already reminded"
            if already or (not dry_run and g not in sent)
            else ("would remind" if dry_run else "reminded")
        )
        click.echo(f"{what}: {g.id} expires at {format_rfc3339(g.expires_at)}")


@main.command()
@click.argument("grant_id", metavar="[ID]", required=False)
@click.option("--local", is_flag=True, help="Record the review on this repository's branch.")
@click.option(
    "--github",
    "on_github",
    is_flag=True,
    help="Record the approvals given on the merged break-glass PRs (as the App; a schedule).",
)
@click.option(
    "--approved-by",
    "approved_by",
    default=None,
    help="--local: comma-separated logins who approve (never the requester).",
)
@click.option("--remote", default="origin", show_default=True, help="GitHub: the git remote.")
@branch_option
@fmt_option("text", "json", "github")
@click.pass_obj
def review(
    env: Env,
    grant_id: str | None,
    local: bool,
    on_github: bool,
    approved_by: str | None,
    remote: str,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Approve a break-glass grant after the fact (within its entitlement's review_within).

    The approvals are judged by the entitlement's approval rules, never the requester's own; the
    review is recorded on the default branch with Jit-Kind: review and Approved-by trailers,
    which the audit reads (and accepts only from a commit proven to be jitctl's).

    --local: ID and --approved-by name the grant and the approvers; the review is an empty
    commit. A review after the deadline is recorded and reported late.

    --github (as the App, on a schedule): for every break-glass grant merged on GitHub whose
    review_by is at most a day ago, the approvals given on its merged pull request after the
    merge and by review_by are judged, and when they meet the rules the App records them by
    merging a pull request from jit/review/<id> that changes nothing (once per grant).

    Example: jitctl review dave-aws-prod-admin-20261124t1200 --local --approved-by erin,carol
    """
    if on_github:
        if local or approved_by is not None:
            raise click.UsageError(
                "--github reads the approvals from the pull request: no --local, no --approved-by"
            )
        _review_github(env, grant_id, remote, default_branch, fmt)
        return
    if not local:
        raise click.UsageError(
            "review records the after-the-fact approval as a commit on the default branch of a "
            "plain git repository: give --local (on GitHub, the merge workflow runs "
            "review --github as the App)"
        )
    if grant_id is None or approved_by is None:
        raise click.UsageError("review --local needs ID and --approved-by")
    if fmt == "github":
        fmt = "text"
    approvers = [a.strip() for a in approved_by.split(",") if a.strip()]
    with env.repo() as repo:
        ctx = _ctx(env, repo, default_branch)
        catalog = ctx.catalog()
        result = breakglass.review(
            repo,
            ctx.branch,
            catalog,
            grant_id=grant_id,
            approvers=approvers,
            now=ctx.now,
            env=ctx.env,
        )
        if result.commit is not None:
            notify(
                catalog,
                [
                    grant_event(
                        "approved",
                        result.grant,
                        actor=a,
                        repository=repository_name(repo),
                        at=ctx.now,
                        detail="break-glass review" + (" (LATE)" if result.late else ""),
                    )
                    for a in result.approval.approvers
                ],
            )
    a = result.approval
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "grant": grant_id,
                    "reviewed": result.commit is not None,
                    "commit": result.commit,
                    "review_by": format_rfc3339(result.merge.review_by),
                    "late": result.late,
                    "approvers": list(a.approvers),
                    "missing": list(a.missing),
                    "ignored": [{"login": w, "why": y} for w, y in a.ignored],
                },
                indent=2,
            )
        )
    else:
        for who, why in a.ignored:
            click.echo(f"approval by {who} does not count: {why}", err=True)
        if result.commit is None:
            click.echo("refused: not enough approvals: " + "; ".join(a.missing), err=True)
        else:
            late = " LATE (after " + format_rfc3339(result.merge.review_by) + ")"
            click.echo(
                f"reviewed {grant_id} in {result.commit[:12]}" + (late if result.late else "")
            )
    sys.exit(0 if result.commit is not None else 1)


def _review_github(
    env: Env, grant_id: str | None, remote: str, default_branch: str | None, fmt: str
) -> None:
    from controller.cli.github import open_forge
    from controller.github.breakglass import review_on_github

    forge = open_forge()
    try:
        with env.repo() as repo:
            base = default_branch or forge.default_branch()
            done = review_on_github(
                forge, repo, remote=remote, base=base, now=env.now, grant_id=grant_id
            )
            catalog = ctx_catalog(env, repo)
    finally:
        forge.close()
    events = [
        grant_event(
            "approved", r.grant, actor=login, repository=repository_name_env(), at=env.now,
            pr=r.merge.pr, detail="break-glass review given on GitHub",
        )
        for r in done
        if r.state == "recorded" and r.grant is not None and r.approval is not None
        for login in r.approval.approvers
    ]  # fmt: skip
    notify(catalog, events)
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "grant": r.merge.grant_id,
                        "pr": r.merge.pr,
                        "review_by": format_rfc3339(r.merge.review_by),
                        "state": r.state,
                        "approvers": list(r.approval.approvers) if r.approval else [],
                        "missing": (
                            list(r.approval.missing)
                            if r.approval and not r.approval.satisfied
                            else []
                        ),
                        "ignored": (
                            [{"login": w, "why": y} for w, y in r.approval.ignored]
                            if r.approval
                            else []
                        ),
                        "reviews": [
                            {
                                "id": v.id,
                                "login": v.login,
                                "submitted_at": format_rfc3339(v.submitted_at),
                            }
                            for v in r.reviews
                            if v.submitted_at is not None
                        ],
                        "review_pr": r.review_pr,
                        "merge_commit": r.merge_commit,
                        "note": r.note,
                    }
                    for r in done
                ],
                indent=2,
            )
        )
        return
    for r in done:
        gid, by = r.merge.grant_id, format_rfc3339(r.merge.review_by)
        if r.state == "recorded":
            line = (
                f"recorded the review of {gid} ("
                + ", ".join(r.approval.approvers if r.approval else ())
                + ")"
            )
            line += f": PR #{r.review_pr} merged as {(r.merge_commit or '')[:12]}"
        elif r.state == "already":
            line = f"already recorded: {gid}"
        elif r.state in ("waiting", "unreviewed"):
            missing = "; ".join(r.approval.missing) if r.approval else ""
            when = "was due" if r.state == "unreviewed" else "due"
            line = f"not reviewed yet: {gid} ({when} by {by}; missing {missing})"
            if r.note:
                line += f"; {r.note}"
        else:
            line = f"cannot review {gid}: {r.note}"
        warn = r.state in ("unreviewed", "invalid", "no-pr")
        click.echo(f"::warning::{line}" if fmt == "github" and warn else line)
    if not done:
        click.echo("no break-glass grant waits for its review")


@main.command()
@click.option(
    "--apply-result",
    "result",
    type=click.Choice(["success", "failure"]),
    required=True,
    help="How the apply ended (the workflow's needs.apply.result).",
)
@click.option("--ref", default="HEAD", show_default=True, help="The applied commit.")
@click.option("--run-url", default=None, help="A link to the apply run, for the comments.")
@click.pass_obj
def announce(env: Env, result: str, ref: str, run_url: str | None) -> None:
    """After an apply (GitHub): tell each live grant's requester on its pull request.

    One comment per grant, expires_at and result: "access is live until ..." or "the apply
    failed" (which also notifies `failed`). The PR comes from the merge commit's Jit-PR
    trailer; a grant merged without one is skipped. Run again, it posts nothing twice.

    Example: jitctl announce --apply-result success
    """
    from controller.cli.github import open_forge
    from controller.github.announce import announce as run_announce

    forge = open_forge()
    try:
        with env.repo() as repo:
            done = run_announce(forge, repo, ref=ref, now=env.now, result=result, run_url=run_url)
            catalog = ctx_catalog(env, repo)
    finally:
        forge.close()
    posted = [a for a in done if a.posted]
    if result == "failure" and posted:
        notify(
            catalog,
            [
                grant_event(
                    "failed", a.grant, actor="jitctl", repository=repository_name_env(),
                    at=env.now, pr=a.pr, detail="the apply failed; access may not be live",
                )
                for a in posted
            ],
        )  # fmt: skip
    for a in done:
        verb = "commented on" if a.posted else "already told"
        click.echo(f"{verb} PR #{a.pr}: {a.grant.id} ({result})")
    if not done:
        click.echo("no live grant with a pull request")


def ctx_catalog(env: Env, repo: GitRepo) -> Catalog | None:
    from controller.cli.notifying import trusted_catalog

    return trusted_catalog(env.catalog_path, str(repo.path))


def repository_name_env() -> str:
    import os

    return os.environ.get("GITHUB_REPOSITORY", "")


@main.command()
@click.option("--plan", "plan_path", required=True, help="terraform show -json of the plan.")
@click.option("--render", "render_path", required=True, help="The jitctl render file applied.")
@fmt_option("text", "json", "github")
@click.pass_obj
def drift(env: Env, plan_path: str, render_path: str, fmt: str) -> None:
    """Report drift: planned changes that no grant change explains (a scheduled apply).

    On a schedule the branch's grants are already applied, so the only change they explain is
    removing a grant that render no longer passes (expired or removed). Anything else is drift:
    reported (a `drift` notification, a job-summary table with --format github) before the
    apply puts the cloud back to what git says. Exit 1 when there is drift.

    Example: jitctl drift --plan plan.json --render render.tfvars.json --format github
    """
    import os

    from controller.formats.plan import drift as find_drift
    from controller.formats.plan import plan_changes

    try:
        with open(plan_path, encoding="utf-8") as fh:
            plan = json.load(fh)
        with open(render_path, encoding="utf-8") as fh:
            rendered = json.load(fh)["grants"]
        changes = plan_changes(plan)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JitError(f"cannot read the plan or the render: {exc}", rule="io") from None
    found = find_drift(changes, set(rendered))
    if found:
        with env.repo() as repo:
            catalog = ctx_catalog(env, repo)
        kinds = ", ".join(f"{c.kind} {c.address}" for c in found[:5])
        more = f" (+{len(found) - 5} more)" if len(found) > 5 else ""
        notify(
            catalog,
            [
                run_event(
                    "drift", actor="jitctl", repository=repository_name_env(), at=env.now,
                    detail=f"{len(found)} change(s) no grant explains: {kinds}{more}",
                )
            ],
        )  # fmt: skip
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "drift": [
                        {"address": c.address, "grant": c.grant, "kind": c.kind} for c in found
                    ],
                    "explained": len(changes) - len(found),
                },
                indent=2,
            )
        )
    else:
        for c in found:
            line = f"drift: {c.kind} {c.address}" + (f" (grant {c.grant})" if c.grant else "")
            click.echo(f"::warning::{line}" if fmt == "github" else line)
        if not found:
            click.echo(f"no drift ({len(changes)} planned change(s), all explained)")
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if fmt == "github" and summary and found:
            rows = ["### jitctl: drift", "", "| change | resource | grant |", "|---|---|---|"]
            rows += [f"| {c.kind} | {md(c.address)} | {md(c.grant or '')} |" for c in found]
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write("\n".join(rows) + "\n\nThe apply puts these back to what git says.\n")
    sys.exit(1 if found else 0)


def _remind_github(
    env: Env, before: timedelta, remote: str, default_branch: str | None, fmt: str
) -> None:
    from controller.cli.github import open_forge
    from controller.github.remind import remind_on_github

    forge = open_forge()
    try:
        with env.repo() as repo:
            base = default_branch or forge.default_branch()
            done = remind_on_github(
                forge, repo, remote=remote, base=base, now=env.now, before=before
            )
            catalog = ctx_catalog(env, repo)
    finally:
        forge.close()
    events = [
        grant_event(
            "expiring", r.grant, actor="jitctl", repository=repository_name_env(), at=env.now,
            pr=r.pr, detail=f"to keep it: {extend_command(r.grant)}",
        )
        for r in done
        if r.sent
    ]  # fmt: skip
    notify(catalog, events)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "due": [r.grant.id for r in done],
                    "reminded": [r.grant.id for r in done if r.sent],
                    "dry_run": False,
                },
                indent=2,
            )
        )
        return
    for r in done:
        where = f" (PR #{r.pr})" if r.pr else ""
        click.echo(f"{'reminded' if r.sent else 'already reminded'}: {r.grant.id}{where}")
    if not done:
        click.echo("no grant expires within " + format_duration(before))
