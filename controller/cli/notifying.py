"""Tell people: deliver the notification events of a command, and report failures as warnings
(stderr and the job summary). A failed notification never changes a command's result."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from controller.core.model import Catalog
from controller.formats.markdown import md
from controller.git.repo import GitRepo
from controller.notify.events import Event


def repository_name(repo: GitRepo) -> str:
    """owner/name on GitHub (``GITHUB_REPOSITORY``), else the repository folder's name."""
    return os.environ.get("GITHUB_REPOSITORY") or repo.path.resolve().name


def notify(catalog: Catalog, events: Sequence[Event]) -> int:
    """Send ``events`` to the catalog's targets. Returns the number of failed deliveries."""
    if not catalog.notify or not events:
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
