"""``jitctl list`` and ``jitctl render``: the grants at a ref, and the Terraform input."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from controller.cli.app import (
    Env,
    _duration,
    fmt_option,
    main,
    ref_option,
)
from controller.cli.output import (
    atomic_write,
    finding_text,
)
from controller.core.model import Finding, GrantState, Severity, grant_state
from controller.core.render import render
from controller.core.times import format_duration, format_rfc3339, parse_rfc3339
from controller.git.snapshot import read_catalog, read_grant_files


@main.command(name="list")
@click.option(
    "--state",
    type=click.Choice(["active", "expired", "pending", "overdue", "all", "requested"]),
    default="all",
    show_default=True,
    help="Which grants to show; overdue = expired at least --grace ago and still here; "
    "requested = open request PRs on GitHub and their approvals so far.",
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
    With --state requested (GitHub) it lists the open pull requests that request or extend a
    grant, with the approvals they have so far and what is still needed: reviewers' to-do list.

    Example: jitctl --now 2026-11-25T00:00:00Z list --state expired --format json
    """
    now = env.now
    if state == "requested":
        from controller.cli.github import list_requested

        list_requested(now=now, catalog_path=env.catalog_path, fmt=fmt)
        return
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
        atomic_write(Path(out), text)
        click.echo(
            f"rendered {len(result.document['grants'])} grant(s) to {out}"
            + (
                f"; left out {len(result.skipped_expired)} expired"
                if result.skipped_expired
                else ""
            ),
            err=True,
        )
