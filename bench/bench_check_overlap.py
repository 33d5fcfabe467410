"""Benchmark: `jitctl check` of a 1-grant PR when thousands of grants share its principal and
entitlement (issue: check stays O(changed files)). Prints figures.

Repositories of N grants (default 10,000) of which K (default 5,000) name the PR's principal
and entitlement, in three shapes, beside a baseline where no other grant does:
  live     K live grants of alice's aws-prod-readonly (the overlap notice needs only a few)
  expired  K grants of the same that have expired (the expiry run lags): each must be shown
           not live; their text proves it (policy.expired_by_text), so none is parsed
  azure    K live grants of one Azure PIM assignment (principal, scope, role): the gap rule
           needs every window, so all K are parsed (the reader's speed bounds this one)

Each check runs as a CLI process (start-up included), with its modules' bytecode compiled
beforehand as an install does (this environment may set PYTHONDONTWRITEBYTECODE, which would
time compiling controller/ on every run instead); bytecode goes to a temporary
PYTHONPYCACHEPREFIX, not the source tree. Wall time is best of 5; CPU time (user + system of
jitctl and its git children, also best of 5) is what load barely changes: on a shared, loaded
machine, CPU time is the figure to compare; the load average is printed.

Run: .venv/bin/python bench/bench_check_overlap.py [N] [K]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_core import NOW
from bench.common import CATALOG, ENV, as_installed, git

AZURE_PRINCIPAL = "11111111-1111-4111-8111-111111111111"
SHAPES = {
    # shape: (principal, entitlement, expires_at of the K grants, expires_at of the new one)
    "plain": ("alice@example.com", "aws-prod-readonly", None, "2026-11-24T16:00:00Z"),
    "live": (
        "alice@example.com",
        "aws-prod-readonly",
        "2026-11-25T00:00:00Z",
        "2026-11-24T16:00:00Z",
    ),
    "expired": (
        "alice@example.com",
        "aws-prod-readonly",
        "2026-11-20T00:00:00Z",
        "2026-11-24T16:00:00Z",
    ),
    "azure": (
        AZURE_PRINCIPAL,
        "azure-prod-contributor",
        "2026-11-24T14:00:00Z",
        "2026-11-24T15:00:00Z",
    ),
}


def body(principal: str, entitlement: str, expires: str, reason: str) -> bytes:
    return (
        "grant {\n"
        f'  principal   = "{principal}"\n'
        f'  entitlement = "{entitlement}"\n'
        f'  expires_at  = "{expires}"\n'
        f'  reason      = "{reason}"\n'
        "}\n"
    ).encode()


def shaped_repo(path: Path, n: int, k: int, shape: str) -> Path:
    """N grants on main, K of them naming the PR's principal and entitlement (none for
    "plain"); branch ``req`` adds the PR's one grant."""
    principal, entitlement, expires, new_expires = SHAPES[shape]
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    stream = bytearray()
    stream += b"commit refs/heads/main\ncommitter bench <bench@example.com> 1764000000 +0000\n"
    stream += b"data 4\nseed\n"
    stream += b"M 100644 inline catalog.yaml\ndata %d\n%s\n" % (len(CATALOG), CATALOG)
    for i in range(n):
        if expires is not None and i < k:
            data = body(principal, entitlement, expires, f"INC-{i}: benchmark grant")
        else:
            data = body(
                f"user{i}@example.com",
                "aws-prod-readonly",
                "2026-11-25T00:00:00Z",
                f"INC-{i}: benchmark grant",
            )
        stream += b"M 100644 inline grants/g%05d.hcl\ndata %d\n%s\n" % (i, len(data), data)
    git(path, "fast-import", "--quiet", data=bytes(stream))
    git(path, "checkout", "-q", "-f", "-b", "req", "main")
    (path / "grants" / "new-request.hcl").write_bytes(
        body(principal, entitlement, new_expires, "INC-9: the PR")
    )
    git(path, "add", "grants/new-request.hcl")
    git(path, "commit", "-q", "-m", "request")
    git(path, "checkout", "-q", "main")
    return path


def run(repo: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its children, stdout) of one jitctl run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "--repo", str(repo), "--now", NOW, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"jitctl {args} failed: {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    check = ("check", "--base", "main", "--head", "req", "--author", "alice")
    with tempfile.TemporaryDirectory() as tmp:
        env = as_installed(ENV, Path(tmp) / "pycache")
        repos = {shape: shaped_repo(Path(tmp) / shape, n, k, shape) for shape in SHAPES}
        run(repos["plain"], env, "--version")  # compile the bytecode once, as an install does
        print(
            f"check, 1-grant PR, {n} grants in the repository; best of 5 runs, start-up included "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start)"
        )
        for shape, repo in repos.items():
            runs = [run(repo, env, *check) for _ in range(5)]
            wall = min(r[0] for r in runs)
            cpu = min(r[1] for r in runs)
            out = runs[0][2]
            what = (
                "no other grant of the principal's"
                if shape == "plain"
                else f"{k} {shape} grants of the same principal and entitlement"
            )
            notice = "overlap notice" if "grant.overlap" in out else "no overlap notice"
            errors = "azure.disjoint" if "azure.disjoint" in out else "no error"
            print(f"  {shape:8} {wall:6.3f} s wall  {cpu:6.3f} s CPU  ({what}; {notice}, {errors})")
        print(f"  load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
