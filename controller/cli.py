"""The ``jitctl`` command line. Thin: parse options, call the library, format the result.

Exit codes: 0 ok, 1 findings or policy violation, 2 usage, input or I/O error, 3 a bug.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from . import local as local_ops
from .audit import build_report, replay
from .auditlog import read_history
from .auditreport import to_csv, to_html, to_jsonl, to_markdown
from .errors import JitError
from .gitrepo import GitRepo
from .local import Ctx, Proposal
from .model import ChangeKind, Finding, GrantState, Severity, grant_state
from .policy import check_change, check_tree
from .render import render
from .report import (
    annotation,
    append_step_summary,
    decision_json,
    decision_text,
    finding_text,
)
from .snapshot import gather_change, read_catalog, read_grant_files
from .timeutil import format_duration, format_rfc3339, parse_duration, parse_rfc3339

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Env:
    repo_path: str
    catalog_path: str | None
    now_text: str | None

    @property
    def now(self) -> datetime:
        if self.now_text is None:
            return datetime.now(UTC)
        return parse_rfc3339(self.now_text)

    def repo(self) -> GitRepo:
        return GitRepo(self.repo_path)


class JitGroup(click.Group):
    """Turns JitError into ``Error: ...`` / exit 2 and a bug into a short report / exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JitError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: say so briefly, with where it happened
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(
                f"Internal error (a bug in jitctl {__version__}): {type(exc).__name__}: {exc}\n"
                f"  at {Path(tb.filename).name}:{tb.lineno} in {tb.name}\n"
                "  Please report it with the command you ran.",
                err=True,
            )
            ctx.exit(3)


def _validate_now(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    _time(ctx, param, value)
    return value


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(cls=JitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="jitctl")
@click.option(
    "--repo",
    "repo_path",
    default=".",
    show_default=True,
    help="The access repository (a git checkout).",
)
@click.option(
    "--catalog",
    "catalog_path",
    default=None,
    help="A catalog file on disk to judge by (default: catalog.yaml as committed at the judged "
    "ref, e.g. the base of a change). Give it only from a trusted checkout.",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    callback=_validate_now,
    help="The time to judge at, RFC 3339 (default: the clock). For tests and replays.",
)
@click.pass_context
def main(
    ctx: click.Context, repo_path: str, catalog_path: str | None, now_text: str | None
) -> None:
    """jitctl: GitOps just-in-time privilege elevation for Terraform.

    Every elevated permission is a file under grants/, added by a reviewed pull request,
    applied by Terraform and removed when it expires.

    Example: jitctl --repo . check --base origin/main --head HEAD --author alice
    """
    ctx.obj = Env(repo_path, catalog_path, now_text)


def fmt_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format; json is a stable schema on stdout.",
    )


def ref_option(f: F) -> F:
    return click.option(
        "--ref", default="HEAD", show_default=True, help="The git ref to read grants from."
    )(f)


@main.command()
@click.option("--base", default=None, help="Base ref of the change (the catalog is read here).")
@click.option("--head", default=None, help="Head ref of the change (default HEAD with --base).")
@click.option("--author", default=None, help="GitHub login of the requester (the PR author).")
@click.option(
    "--expect-kind",
    type=click.Choice([ChangeKind.EXPIRY.value]),
    default=None,
    help="Fail unless the change is exactly this kind (used for the expiry PR).",
)
@fmt_option("text", "json", "github")
@click.pass_obj
def check(
    env: Env,
    base: str | None,
    head: str | None,
    author: str | None,
    expect_kind: str | None,
    fmt: str,
) -> None:
    """Validate a change against the catalog at its base, or every grant at HEAD.

    With --base/--head: the change from the merge base to head, judged by the catalog at
    --base (a change cannot loosen the policy it is judged by). Without: every grant at HEAD.

    Example: jitctl check --base main --head jit/request/alice-x --author alice --format json
    """
    if head is not None and base is None:
        raise click.UsageError("--head needs --base")
    now = env.now
    with env.repo() as repo:
        if base is None:
            catalog = read_catalog(repo, "HEAD", env.catalog_path)
            findings = check_tree(catalog, read_grant_files(repo, "HEAD").values(), now)
            ok = not any(f.severity is Severity.ERROR for f in findings)
            if fmt == "json":
                click.echo(
                    json.dumps(
                        {
                            "ok": ok,
                            "kind": "none",
                            "needs_approval": False,
                            "approval_rules": [],
                            "findings": [f.as_dict() for f in findings],
                        },
                        indent=2,
                    )
                )
            elif fmt == "github":
                _github(findings, ["Every grant at HEAD checked."])
            else:
                for f in findings:
                    click.echo(finding_text(f))
                click.echo("all grants ok" if ok else "grants have errors")
            sys.exit(0 if ok else 1)
        cs = gather_change(
            repo,
            base=base,
            head=head or "HEAD",
            author=author,
            now=now,
            catalog_path=env.catalog_path,
            claimed_kind=ChangeKind(expect_kind) if expect_kind else None,
        )
    decision = check_change(cs)
    if fmt == "json":
        click.echo(json.dumps(decision_json(decision), indent=2))
    elif fmt == "github":
        _github(list(decision.findings), decision_text(decision)[len(decision.findings) :])
    else:
        for line in decision_text(decision):
            click.echo(line)
    sys.exit(0 if decision.ok else 1)


