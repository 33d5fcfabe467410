"""Test helpers: a pygithub client for the emulator and a plain-git working clone."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import github

from .fixtures import EmulatedGitHub

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_AUTHOR_DATE": "2026-01-02T00:00:00Z",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
    "GIT_COMMITTER_DATE": "2026-01-02T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@contextmanager
def client(gh: EmulatedGitHub, login: str, timeout: int = 15) -> Iterator[github.Github]:
    """A pygithub client acting as ``login``, closed afterwards."""
    g = github.Github(
        auth=github.Auth.Token(gh.token(login)),
        base_url=gh.base_url,
        timeout=timeout,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    try:
        yield g
    finally:
        g.close()


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


class Clone:
    """A working clone of the emulator's bare repository, pushed to with plain git."""

    def __init__(self, gh: EmulatedGitHub, path: Path) -> None:
        self.path = path
        subprocess.run(
            ["git", "clone", "-q", str(gh.bare_path), str(path)],
            check=True,
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV,
        )

    def branch(self, name: str, start: str = "origin/main") -> None:
        git(self.path, "checkout", "-q", "-B", name, start)

    def commit(self, files: dict[str, str | None], message: str) -> str:
        for rel, text in files.items():
            target = self.path / rel
            if text is None:
                git(self.path, "rm", "-q", rel)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                git(self.path, "add", rel)
        git(self.path, "commit", "-q", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def push(self, branch: str, force: bool = False) -> None:
        git(self.path, "push", "-q", *(["--force"] if force else []), "origin", f"HEAD:{branch}")
