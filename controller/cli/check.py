"""``jitctl check``: judge a change (or every grant) against the catalog."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import click

from controller.cli.app import (
    Env,
    fmt_option,
    main,
)
from controller.cli.output import (
    annotation,
    append_step_summary,
    decision_json,
    decision_text,
    finding_text,
    indented_json,
)
from controller.core.model import ChangeKind
from controller.core.policy import check_change, tree_findings
from controller.git.snapshot import (
    gather_change,
    read_catalog,
    read_grant_files,
    read_worktree_grant_files,
)


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
@click.option(
    "--break-glass",
    "break_glass",
    is_flag=True,
    help="Judge the change as break-glass (the PR's label): no approval needed where the "
    "catalog allows it; refused otherwise.",
)
@click.argument("paths", nargs=-1, metavar="[FILE]...")
@fmt_option("text", "json", "github")
@click.pass_obj
def check(
    env: Env,
    paths: tuple[str, ...],
    base: str | None,
    head: str | None,
    author: str | None,
    expect_kind: str | None,
    break_glass: bool,
    fmt: str,
) -> None:
    """Validate a change against the catalog at its base, or every grant at HEAD.

    With --base/--head: the change from the merge base to head, judged by the catalog at
    --base (a change cannot loosen the policy it is judged by). Without: every grant at HEAD.
    With FILEs: those grant files as they are on disk (e.g. from pre-commit), judged by the
    catalog at HEAD; a request asking for a duration is judged as if merged now.

    Example: jitctl check --base main --head jit/request/alice-x --author alice --format json
    """
    if head is not None and base is None:
        raise click.UsageError("--head needs --base")
    if paths and base is not None:
        raise click.UsageError("give FILEs or --base/--head, not both")
    now = env.now
    with env.repo() as repo:
        if base is None:
            catalog = read_catalog(repo, "HEAD", env.catalog_path)
            files = (
                read_worktree_grant_files(repo, paths) if paths else read_grant_files(repo, "HEAD")
            )
            # Iterated as they are written: the overlap warnings are made only then.
            findings = tree_findings(catalog, files.values(), now, open_requests=bool(paths))
            ok = findings.ok
            if fmt == "json":
                top = {"ok": ok, "kind": "none", "needs_approval": False, "approval_rules": []}
                for piece in indented_json(top, "findings", (f.as_dict() for f in findings)):
                    click.echo(piece, nl=False)
                click.echo()
            elif fmt == "github":
                _github(list(findings), ["Every grant at HEAD checked."])
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
    decision = check_change(replace(cs, break_glass=break_glass))
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
