"""``jitctl entitlements``: what you may request, for which principals, for how long, and who
must approve it, from the catalog on the default branch."""

from __future__ import annotations

import json

import click

from controller.cli.app import Env, _ctx, branch_option, fmt_option, main
from controller.core.entitlements import requestable
from controller.core.times import format_duration
from controller.git.lifecycle import whoami


@main.command()
@click.option(
    "--as", "login", default=None, help="The GitHub login to answer for (default: yours)."
)
@branch_option
@fmt_option("text", "json")
@click.pass_obj
def entitlements(env: Env, login: str | None, default_branch: str | None, fmt: str) -> None:
    """What you may request: each entitlement, the principals, the max duration, the approvers.

    Read from the catalog on the default branch (or --catalog) with the rules the check
    applies: your identities, the entitlement's requesters. A requesters team the catalog does
    not define is resolved only on GitHub, so it counts as no one here.

    Example: jitctl entitlements --as alice --format json
    """
    with env.repo() as repo:
        ctx = _ctx(env, repo, default_branch)
        catalog = ctx.catalog()
        who = whoami(repo, catalog, login)
    offers, refusals = requestable(catalog, who)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "login": who,
                    "ref": ctx.branch if env.catalog_path is None else None,
                    "entitlements": [
                        {
                            "name": o.entitlement.name,
                            "description": o.entitlement.description,
                            "module": o.entitlement.module,
                            "principals": list(o.principals),
                            "max_duration": format_duration(o.entitlement.max_duration),
                            "approvals": [r.as_dict() for r in o.entitlement.approvals],
                        }
                        for o in offers
                    ],
                    "not_requestable": [
                        {"name": r.entitlement.name, "why": r.why} for r in refusals
                    ],
                },
                indent=2,
            )
        )
        return
    if not offers:
        click.echo(f"{who} may request nothing in this catalog")
    else:
        click.echo(f"{who} may request:")
    for o in offers:
        ent = o.entitlement
        rules = " AND ".join(r.describe() for r in ent.approvals)
        click.echo(f"  {ent.name}: {ent.description}")
        click.echo(
            f"    for {', '.join(o.principals)}; at most {format_duration(ent.max_duration)}; "
            f"approval: {rules}"
        )
    for r in refusals:
        click.echo(f"{who} may not request {r.entitlement.name}: {r.why}", err=True)
