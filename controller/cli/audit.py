"""``jitctl audit``: the audit log rebuilt from git history."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import click

from controller.audit.history import read_history, read_reviews
from controller.audit.lifecycles import build_report, replay
from controller.audit.report import to_csv, to_html, to_jsonl, to_markdown
from controller.cli.app import (
    Env,
    _duration,
    _time,
    main,
)
from controller.cli.output import (
    atomic_write,
)


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
    report is the product: the exit code is 0 unless an error finding (a break-glass grant not
    approved in time), or --fail-on-findings and a warning. A summary of the findings goes to
    stderr.

    Example: jitctl audit --since 2026-01-01T00:00:00Z --format html --out audit.html
    """
    end = until or env.now
    if since is not None and since > end:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    with env.repo() as repo:
        branch = ref or repo.default_branch()
        repo.rev(branch)
        records = read_history(repo.path, branch)
        reviews = read_reviews(repo.path, branch)
    report = build_report(
        replay(records),
        reviews=reviews,
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
        atomic_write(Path(out), text)
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    click.echo(
        f"audit of {branch}: {len(report.events)} event(s), {len(report.windows)} window(s); "
        + (", ".join(f"{rule}: {n}" for rule, n in sorted(counts.items())) or "no findings"),
        err=True,
    )
    sys.exit(1 if report.errors or (fail_on_findings and report.warnings) else 0)
