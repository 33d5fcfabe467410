"""Tell people: deliver the notification events of a command, and report failures as warnings
(stderr and the job summary). A failed notification never changes a command's result."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from controller.core.errors import JitError
from controller.core.model import Catalog
from controller.formats.markdown import md
from controller.git.repo import GitRepo
from controller.notify.events import Event


def repository_name(repo: GitRepo) -> str:
    """owner/name on GitHub (``GITHUB_REPOSITORY``), else the repository folder's name."""
    return os.environ.get("GITHUB_REPOSITORY") or repo.path.resolve().name


def trusted_catalog(catalog_path: str | None, repo_path: str) -> Catalog | None:
    """The notification targets' catalog for the GitHub commands: ``--catalog``, else
    catalog.yaml at HEAD of the checkout (the workflows check out the default branch). None,
    with a warning, when there is none: notifications never stop a command."""
    from controller.git.snapshot import load_catalog_file, read_catalog

    try:
        if catalog_path is not None:
            return load_catalog_file(catalog_path)
        with GitRepo(repo_path) as repo:
            return read_catalog(repo, "HEAD")
    except JitError as exc:
        click.echo(f"warning: no notifications: {exc}", err=True)
        return None


def notify(catalog: Catalog | None, events: Sequence[Event]) -> int:
    """Send ``events`` to the catalog's targets. Returns the number of failed deliveries."""
    if catalog is None or not catalog.notify or not events:
        return 0
    from controller.notify.send import deliver

    failures = deliver(catalog.notify, events, os.environ)
    for f in failures:
        click.echo(f"warning: {f.text()}", err=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if failures and summary:
        lines = ["### jitctl notifications", ""]
        lines += [f"- warning: {md(f.text())}" for f in failures]
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return len(failures)