def _github(findings: list[Any], extra: list[str]) -> None:
    for f in findings:
        click.echo(annotation(f))
    for line in extra:
        click.echo(line)
    append_step_summary("jitctl check", findings, extra)


@main.command(name="list")
@click.option(
    "--state",
    type=click.Choice(["active", "expired", "pending", "overdue", "all"]),
    default="all",
    show_default=True,
    help="Which grants to show; overdue = expired at least --grace ago and still here.",
)
@click.option(
    "--grace",
    default="30m",
    show_default=True,
    callback=_duration,
    help="With --state overdue: how long an expired grant may stay before it is overdue.",
)
@ref_option
@fmt_option("text", "json")
@click.pass_obj
def list_(env: Env, state: str, grace: timedelta, ref: str, fmt: str) -> None:
    """List the grants at a ref and their state (active, pending, expired).

    Invalid grant files are reported on stderr and make the exit code 1. With --state
    overdue (the watchdog for a late or dead expiry schedule) any grant listed makes it 1 too.

    Example: jitctl --now 2026-11-25T00:00:00Z list --state expired --format json
    """
    now = env.now
    with env.repo() as repo:
        files = read_grant_files(repo, ref)
    rows: list[dict[str, Any]] = []
    bad: list[Finding] = []
    for path in sorted(files):
        gf = files[path]
        if gf.grant is None:
            bad.extend(gf.findings)
            continue
        g = gf.grant
        st = grant_state(g, now)
        if state == "overdue":
            if st is not GrantState.EXPIRED or now - g.expires_at < grace:
                continue
        elif state != "all" and st.value != state:
            continue
        rows.append(
            {
                "id": g.id,
                "path": g.path,
                "state": st.value,
                "principal": g.principal,
                "entitlement": g.entitlement,
                "starts_at": format_rfc3339(g.starts_at) if g.starts_at else None,
                "expires_at": format_rfc3339(g.expires_at),
                "reason": g.reason,
                "ticket": g.ticket,
            }
        )
    if fmt == "json":
        # one line: the C encoder (indent falls back to a pure-Python one, 10x slower)
        click.echo(json.dumps({"now": format_rfc3339(now), "grants": rows}))
    else:
        if not rows:
            click.echo("no grants" if state == "all" else f"no {state} grants")
        for r in rows:
            exp = parse_rfc3339(r["expires_at"])
            when = (
                f"expired {format_duration(now - exp)} ago"
                if r["state"] == GrantState.EXPIRED
                else f"{format_duration(exp - now)} left"
            )
            starts = r["starts_at"]
            if r["state"] == GrantState.PENDING and isinstance(starts, str):
                when = f"starts in {format_duration(parse_rfc3339(starts) - now)}"
            click.echo(
                f"{r['state']:<8} {r['id']}  {r['principal']} -> {r['entitlement']}  "
                f"until {r['expires_at']} ({when})"
            )
    for f in bad:
        click.echo(finding_text(f), err=True)
    if state == "overdue" and rows:
        click.echo(
            f"{len(rows)} grant(s) expired more than {format_duration(grace)} ago and are still "
            "on the branch: is the expiry schedule running? (cloud-side conditions have already "
            "ended the access)",
            err=True,
        )
    sys.exit(1 if bad or (state == "overdue" and rows) else 0)


