"""``jitctl list`` and ``jitctl render``: the grants at a ref, and the Terraform input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

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
from controller.core.model import Finding, GrantState, Severity, grant_states
from controller.core.render import changed_stacks, render, render_stacks, stack_fingerprints
from controller.core.times import format_duration, format_rfc3339
from controller.git.snapshot import (
    GrantColumns,
    bulk,
    read_catalog,
    read_grant_columns,
    read_grant_files,
)


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
    with env.repo() as repo, bulk():
        table = read_grant_columns(repo, ref)
        _list_grants(table, state, grace, now, fmt)


def _list_grants(
    table: GrantColumns, state: str, grace: timedelta, now: datetime, fmt: str
) -> None:
    """Write the grants of ``table`` in ``state`` (see list_), then exit 1 or 0."""
    bad = table.bad
    # every grant's state, then the rows asked for: column by column, no object per grant
    states = grant_states(table.expires_at, table.starts_at, now)
    if state == "all":
        picked: Sequence[int] = range(len(states))
    elif state == "overdue":
        picked = [
            i
            for i, (st, at) in enumerate(zip(states, table.expires_at, strict=True))
            if st is GrantState.EXPIRED and now - at >= grace
        ]
    else:
        wanted = GrantState(state)
        picked = [i for i, st in enumerate(states) if st is wanted]
    listed = len(picked)
    rfc3339 = _memo(format_rfc3339)

    def column(values: list[_V]) -> list[_V]:
        return values if state == "all" else [values[i] for i in picked]

    expires = column(table.expires_at)
    starts = column(table.starts_at)
    chosen_states = column(states)
    if fmt == "json":
        # {"now", "grants": [...]} on one line with no spaces (UTF-8), written 2,000 rows at a
        # time so that 100,000 grants never sit in memory as one string
        columns = (
            column(table.id),
            column(table.path),
            [_STATE_TEXT[st] for st in chosen_states],
            column(table.principal),
            column(table.entitlement),
            [None if t is None else rfc3339(t) for t in starts],
            list(map(rfc3339, expires)),
            column(table.reason),
            column(table.ticket),
        )
        click.echo(f'{{"now":{_compact(rfc3339(now))},"grants":[', nl=False)
        for at in range(0, listed, 2000):
            rows = [
                {
                    "id": gid,
                    "path": path,
                    "state": st,
                    "principal": who,
                    "entitlement": what,
                    "starts_at": start,
                    "expires_at": end,
                    "reason": why,
                    "ticket": ticket,
                }
                for gid, path, st, who, what, start, end, why, ticket in zip(
                    *(c[at : at + 2000] for c in columns), strict=True
                )
            ]
            click.echo(("," if at else "") + _compact(rows, sort_keys=False)[1:-1], nl=False)
        click.echo("]}")
    else:
        text = zip(
            chosen_states,
            column(table.id),
            column(table.principal),
            column(table.entitlement),
            expires,
            starts,
            strict=True,
        )
        for lines in _chunks(text, 2000):
            click.echo("\n".join(_text_row(*row, now=now, rfc3339=rfc3339) for row in lines))
        if not listed:
            click.echo("no grants" if state == "all" else f"no {state} grants")
    for f in bad:
        click.echo(finding_text(f), err=True)
    if state == "overdue" and listed:
        click.echo(
            f"{listed} grant(s) expired more than {format_duration(grace)} ago and are still "
            "on the branch: is the expiry schedule running? (cloud-side conditions have already "
            "ended the access)",
            err=True,
        )
    sys.exit(1 if bad or (state == "overdue" and listed) else 0)


def _render_text(document: dict[str, Any]) -> Iterator[str]:
    """``json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)`` and a
    newline, in pieces of 2,000 grants: compact (no indentation: a third of the bytes at 100,000
    grants), keys sorted (the same grants give the same bytes), UTF-8, and never the whole text
    in memory at once."""
    grants = document["grants"]
    rest = {k: v for k, v in document.items() if k != "grants"}
    if not rest or min(rest) < "grants":
        yield _compact(document) + "\n"  # not the shape below: in one piece
        return
    yield '{"grants":{'
    ids = sorted(grants)
    for start in range(0, len(ids), 2000):
        chunk = {gid: grants[gid] for gid in ids[start : start + 2000]}
        yield ("," if start else "") + _compact(chunk)[1:-1]
    yield "}," + _compact(rest)[1:] + "\n"


def _compact(value: Any, *, sort_keys: bool = True) -> str:
    """``json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)``, written
    by orjson (at 100,000 grants, 10x faster than the json module's C encoder). A value orjson
    cannot write (an integer beyond 64 bits in a catalog target) goes to the json module."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False)


def _text_row(
    st: GrantState,
    gid: str,
    principal: str,
    entitlement: str,
    expires_at: datetime,
    starts_at: datetime | None,
    *,
    now: datetime,
    rfc3339: Callable[[datetime], str],
) -> str:
    if st is GrantState.EXPIRED:
        when = f"expired {format_duration(now - expires_at)} ago"
    elif st is GrantState.PENDING and starts_at is not None:
        when = f"starts in {format_duration(starts_at - now)}"
    else:
        when = f"{format_duration(expires_at - now)} left"
    until = rfc3339(expires_at)
    return f"{_STATE_PADDED[st]} {gid}  {principal} -> {entitlement}  until {until} ({when})"


_STATE_TEXT = {st: st.value for st in GrantState}
_STATE_PADDED = {st: f"{st.value:<8}" for st in GrantState}
_K = TypeVar("_K")
_V = TypeVar("_V")


def _memo(fn: Callable[[_K], _V]) -> Callable[[_K], _V]:
    """``fn`` remembered by argument: many grants share an expiry time."""
    seen: dict[_K, _V] = {}

    def get(key: _K) -> _V:
        value = seen.get(key)
        if value is None:
            value = seen[key] = fn(key)
        return value

    return get


def _chunks(items: Iterable[_V], size: int) -> Iterator[list[_V]]:
    chunk: list[_V] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@main.command(name="render")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write here (- stdout).")
@click.option(
    "--stacks-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write one input per stack (AWS account, GCP project, Azure subscription) here, as "
    "<stack>.tfvars.json, for every stack the catalog names.",
)
@click.option(
    "--changed-since",
    metavar="REF",
    default=None,
    help="With --stacks-dir: also write changed.json, the stacks whose grant files or "
    "entitlements differ between REF and --ref (expired grants count: removing one changes "
    "its stack).",
)
@ref_option
@click.pass_obj
def render_(
    env: Env, out: str | None, stacks_dir: str | None, changed_since: str | None, ref: str
) -> None:
    """Write the Terraform input (JSON variables) for the grants active or pending now.

    Expired grants are never passed on. An invalid grant file (or one naming an unknown
    entitlement) is reported and left out, never guessed at, and the rest is still written:
    one bad file on the default branch must not block every apply, revocations and expiries
    included (leaving a grant out only takes access away). The exit code is then 1, after
    writing, so the workflow applies and still fails loudly. With --stacks-dir, one input per
    stack (one Terraform state per AWS account, GCP project or Azure subscription).

    Example: jitctl render --out terraform/grants.auto.tfvars.json

    Example: jitctl render --stacks-dir stacks --changed-since HEAD~1
    """
    if changed_since is not None and stacks_dir is None:
        raise click.UsageError("--changed-since needs --stacks-dir")
    if stacks_dir is not None and out is not None:
        raise click.UsageError("give --out or --stacks-dir, not both")
    now = env.now
    with env.repo() as repo:
        catalog = read_catalog(repo, ref, env.catalog_path)
        files = read_grant_files(repo, ref)
        before: dict[str, str] | None = None
        if changed_since is not None:
            old_catalog = read_catalog(repo, changed_since, env.catalog_path)
            old_files = read_grant_files(repo, changed_since)
            before = stack_fingerprints(
                [gf.grant for gf in old_files.values() if gf.grant is not None], old_catalog
            )
    if stacks_dir is not None:
        _render_stacks(files, catalog, now, Path(stacks_dir), before)
        return
    findings = [f for gf in files.values() for f in gf.findings if f.severity is Severity.ERROR]
    grants = [gf.grant for gf in files.values() if gf.grant is not None]
    result = render(grants, catalog, now)
    findings.extend(result.findings)
    if out is None or out == "-":
        for piece in _render_text(result.document):
            click.echo(piece, nl=False)
    else:
        atomic_write(Path(out), _render_text(result.document))
        click.echo(
            f"rendered {len(result.document['grants'])} grant(s) to {out}"
            + (
                f"; left out {len(result.skipped_expired)} expired"
                if result.skipped_expired
                else ""
            ),
            err=True,
        )
    _left_out(findings)


def _render_stacks(
    files: dict[str, Any],
    catalog: Any,
    now: Any,
    folder: Path,
    before: dict[str, str] | None,
) -> None:
    findings = [f for gf in files.values() for f in gf.findings if f.severity is Severity.ERROR]
    grants = [gf.grant for gf in files.values() if gf.grant is not None]
    docs, whole = render_stacks(grants, catalog, now)
    findings.extend(whole.findings)
    folder.mkdir(parents=True, exist_ok=True)
    for stack, doc in docs.items():
        atomic_write(
            folder / f"{stack}.tfvars.json", json.dumps(doc, indent=2, sort_keys=True) + "\n"
        )
    summary = (
        f"rendered {len(whole.document['grants'])} grant(s) into {len(docs)} stack(s) in {folder}"
    )
    if before is not None:
        changed = changed_stacks(before, stack_fingerprints(grants, catalog))
        atomic_write(folder / "changed.json", json.dumps(changed) + "\n")
        click.echo(json.dumps(changed))
        summary += f"; changed: {', '.join(changed) if changed else 'none'}"
    click.echo(summary, err=True)
    _left_out(findings)


def _left_out(findings: list[Finding]) -> None:
    """After writing: name the invalid grant files render left out, and exit 1."""
    if findings:
        for f in findings:
            click.echo(finding_text(f), err=True)
        bad = sorted({f.file for f in findings})
        click.echo(
            f"render left out {len(bad)} invalid grant file(s) ({', '.join(bad)}); the rest was "
            "written: fix them",
            err=True,
        )
        sys.exit(1)
