"""``jitctl init``: scaffold a new access repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controller import __version__
from controller.cli.app import fmt_option, main
from controller.scaffold import CLOUDS, DEFAULT_ACTION_REPO, Options, owned, plan, vendored_modules
from controller.scaffold.repository import create, upgrade


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
@click.option(
    "--action-repo",
    default=DEFAULT_ACTION_REPO,
    show_default=True,
    help="Your organisation's copy of jitctl (owner/name): the workflows use its action.",
)
@click.option(
    "--action-ref",
    default=f"v{__version__}",
    show_default=True,
    help="The tag (or full commit sha) of that action: the jitctl version the workflows run.",
)
@click.option(
    "--aws-accounts", default="", help="AWS account ids, comma-separated: one entitlement each."
)
@click.option("--gcp-projects", default="", help="GCP project ids, comma-separated.")
@click.option("--azure-subscriptions", default="", help="Azure subscription ids, comma-separated.")
@click.option(
    "--state-backend",
    type=click.Choice(["s3", "gcs", "azurerm"]),
    default=None,
    help="Where Terraform keeps its state (one per stack). Default: s3 with aws, else gcs with "
    "gcp, else azurerm.",
)
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@click.option(
    "--upgrade",
    "upgrading",
    is_flag=True,
    help="Bring an access repository made by init to this version: rewrite jitctl's files "
    "(jit-* workflows, terraform/, modules/), keep the rest (catalog, CODEOWNERS, rulesets).",
)
@fmt_option("text", "json")
def init(
    directory: Path,
    clouds: str,
    platform_team: str,
    action_repo: str,
    action_ref: str,
    aws_accounts: str,
    gcp_projects: str,
    azure_subscriptions: str,
    state_backend: str | None,
    force: bool,
    upgrading: bool,
    fmt: str,
) -> None:
    """Scaffold a new access repository in DIRECTORY (a git repository with one commit).

    It holds catalog.yaml, the Terraform root and modules and the workflows, for the clouds asked
    only; grants/, CODEOWNERS, the rulesets and a pull-request template; no jitctl source, tests
    or tooling. The workflows run jitctl through the action ACTION_REPO@ACTION_REF, which
    installs that version of jitctl from its own tree. A folder that is not empty is refused
    unless --force; a second run with the same options changes nothing.

    Example: jitctl init ../access --clouds aws,gcp --platform-team @acme/platform
    --action-repo acme/jitctl --aws-accounts 111111111111,222222222222
    """

    def listed(text: str) -> tuple[str, ...]:
        return tuple(t.strip() for t in text.split(",") if t.strip())

    asked = listed(clouds)
    opts = Options(
        clouds=tuple(sorted(set(asked), key=lambda c: CLOUDS.index(c) if c in CLOUDS else 99)),
        platform_team=platform_team,
        action_repo=action_repo,
        action_ref=action_ref,
        targets=(
            ("aws", listed(aws_accounts)),
            ("gcp", listed(gcp_projects)),
            ("azure", listed(azure_subscriptions)),
        ),
        state_backend=state_backend,
    )
    files = plan(opts)
    message = (
        f"jitctl init: access repository (jitctl {__version__}; clouds: {', '.join(opts.clouds)})"
    )
    if upgrading:
        result = upgrade(
            directory,
            files,
            owned=owned,
            prune=vendored_modules(files),
            message=f"jitctl init --upgrade: jitctl {__version__} "
            f"(clouds: {', '.join(opts.clouds)}; action {action_repo}@{action_ref})",
        )
    else:
        result = create(directory, files, force=force, message=message)
    if action_repo == DEFAULT_ACTION_REPO:
        click.echo(
            f"note: the workflows use {DEFAULT_ACTION_REPO}@{action_ref}, a placeholder: run "
            "again with --upgrade --action-repo OWNER/jitctl (your organisation's copy)",
            err=True,
        )
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
