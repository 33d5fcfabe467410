"""``jitctl audit``: the audit log rebuilt from git history."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import click

from controller.audit.history import HistoryReader
from controller.audit.lifecycles import History, build_report, replay
from controller.audit.report import to_csv, to_html, to_jsonl, to_markdown, to_ocsf
from controller.cli.app import (
    Env,
    _duration,
    main,
)
from controller.cli.output import (
    atomic_write,
)
from controller.core.errors import JitError
from controller.core.model import Catalog
from controller.core.times import parse_day_or_rfc3339


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    return _day(value, end_of_day=False)


def _until(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    return _day(value, end_of_day=True)


def _day(value: str | None, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_day_or_rfc3339(value, end_of_day=end_of_day)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _unmatched(
    option: str, pattern: str | None, known: set[str], catalog: Catalog | None
) -> str | None:
    """A one-line notice when a filter matches nothing in the catalog or the history."""
    if pattern is None or any(fnmatchcase(k, pattern) for k in known):
        return None
    where = "the catalog or the history" if catalog is not None else "the history"
    return f"audit: {option} {pattern!r} matches nothing in {where}; the report is empty"


def _known(history: History, catalog: Catalog | None) -> tuple[set[str], set[str]]:
    principals = {w.principal for w in history.windows}
    entitlements = {w.entitlement for w in history.windows}
    if catalog is not None:
        principals.update(p for ps in catalog.identities.values() for p in ps)
        entitlements.update(catalog.entitlements)
    return principals, entitlements


@main.command(name="audit")
@click.option(
    "--since", callback=_since, help="Start of the period: a date (2026-10-01) or RFC 3339."
)
@click.option(
    "--until",
    callback=_until,
    help="End of the period: a date (the whole day counts) or RFC 3339; default --now.",
)
@click.option("--principal", default=None, help="Only this principal (a glob: '*@example.com').")
@click.option("--entitlement", default=None, help="Only this entitlement (a glob).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "md", "html", "ocsf"]),
    default="jsonl",
    show_default=True,
    help="jsonl/csv: one event per line (stable columns); md, html: findings first; ocsf: one "
    "OCSF User Access Management event per line.",
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
    help="Exit 1 also when the report has warnings (errors always exit 1; info never).",
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
    who approved it, when it was granted, extended, revoked or expired, by which commit. Each
    grant and extension is re-judged: its commit must be proven to be jitctl's (a signature
    the audited tree trusts) and its approvals must meet the catalog as it was at its parent.
    The report is the product, and its errors (unproven or unapproved access, a break-glass
    grant not approved in time) exit 1; --fail-on-findings also fails on warnings. A summary
    of the findings goes to stderr.

    Example: jitctl audit --since 2026-10-01 --until 2026-10-31 --format html --out audit.html
    """
    end = until or env.now
    if since is not None and since > end:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    with env.repo() as repo:
        branch = ref or repo.default_branch()
        repo.rev(branch)
        cut = repo.is_shallow()
        if cut:
            raise JitError(
                f"{repo.path} is a shallow clone: the history behind {cut} commit(s) is "
                "missing, so the audit cannot say who asked or approved; fetch it all "
                "(git fetch --unshallow; actions/checkout: fetch-depth: 0)",
                rule="git",
            )
        reader = HistoryReader(repo.path)
        records = reader.read(branch)
        reviews = reader.reviews
    history = replay(records, reader.trust, reader.trust_changes)
    principals, entitlements = _known(history, reader.tip_catalog)
    for notice in (
        _unmatched("--principal", principal, principals, reader.tip_catalog),
        _unmatched("--entitlement", entitlement, entitlements, reader.tip_catalog),
    ):
        if notice:
            click.echo(notice, err=True)
    report = build_report(
        history,
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
    elif fmt == "ocsf":
        text = to_ocsf(report, branch)
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
        f"audit of {branch}: {len(report.events)} event(s), {len(report.windows)} window(s), "
        f"{len(report.errors)} error(s), {len(report.warnings) - len(report.errors)} warning(s); "
        + (", ".join(f"{rule}: {n}" for rule, n in sorted(counts.items())) or "no findings"),
        err=True,
    )
    sys.exit(1 if report.errors or (fail_on_findings and report.warnings) else 0)
