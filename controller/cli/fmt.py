"""``jitctl fmt``: rewrite accepted grant files into their canonical layout."""

from __future__ import annotations

from pathlib import Path

import click

from controller.cli.app import Env, main
from controller.cli.output import atomic_write, finding_text
from controller.core.errors import JitError
from controller.core.model import GRANT_SUFFIX, GRANTS_DIR
from controller.formats.grantfile import format_grant_file
from controller.git.snapshot import read_worktree_file


@main.command(name="fmt")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not canonical.")
@click.pass_obj
def fmt(env: Env, files: tuple[Path, ...], check: bool) -> None:
    """Rewrite grant files into the canonical layout (default: every grants/*.hcl).

    The values stay as they are, and so do the comments; the layout becomes the one
    `jitctl request` writes: one attribute per line in a fixed order, `=` aligned, LF line
    endings. A file jitctl does not accept is never rewritten: its findings are printed and
    the exit code is 1 (as it is with --check when a file would change). FILEs are taken
    relative to the current folder, as on disk (not as committed).

    Example: jitctl fmt grants/alice-aws-prod-readonly-20261124t1200.hcl
    """
    with env.repo() as repo:
        root = repo.path.resolve()
    if not files:
        grants = root / GRANTS_DIR
        if not grants.is_dir():
            raise JitError(f"{grants} is not a directory; give the files to format", rule="usage")
        files = tuple(sorted(p for p in grants.iterdir() if p.name.endswith(GRANT_SUFFIX)))
    failed = False
    for file in files:
        rel, data, mode = read_worktree_file(root, file)
        result = format_grant_file(rel, data, mode=mode)
        if result.text is None:
            for finding in result.findings:
                click.echo(finding_text(finding), err=True)
            failed = True
            continue
        if result.text.encode("utf-8") == data:
            click.echo(f"{rel}: canonical")
        elif check:
            click.echo(f"{rel}: would reformat")
            failed = True
        else:
            atomic_write(file, result.text)
            click.echo(f"{rel}: reformatted")
    if failed:
        raise SystemExit(1)
