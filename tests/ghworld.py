"""A GitHub world for tests: the emulator seeded with the example catalog, a working clone of
its bare repository, and ``jitctl`` run through CliRunner against it over HTTP."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import github
import pytest
from click.testing import CliRunner, Result

from controller.cli import github as cli_github
from controller.cli import main
from controller.github.retry import RetryPolicy
from tests.factories import EXAMPLE_CATALOG_TEXT
from tests.github_emulator.fixtures import EmulatedGitHub

REPO = "acme/access"
NOW = "2026-11-24T12:00:00Z"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
    "GIT_AUTHOR_DATE": "2026-11-24T10:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-24T10:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, input=input, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode().strip()


def no_sleep(seconds: float) -> None:
    return None


@dataclass
class World:
    gh: EmulatedGitHub
    clone: Path
    timeout: int = 5

    def env(self, login: str | None) -> dict[str, str]:
        env = {
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.gh.base_url,
            "JITCTL_HTTP_TIMEOUT": str(self.timeout),
            "GITHUB_TOKEN": "",
            "JITCTL_APP_ID": "",
            "JITCTL_APP_PRIVATE_KEY": "",
        }
        if login is None:  # the GitHub App
            env["JITCTL_APP_ID"] = str(self.gh.app_id)
            env["JITCTL_APP_PRIVATE_KEY"] = self.gh.app_private_key_pem
        else:
            env["GITHUB_TOKEN"] = self.gh.token(login)
        return env

    def jitctl(self, *args: str, login: str | None = None, now: str = NOW) -> Result:
        """Run ``jitctl --repo <clone> --now NOW ARGS`` as ``login`` (None: the App)."""
        runner = CliRunner()
        return runner.invoke(
            main, ["--repo", str(self.clone), "--now", now, *args], env=self.env(login)
        )

    @contextmanager
    def client(self, login: str) -> Iterator[github.Github]:
        g = github.Github(
            auth=github.Auth.Token(self.gh.token(login)),
            base_url=self.gh.base_url,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
        )
        try:
            yield g
        finally:
            g.close()

    def approve(self, number: int, login: str) -> None:
        with self.client(login) as g:
            g.get_repo(REPO).get_pull(number).create_review(event="APPROVE")

    def status(self, sha: str) -> tuple[str, str | None] | None:
        found = [s for s in self.gh.emu.state.statuses if s.sha == sha and s.context == "jitctl"]
        return (found[-1].state, found[-1].description) if found else None

    def main_files(self, under: str = "grants") -> list[str]:
        out = git(self.gh.bare_path, "ls-tree", "-r", "--name-only", "main", "--", under + "/")
        return out.splitlines()

    def message(self, ref: str = "main") -> str:
        return git(self.gh.bare_path, "log", "-1", "--format=%B", ref)

    def pulls(self, head: str | None = None) -> list[int]:
        return sorted(
            p.number for p in self.gh.emu.state.pulls.values() if head is None or p.head_ref == head
        )


def make_world(
    gh: EmulatedGitHub, root: Path, files: Mapping[str, str | None] | None = None
) -> World:
    # GitHub's clock a little before jitctl's --now (NOW): pull requests are fresh, not older
    # than the catalog's request_ttl
    gh.emu.clock.set(datetime(2026, 11, 24, 11, 0, tzinfo=UTC))
    gh.emu.commit_files(
        "main",
        {"catalog.yaml": EXAMPLE_CATALOG_TEXT, "grants/.keep": None, "grants/.gitkeep": "",
         **(files or {})},
        "example catalog",
        author="alice",
    )  # fmt: skip
    clone = root / "clone"
    git(root, "clone", "-q", str(gh.bare_path), str(clone))
    git(clone, "config", "user.name", "Alice")
    git(clone, "config", "user.email", "alice@example.com")
    return World(gh, clone)


@pytest.fixture
def world(
    github_emulator: EmulatedGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> World:
    monkeypatch.setattr(cli_github, "retry_policy", RetryPolicy(sleep=no_sleep))
    return make_world(github_emulator, tmp_path)
