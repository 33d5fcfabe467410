"""Benchmark: `jitctl check` of a 1-grant PR when thousands of grants share its principal and
entitlement (issue: check stays O(changed files)). Prints figures.

A repository of N grants (default 10,000) of which K (default 5,000) are alice's
aws-prod-readonly; the PR adds one more. The overlap notice needs to know whether ANOTHER live
grant exists for the same principal and entitlement, and Azure's gap rule needs their windows;
neither needs every such grant parsed.

Run: .venv/bin/python bench/bench_check_overlap.py [N] [K]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.bench_core import add_request_branch, best, jitctl
from bench.common import CATALOG, git


def overlap_repo(path: Path, n: int, k: int) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    stream = bytearray()
    stream += b"commit refs/heads/main\ncommitter bench <bench@example.com> 1764000000 +0000\n"
    stream += b"data 4\nseed\n"
    stream += b"M 100644 inline catalog.yaml\ndata %d\n%s\n" % (len(CATALOG), CATALOG)
    for i in range(n):
        who = "alice@example.com" if i < k else f"user{i}@example.com"
        body = (
            "grant {\n"
            f'  principal   = "{who}"\n'
            '  entitlement = "aws-prod-readonly"\n'
            '  expires_at  = "2026-11-25T00:00:00Z"\n'
            f'  reason      = "INC-{i}: benchmark grant"\n'
            "}\n"
        ).encode()
        stream += b"M 100644 inline grants/g%05d.hcl\ndata %d\n%s\n" % (i, len(body), body)
    git(path, "fast-import", "--quiet", data=bytes(stream))
    git(path, "checkout", "-q", "-f", "main")
    return path


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    with tempfile.TemporaryDirectory() as tmp:
        repo = overlap_repo(Path(tmp) / "repo", n, k)
        plain = overlap_repo(Path(tmp) / "plain", n, 1)
        for r in (repo, plain):
            add_request_branch(r)
        check = ("check", "--base", "main", "--head", "req", "--author", "alice")
        shutil.rmtree(repo / ".git" / "jitctl", ignore_errors=True)
        t_first, out = jitctl(repo, *check, "--format", "json")
        t_heavy = best(5, lambda: jitctl(repo, *check)[0])
        t_plain = best(5, lambda: jitctl(plain, *check)[0])
        print(
            f"check, 1-grant PR, {n} grants of which {k} share its principal and entitlement: "
            f"{t_heavy:.3f} s wall (best of 5, start-up included); first run (no cache) "
            f"{t_first:.3f} s"
        )
        print(f"    same PR, no other grant of alice's: {t_plain:.3f} s")
        print(
            f"    ratio overlap-heavy/plain {t_heavy / t_plain:.2f}; overlap warning reported: "
            f"{'grant.overlap' in out}; load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores (figures scale with it)"
        )


if __name__ == "__main__":
    main()
