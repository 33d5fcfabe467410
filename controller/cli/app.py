"""The ``jitctl`` command line. Thin: parse options, call the library, format the result.

Exit codes: 0 ok, 1 findings or policy violation, 2 usage, input or I/O error, 3 a bug.

Start-up stays short: each command's module (and what it imports: GitPython, PyYAML, sshsig,
PyGithub, ...) is imported only when that command runs or its own help is shown (``COMMANDS``);
``jitctl --help`` lists every command from ``COMMANDS`` without importing any of them.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from controller import __version__
from controller.core.errors import JitError
from controller.core.times import parse_duration, parse_rfc3339

if TYPE_CHECKING:
    from controller.git.lifecycle import Ctx
    from controller.git.repo import GitRepo

F = TypeVar("F", bound=Callable[..., Any])


class Lazy(NamedTuple):
    """Where a command is defined (``module:attribute``) and the first paragraph of its help,
    which ``jitctl --help`` shows (tests/cli/test_startup.py keeps both true)."""

    target: str
    summary: str


COMMANDS = {
    "announce": Lazy(
        "controller.cli.notice:announce",
        "After an apply (GitHub): tell each live grant's requester on its pull request.",
    ),
    "approvals": Lazy(
        "controller.cli.github:approvals",
        "Judge a pull request on GitHub: post the `jitctl` status and one comment, and merge it.",
    ),
    "audit": Lazy(
        "controller.cli.audit:audit_",
        "The audit log of every grant, rebuilt from git history alone (no network).",
    ),
    "check": Lazy(
        "controller.cli.check:check",
        "Validate a change against the catalog at its base, or every grant at HEAD.",
    ),
    "demo": Lazy(
        "controller.cli.demo:demo",
        "Run the whole lifecycle in a local sandbox repository: no GitHub, no cloud.",
    ),
    "doctor": Lazy(
        "controller.cli.github:doctor",
        "Check the repository's GitHub settings for what is unsafe or missing.",
    ),
    "drift": Lazy(
        "controller.cli.notice:drift",
        "Report drift: planned changes that no grant change explains (a scheduled apply).",
    ),
    "entitlements": Lazy(
        "controller.cli.entitlements:entitlements",
        "What you may request: each entitlement, the principals, the max duration, the approvers.",
    ),
    "expire": Lazy(
        "controller.cli.lifecycle:expire",
        "Remove every grant whose expires_at <= now, in one commit (idempotent).",
    ),
    "extend": Lazy(
        "controller.cli.lifecycle:extend",
        "Extend a grant: expires_at moves later by DURATION (from now if it already passed).",
    ),
    "fmt": Lazy(
        "controller.cli.fmt:fmt",
        "Rewrite grant files into the canonical layout (default: every grants/*.hcl).",
    ),
    "init": Lazy(
        "controller.cli.init:init",
        "Scaffold a new access repository in DIRECTORY (a git repository with one commit).",
    ),
    "lint": Lazy(
        "controller.cli.lint:lint",
        "Lint a catalog file as it is on disk (default: catalog.yaml of the repository).",
    ),
    "list": Lazy(
        "controller.cli.grants:list_",
        "List the grants at a ref and their state (active, pending, expired).",
    ),
    "merge": Lazy(
        "controller.cli.lifecycle:merge",
        "Merge a request branch if policy and approvals allow it, with audit trailers.",
    ),
    "plan-summary": Lazy(
        "controller.cli.plan:plan_summary",
        "Summarise a Terraform plan by grant (no values), and render a summary as Markdown.",
    ),
    "remind": Lazy(
        "controller.cli.notice:remind",
        "Tell people that access ends soon, once per grant and expiry (for a schedule).",
    ),
    "render": Lazy(
        "controller.cli.grants:render_",
        "Write the Terraform input (JSON variables) for the grants active or pending now.",
    ),
    "request": Lazy(
        "controller.cli.lifecycle:request",
        "Ask for an entitlement: write grants/<id>.hcl, judged by policy before anything is "
        "written.",
    ),
    "review": Lazy(
        "controller.cli.notice:review",
        "Approve a break-glass grant after the fact (within its entitlement's review_within).",
    ),
    "revoke": Lazy(
        "controller.cli.lifecycle:revoke",
        "Revoke a grant early: delete its file (lowers privilege, so no approval is needed).",
    ),
}


@dataclass
class Env:
    repo_path: str
    catalog_path: str | None
    now_text: str | None

    @property
    def now(self) -> datetime:
        if self.now_text is None:  # whole seconds: every time jitctl writes is whole seconds
            return datetime.now(UTC).replace(microsecond=0)
        return parse_rfc3339(self.now_text)

    def repo(self) -> GitRepo:
        from controller.git.repo import GitRepo

        return GitRepo(self.repo_path)


GLOBAL_OPTIONS = ("--repo", "--catalog", "--now")


def hoist_global_options(
    args: list[str], command_named: Callable[[str], click.Command | None]
) -> list[str]:
    """Move global options given after the command (``jitctl list --repo X``) before it, as
    click expects them. A global option given both before and after the command is a usage
    error; the value of a command's own option (``--reason --now``) and anything after ``--``
    are left alone."""
    i, n = 0, len(args)
    while i < n and args[i].startswith("-") and args[i] != "--":
        opt = args[i].split("=", 1)[0]
        i += 2 if opt in GLOBAL_OPTIONS and "=" not in args[i] else 1
    found = command_named(args[i]) if i < n else None
    if found is None:
        return args
    before, command, after = args[:i], args[i], args[i + 1 :]
    takes_value = {
        name
        for p in found.params
        if isinstance(p, click.Option) and not p.is_flag and not p.count
        for name in p.opts
    }
    hoisted: list[str] = []
    rest: list[str] = []
    j = 0
    while j < len(after):
        arg = after[j]
        if arg == "--":
            rest.extend(after[j:])
            break
        opt = arg.split("=", 1)[0]
        if opt in GLOBAL_OPTIONS:
            if any(b.split("=", 1)[0] == opt for b in before):
                raise click.UsageError(f"{opt} is given twice (before and after {command!r})")
            if "=" in arg:
                hoisted.append(arg)
                j += 1
                continue
            if j + 1 >= len(after):
                raise click.UsageError(f"{opt} needs a value")
            hoisted.extend(after[j : j + 2])
            j += 2
            continue
        rest.append(arg)
        if opt in takes_value and "=" not in arg and j + 1 < len(after):
            rest.append(after[j + 1])
            j += 1
        j += 1
    return [*before, *hoisted, command, *rest]


class JitGroup(click.Group):
    """Turns JitError into ``Error: ...`` / exit 2 and a bug into a short report / exit 3.
    Global options are accepted after the command too (see :func:`hoist_global_options`).

    Commands load lazily (click's documented pattern): a name in ``COMMANDS`` imports its
    module the first time it is asked for; ``--help`` lists them from ``COMMANDS`` alone."""

    def command_named(self, name: str) -> click.Command | None:
        """The command called ``name``, importing its module if need be (None: no such)."""
        if name not in self.commands and name in COMMANDS:
            module, _, attribute = COMMANDS[name].target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command) or command.name != name:
                raise RuntimeError(f"COMMANDS[{name!r}] names {command!r}")  # a bug (exit 3)
            self.add_command(command)
        return self.commands.get(name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.command_named(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but an unloaded command's short help comes from ``COMMANDS``."""
        shown = [(n, self.commands.get(n)) for n in self.list_commands(ctx)]
        shown = [(n, cmd) for n, cmd in shown if cmd is None or not cmd.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(n) for n, _ in shown)
        rows = [
            (
                name,
                (cmd or click.Command(name, help=COMMANDS[name].summary)).get_short_help_str(limit),
            )
            for name, cmd in shown
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # "Did you mean": from every name
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args, self.command_named))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JitError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # I/O the command did not name itself: still name the path
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc} [io]", err=True)
            ctx.exit(2)
        except Exception as exc:  # a bug: say so briefly, with where it happened
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(
                f"Internal error (a bug in jitctl {__version__}): {type(exc).__name__}: {exc}\n"
                f"  at {Path(tb.filename).name}:{tb.lineno} in {tb.name}\n"
                "  Please report it with the command you ran.",
                err=True,
            )
            ctx.exit(3)


