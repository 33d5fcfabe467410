"""Real git repositories for tests: a work clone with a bare ``origin``, pinned identities/dates."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.factories import EXAMPLE_CATALOG_TEXT

PINNED = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "2026-11-24T10:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-24T10:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PINNED)
    env["HOME"] = env.get("JITCTL_TEST_HOME", env.get("HOME", "/tmp"))
    env.update(extra)
    return env


class Repo:
    """A work clone at ``path`` whose ``origin`` is a bare repository beside it."""

    def __init__(self, root: Path) -> None:
        self.origin = root / "origin.git"
        self.path = root / "work"
        self._run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], cwd=root)
        self._run(["git", "clone", "-q", str(self.origin), str(self.path)], cwd=root)
        self.git("config", "user.name", "Test User")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "commit.gpgsign", "false")
        self.git("checkout", "-q", "-b", "main")

    def _run(self, args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
        proc = subprocess.run(
            args, cwd=cwd, env=dict(env or git_env()), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    def git(self, *args: str, **env: str) -> str:
        return self._run(["git", *args], cwd=self.path, env=git_env(**env))

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                self.git("rm", "-q", "--", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
            self.git("add", "--", rel)

    def commit(
        self, files: Mapping[str, str | bytes | None], message: str = "change", **env: str
    ) -> str:
        self.write(files)
        self.git("commit", "-q", "--allow-empty", "-m", message, **env)
        return self.rev("HEAD")

    def checkout(self, branch: str, *, new: bool = False, start: str | None = None) -> None:
        args = ["checkout", "-q"]
        if new:
            args += ["-b", branch]
            if start:
                args.append(start)
        else:
            args.append(branch)
        self.git(*args)

    def rev(self, ref: str) -> str:
        return self.git("rev-parse", ref).strip()

    def files(self, ref: str = "HEAD", under: str = "grants") -> list[str]:
        out = self.git("ls-tree", "-r", "--name-only", ref, "--", under + "/")
        return [line for line in out.splitlines() if line]

    def show(self, ref: str, path: str) -> str:
        return self.git("show", f"{ref}:{path}")

    def log(self, *args: str) -> str:
        return self.git("log", *args)


def new_access_repo(root: Path, catalog: str = EXAMPLE_CATALOG_TEXT) -> Repo:
    repo = Repo(root)
    repo.commit({"catalog.yaml": catalog, "grants/.gitkeep": ""}, "initial catalog")
    repo.git("push", "-q", "-u", "origin", "main")
    return repo
