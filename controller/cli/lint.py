"""``jitctl lint``: the catalog's working copy, for the platform team (and pre-commit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from controller.cli.app import Env, fmt_option, main
from controller.cli.output import annotation, append_step_summary, finding_text
from controller.core.lint import lint_catalog
from controller.core.model import Severity
from controller.git.snapshot import load_catalog_file


@main.command()
@click.argument("catalog_file", metavar="[FILE]", required=False)
@fmt_option("text", "json", "github")
@click.pass_obj
def lint(env: Env, catalog_file: str | None, fmt: str) -> None:
    """Lint a catalog file as it is on disk (default: catalog.yaml of the repository).

    Beyond what every command refuses (syntax, unknown keys, bad durations: exit 2), it finds
    what is well-formed but cannot work: a team defined nowhere, a login with no identity, a rule
    that needs more people than it names, an entitlement nobody may request or approve.
    Errors exit 1; warnings are printed and exit 0.

    Example: jitctl lint catalog.yaml --format json
    """
    if catalog_file is None:
        with env.repo() as repo:
            catalog_file = str(repo.path / "catalog.yaml")
    shown = _shown(catalog_file)
    findings = lint_catalog(load_catalog_file(catalog_file), shown)
    ok = not any(f.severity is Severity.ERROR for f in findings)
    if fmt == "json":
        click.echo(json.dumps({"ok": ok, "findings": [f.as_dict() for f in findings]}, indent=2))
    elif fmt == "github":
        for f in findings:
            click.echo(annotation(f))
        append_step_summary("jitctl lint", findings)
    else:
        for f in findings:
            click.echo(finding_text(f))
        click.echo(f"{shown}: ok" if ok else f"{shown}: has errors")
    sys.exit(0 if ok else 1)


def _shown(path: str) -> str:
    """The path as the user would name it: relative to the current folder when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
