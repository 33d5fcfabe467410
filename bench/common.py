"""Shared helpers for benchmarks: build big access repositories fast with git fast-import."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOG = (ROOT / "catalog.yaml").read_bytes()

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def as_installed(env: Mapping[str, str], pycache: Path) -> dict[str, str]:
    """``env`` for running jitctl as an install runs it: bytecode compiled once and kept (in
    ``pycache``, not the source tree), whatever PYTHONDONTWRITEBYTECODE (set in some
    environments) says; otherwise every run would time compiling ``controller/``."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**out, "PYTHONPYCACHEPREFIX": str(pycache)}


def principal(i: int) -> str:
    """Mostly distinct people, as in a real repository; every 1,000th grant is alice's."""
    return "alice@example.com" if i % 1000 == 0 else f"user{i % 5000}@example.com"


def grant_bytes(i: int, expires: str = "2026-11-25T00:00:00Z") -> bytes:
    return (
        "grant {\n"
        f'  principal   = "{principal(i)}"\n'
        '  entitlement = "aws-prod-readonly"\n'
        f'  expires_at  = "{expires}"\n'
        f'  reason      = "INC-{i}: benchmark grant"\n'
        "}\n"
    ).encode()


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=ENV, input=data, capture_output=True, check=True
    )
    return proc.stdout.decode()


def make_repo(path: Path, n_grants: int) -> Path:
    """A work clone with ``n_grants`` grant files on main in one commit (fast-import)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    stream = bytearray()
    stream += b"commit refs/heads/main\ncommitter bench <bench@example.com> 1764000000 +0000\n"
    msg = b"seed"
    stream += b"data %d\n%s\n" % (len(msg), msg)
    stream += b"M 100644 inline catalog.yaml\ndata %d\n%s\n" % (len(CATALOG), CATALOG)
    for i in range(n_grants):
        body = grant_bytes(i)
        stream += b"M 100644 inline grants/g%05d.hcl\ndata %d\n%s\n" % (i, len(body), body)
    git(path, "fast-import", "--quiet", data=bytes(stream))
    git(path, "checkout", "-q", "-f", "main")
    return path


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)
