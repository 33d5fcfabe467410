"""``jitctl init``: scaffold a new access repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controller import __version__
from controller.cli.app import fmt_option, main
from controller.scaffold import CLOUDS, Options, plan
from controller.scaffold.repository import create


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--clouds",
    default="aws",
    show_default=True,
    help=f"The clouds to set up, comma-separated: {', '.join(CLOUDS)}.",
)
@click.option(
    "--platform-team",
    default="@example/platform",
    show_default=True,
    help="The GitHub team that owns everything but grants/ (CODEOWNERS).",
)
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@fmt_option("text", "json")
def init(directory: Path, clouds: str, platform_team: str, force: bool, fmt: str) -> None:
    """Scaffold a new access repository in DIRECTORY (a git repository with one commit).

    It holds catalog.yaml (only the clouds asked for), grants/, CODEOWNERS and a pull-request
    template; no jitctl source, tests or tooling. A folder that is not empty is refused unless
    --force; a second run with the same options changes nothing.

    Example: jitctl init ../access --clouds aws,gcp --platform-team @acme/platform
    """
    asked = [c.strip() for c in clouds.split(",") if c.strip()]
    opts = Options(
        clouds=tuple(sorted(set(asked), key=lambda c: CLOUDS.index(c) if c in CLOUDS else 99)),
        platform_team=platform_team,
    )
    files = plan(opts)
    message = (
        f"jitctl init: access repository (jitctl {__version__}; clouds: {', '.join(opts.clouds)})"
    )
    result = create(directory, files, force=force, message=message)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "path": str(result.path),
                    "outcome": result.outcome,
                    "commit": result.commit,
                    "written": list(result.written),
                },
                indent=2,
            )
        )
    elif result.outcome == "unchanged":
        click.echo(f"{result.path}: already up to date; nothing committed")
    else:
        click.echo(
            f"{result.path}: {result.outcome} ({len(result.written)} file(s)), "
            f"commit {result.commit[:12] if result.commit else '-'}"
        )