def _validate_now(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    _time(ctx, param, value)
    return value


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(cls=JitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="jitctl")
@click.option(
    "--repo",
    "repo_path",
    default=".",
    show_default=True,
    help="The access repository (a git checkout).",
)
@click.option(
    "--catalog",
    "catalog_path",
    default=None,
    help="A catalog file on disk to judge by (default: catalog.yaml as committed at the judged "
    "ref, e.g. the base of a change). Give it only from a trusted checkout.",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    callback=_validate_now,
    help="The time to judge at, RFC 3339 (default: the clock). For tests and replays.",
)
@click.pass_context
def main(
    ctx: click.Context, repo_path: str, catalog_path: str | None, now_text: str | None
) -> None:
    """jitctl: GitOps just-in-time privilege elevation for Terraform.

    Every elevated permission is a file under grants/, added by a reviewed pull request,
    applied by Terraform and removed when it expires.

    Example: jitctl --repo . check --base origin/main --head HEAD --author alice
    """
    ctx.obj = Env(repo_path, catalog_path, now_text)


def fmt_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format; json is a stable schema on stdout.",
    )


def ref_option(f: F) -> F:
    return click.option(
        "--ref", default="HEAD", show_default=True, help="The git ref to read grants from."
    )(f)


def branch_option(f: F) -> F:
    return click.option(
        "--default-branch",
        "default_branch",
        default=None,
        help="The branch grants live on (default: origin's HEAD, else main/master).",
    )(f)


def _ctx(env: Env, repo: GitRepo, default_branch: str | None) -> Ctx:
    from controller.git.lifecycle import Ctx

    return Ctx(
        repo=repo,
        branch=default_branch or repo.default_branch(),
        now=env.now,
        catalog_path=env.catalog_path,
        pin_dates=env.now_text is not None,
    )
