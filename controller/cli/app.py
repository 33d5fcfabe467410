"""The ``jitctl`` command line. Thin: parse options, call the library, format the result.

Exit codes: 0 ok, 1 findings or policy violation, 2 usage, input or I/O error, 3 a bug.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from controller import __version__
from controller.core.errors import JitError
from controller.core.times import parse_duration, parse_rfc3339
from controller.git.lifecycle import Ctx
from controller.git.repo import GitRepo

F = TypeVar("F", bound=Callable[..., Any])


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
        return GitRepo(self.repo_path)


GLOBAL_OPTIONS = ("--repo", "--catalog", "--now")


def hoist_global_options(args: list[str], commands: Mapping[str, click.Command]) -> list[str]:
    """Move global options given after the command (``jitctl list --repo X``) before it, as
    click expects them. A global option given both before and after the command is a usage
    error; the value of a command's own option (``--reason --now``) and anything after ``--``
    are left alone."""
    i, n = 0, len(args)
    while i < n and args[i].startswith("-") and args[i] != "--":
        opt = args[i].split("=", 1)[0]
        i += 2 if opt in GLOBAL_OPTIONS and "=" not in args[i] else 1
    if i >= n or args[i] not in commands:
        return args
    before, command, after = args[:i], args[i], args[i + 1 :]
    takes_value = {
        name
        for p in commands[command].params
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
    Global options are accepted after the command too (see :func:`hoist_global_options`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args, self.commands))

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
    return Ctx(
        repo=repo,
        branch=default_branch or repo.default_branch(),
        now=env.now,
        catalog_path=env.catalog_path,
        pin_dates=env.now_text is not None,
    )