@main.command(name="render")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write here (- stdout).")
@ref_option
@click.pass_obj
def render_(env: Env, out: str | None, ref: str) -> None:
    """Write the Terraform input (JSON variables) for the grants active or pending now.

    Expired grants are never passed on. If any grant file is invalid or names an unknown
    entitlement, nothing is written and the exit code is 1.

    Example: jitctl render --out terraform/grants.auto.tfvars.json
    """
    now = env.now
    with env.repo() as repo:
        catalog = read_catalog(repo, ref, env.catalog_path)
        files = read_grant_files(repo, ref)
    findings = [f for gf in files.values() for f in gf.findings if f.severity is Severity.ERROR]
    grants = [gf.grant for gf in files.values() if gf.grant is not None]
    result = render(grants, catalog, now)
    findings.extend(result.findings)
    if findings:
        for f in findings:
            click.echo(finding_text(f), err=True)
        click.echo("render refused: fix the grant files above (nothing written)", err=True)
        sys.exit(1)
    text = json.dumps(result.document, indent=2, sort_keys=True) + "\n"
    if out is None or out == "-":
        click.echo(text, nl=False)
    else:
        _atomic_write(Path(out), text)
        click.echo(
            f"rendered {len(result.document['grants'])} grant(s) to {out}"
            + (
                f"; left out {len(result.skipped_expired)} expired"
                if result.skipped_expired
                else ""
            ),
            err=True,
        )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JitError(f"cannot write {path}: {exc.strerror}", rule="io") from None


# --- the local lifecycle -------------------------------------------------------------------


def branch_option(f: F) -> F:
    return click.option(
        "--default-branch",
        "default_branch",
        default=None,
        help="The branch grants live on (default: origin's HEAD, else main/master).",
    )(f)


def _ctx(env: Env, repo: GitRepo, default_branch: str | None) -> Ctx:
    return Ctx(
        repo=repo,
        branch=default_branch or repo.default_branch(),
        now=env.now,
        catalog_path=env.catalog_path,
        pin_dates=env.now_text is not None,
    )


def _need_local(local: bool, what: str) -> None:
    if not local:
        raise click.UsageError(
            f"{what} on GitHub is not available in this build yet; use --local for a plain git "
            "repository"
        )


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
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@click.option("--local", is_flag=True, help="Commit on a new branch jit/request/<id>.")
@click.option(
    "--open-pr", is_flag=True, help="Commit, push the branch to --remote and open the PR (GitHub)."
)
@click.option("--remote", default="origin", show_default=True, help="The git remote (GitHub).")
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
    login: str | None,
    local: bool,
    open_pr: bool,
    remote: str,
    default_branch: str | None,
    fmt: str,
) -> None:
    """Ask for an entitlement: write grants/<id>.hcl, judged by policy before anything is written.

    expires_at = (starts_at or now) + DURATION. With --local the file is committed on a new
    branch jit/request/<id>; without, it is written into the work tree for you to commit.

    With --open-pr it is also pushed to --remote and a pull request is opened on GitHub.

    Example: jitctl request aws-prod-readonly --for 4h --reason "INC-1234" --as alice --local
    """
    with env.repo() as repo:
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
        )
        if open_pr and proposal.decision.ok:
            from .cli_github import open_request_pr

            who = local_ops.whoami(repo, ctx.catalog(), login)
            pr = open_request_pr(repo, proposal, base=ctx.branch, remote=remote, requester=who)
            click.echo(f"opened PR #{pr.number} {pr.html_url}".rstrip(), err=True)
    _report_proposal(proposal, fmt, "wrote")


