"""Benchmarks for the core (issue: check and list over 10,000 grants). Prints figures.

(a) `jitctl check` of a PR that adds one grant to a repository of 10,000 grants, as a fresh
    process (start-up included), beside the same check on a repository of 10 grants.
(b) `jitctl list` over 10,000 grants, first run (fresh clone, no cache) and second run (cache),
    beside a naive loop that parses every file with python-hcl2; results compared for equality.

Run: .venv/bin/python bench/bench_core.py [N]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hcl2

from bench.common import ENV, git, grant_bytes, make_repo, timed

NOW = "2026-11-24T12:00:00Z"


def jitctl(repo: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "--repo", str(repo), "--now", NOW, *args],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"jitctl {args} failed: {proc.stderr}")
    return elapsed, proc.stdout


def add_request_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "req")
    (repo / "grants" / "new-request.hcl").write_bytes(grant_bytes(0, "2026-11-24T16:00:00Z"))
    git(repo, "add", "grants/new-request.hcl")
    git(repo, "commit", "-q", "-m", "request")
    git(repo, "checkout", "-q", "main")


def best(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    return min(fn() for _ in range(runs))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        big = make_repo(Path(tmp) / "big", n)
        small = make_repo(Path(tmp) / "small", 10)
        for repo in (big, small):
            add_request_branch(repo)
        check = ("check", "--base", "main", "--head", "req", "--author", "alice")
        t_big = best(5, lambda: jitctl(big, *check)[0])
        t_small = best(5, lambda: jitctl(small, *check)[0])
        t_version = best(5, lambda: jitctl(small, "--version")[0])
        print(
            f"(a) check, 1-grant PR, {n} grants in repo: {t_big:.3f} s wall (best of 5, "
            "start-up included)"
        )
        print(
            f"    same check, 10 grants in repo: {t_small:.3f} s; ratio big/small "
            f"{t_big / t_small:.2f}; `jitctl --version` start-up alone: {t_version:.3f} s"
        )

        shutil.rmtree(big / ".git" / "jitctl", ignore_errors=True)  # as in a fresh clone
        t_first, out_first = jitctl(big, "list", "--format", "json")
        t_second, out_second = jitctl(big, "list", "--format", "json")
        with timed() as naive_t:
            naive = []
            for path in sorted((big / "grants").glob("*.hcl")):
                data = hcl2.loads(path.read_text())
                block = data["grant"][0]
                naive.append(
                    (path.stem, block["principal"].strip('"'), block["expires_at"].strip('"'))
                )
        ours = [(g["id"], g["principal"], g["expires_at"]) for g in json.loads(out_first)["grants"]]
        same = ours == naive and out_first == out_second
        print(
            f"(b) list, {n} grants: first run {t_first:.2f} s (fresh clone, no cache), second "
            f"run {t_second:.2f} s (cache); naive python-hcl2 loop {naive_t[0]:.2f} s"
        )
        print(
            f"    ratios: naive/first {naive_t[0] / t_first:.1f}x, naive/second "
            f"{naive_t[0] / t_second:.1f}x; same results as the naive loop: {same}"
        )


if __name__ == "__main__":
    main()
