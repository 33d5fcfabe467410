"""``jitctl plan-summary``: a Terraform plan summarised by grant, for the job summary and the PR
comment (controller/formats/plan_summary.py); the workflows run it from the installed jitctl,
so an access repository needs no script of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from controller.cli.app import main
from controller.core.errors import JitError
from controller.formats import plan_summary as ps


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JitError(f"{path}: cannot read the {what}: {exc.strerror}", rule="io") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JitError(f"{path}: not a JSON {what}: {exc}", rule="io") from None


@main.group("plan-summary")
def plan_summary() -> None:
    """Summarise a Terraform plan by grant (no values), and render a summary as Markdown.

    What the workflows write into the job summary and the PR comment; `markdown` reads an
    untrusted summary (an artifact of a run a pull request could change) and renders it only
    when it is exactly what `summarize` writes.

    Example: jitctl plan-summary summarize plan.json summary.json &&
    jitctl plan-summary markdown summary.json
    """


@plan_summary.command()
@click.argument("plan", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
def summarize(plan: Path, out: Path) -> None:
    """Read `terraform show -json` output PLAN, write the per-grant summary to OUT."""
    data = _read_json(plan, "plan")
    if not isinstance(data, dict):
        raise JitError(f"{plan}: not a terraform show -json plan", rule="io")
    text = json.dumps(ps.summarize(data), indent=1, sort_keys=True)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise JitError(f"cannot write {out}: {exc.strerror}", rule="io") from None


@plan_summary.command()
@click.argument("summary", type=click.Path(path_type=Path))
def markdown(summary: Path) -> None:
    """Print SUMMARY (untrusted: validated strictly first) as Markdown."""
    data = _read_json(summary, "plan summary")
    try:
        valid = ps.validate(data)
    except ValueError as exc:
        raise JitError(f"{summary}: {exc}", rule="io") from None
    click.echo(ps.markdown(valid), nl=False)