@main.command()
@click.argument("grant_id", metavar="ID")
@click.option("--for", "duration", required=True, callback=_duration, help="How much longer.")
@click.option("--reason", default=None, help="A new reason (default: keep the old one).")
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@click.option("--local", is_flag=True, help="Commit on a new branch jit/extend/<id>-<time>.")
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
    default_branch: str | None,
    fmt: str,
) -> None:
    """Extend a grant: expires_at moves later by DURATION (from now if it already passed).

    The change needs approval again, like a request, and stays within max_duration.

    Example: jitctl extend alice-aws-prod-readonly-20261124t1200 --for 2h --as alice --local
    """
    with env.repo() as repo:
        ctx = _ctx(env, repo, default_branch)
        proposal = local_ops.extend(
            ctx, grant_id=grant_id, duration=duration, login=login, reason=reason, commit=local
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
    _need_local(local, "merge")
    approvers = [a.strip() for a in approved_by.split(",") if a.strip()]
    with env.repo() as repo:
        result = local_ops.merge(
            _ctx(env, repo, default_branch), branch=branch, approvers=approvers, author=author
        )
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
    help="GitHub: merge the expiry PR once checked (--no-merge: leave it to auto-merge).",
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
        from .cli_github import expire_github

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
        result = local_ops.expire(_ctx(env, repo, default_branch), dry_run=dry_run)
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
@click.option("--reason", default=None, help="Why (recorded in the commit).")
@click.option("--as", "login", default=None, help="Your GitHub login (default: from git).")
@branch_option
@click.pass_obj
def revoke(
    env: Env,
    grant_id: str,
    local: bool,
    reason: str | None,
    login: str | None,
    default_branch: str | None,
) -> None:
    """Revoke a grant early: delete its file (lowers privilege, so no approval is needed).

    Example: jitctl revoke alice-aws-prod-readonly-20261124t1200 --local --as carol
    """
    _need_local(local, "revoke")
    with env.repo() as repo:
        grant, sha = local_ops.revoke(
            _ctx(env, repo, default_branch), grant_id=grant_id, login=login, reason=reason
        )
    click.echo(f"revoked {grant.id} ({grant.entitlement} for {grant.principal}) in {sha[:12]}")


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to build the sandbox repository (default: a new temporary folder).",
)
@click.pass_obj
def demo(env: Env, directory: Path | None) -> None:
    """Run the whole lifecycle in a local sandbox repository: no GitHub, no cloud.

    alice requests access, the policy check runs, a self-approval is refused, carol approves and
    it merges, render shows the Terraform input and its cloud-side expiry, time passes, expire
    removes the grant, and git log shows the trail.

    Example: jitctl demo --dir /tmp/jitctl-demo
    """
    from .demo import run_demo

    def run(argv: Sequence[str]) -> tuple[int, str]:
        runner_out = io.StringIO()
        with contextlib.redirect_stdout(runner_out), contextlib.redirect_stderr(runner_out):
            try:
                main.main(args=list(argv), prog_name="jitctl", standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except click.ClickException as exc:
                exc.show()
                code = exc.exit_code
            except click.exceptions.Exit as exc:
                code = exc.exit_code
        return code, runner_out.getvalue()

    now = env.now if env.now_text else None
    run_demo(directory, now, run)


# --- audit ---------------------------------------------------------------------------------


@main.command(name="audit")
@click.option("--since", callback=_time, help="Start of the period (RFC 3339).")
@click.option("--until", callback=_time, help="End of the period (RFC 3339; default --now).")
@click.option("--principal", default=None, help="Only this principal (a glob: '*@example.com').")
@click.option("--entitlement", default=None, help="Only this entitlement (a glob).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "md", "html"]),
    default="jsonl",
    show_default=True,
    help="jsonl/csv: one event per line (stable columns); md, html: findings first.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write here (- stdout).")
@click.option("--ref", default=None, help="The branch to audit (default: the default branch).")
@click.option(
    "--late-after",
    default="1h",
    show_default=True,
    callback=_duration,
    help="A removal this long after expires_at is an audit.removed-late finding.",
)
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help="Exit 1 when the report has warnings (audit.live is information only).",
)
@click.pass_obj
def audit_(
    env: Env,
    since: datetime | None,
    until: datetime | None,
    principal: str | None,
    entitlement: str | None,
    fmt: str,
    out: str | None,
    ref: str | None,
    late_after: timedelta,
    fail_on_findings: bool,
) -> None:
    """The audit log of every grant, rebuilt from git history alone (no network).

    Walks the first-parent history of the default branch once: who asked for which access,
    who approved it, when it was granted, extended, revoked or expired, by which commit. The
    report is the product: the exit code is 0 unless --fail-on-findings and a warning. A
    summary of the findings goes to stderr.

    Example: jitctl audit --since 2026-01-01T00:00:00Z --format html --out audit.html
    """
    end = until or env.now
    if since is not None and since > end:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    with env.repo() as repo:
        branch = ref or repo.default_branch()
        repo.rev(branch)
        records = read_history(repo.path, branch)
    report = build_report(
        replay(records),
        until=end,
        since=since,
        principal=principal,
        entitlement=entitlement,
        late_after=late_after,
    )
    if fmt == "jsonl":
        text = to_jsonl(report)
    elif fmt == "csv":
        text = to_csv(report)
    elif fmt == "md":
        text = to_markdown(report, branch)
    else:
        text = to_html(report, branch)
    if out is None or out == "-":
        click.echo(text, nl=False)
    else:
        _atomic_write(Path(out), text)
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    click.echo(
        f"audit of {branch}: {len(report.events)} event(s), {len(report.windows)} window(s); "
        + (", ".join(f"{rule}: {n}" for rule, n in sorted(counts.items())) or "no findings"),
        err=True,
    )
    sys.exit(1 if fail_on_findings and report.warnings else 0)


# --- GitHub commands (controller/cli_github.py) -----------------------------------------------
from .cli_github import approvals as _approvals  # noqa: E402
from .cli_github import doctor as _doctor  # noqa: E402

main.add_command(_approvals)
main.add_command(_doctor)
