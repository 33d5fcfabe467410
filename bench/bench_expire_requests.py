"""API requests per ``jitctl expire`` run on GitHub, for 1, 100 and 1,000 expired grants.

Each size gets a fresh emulator; the repository is seeded through its bare repository with
plain git (fast), and ``expire`` runs in a fresh clone (a cold parse cache, like a new workflow
checkout). The request count must be the same for every size.

Run: python bench/bench_expire_requests.py   (from the repository root)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.core.times import parse_rfc3339
from controller.git.repo import GitRepo
from controller.github.expire import expire_on_github
from controller.github.forge import ForgeConfig, GitHubForge
from controller.github.retry import RetryPolicy
from tests.factories import EXAMPLE_CATALOG_TEXT, grant_text
from tests.ghworld import git
from tests.github_emulator.fixtures import build_emulator

SIZES = (1, 100, 1000)
NOW = parse_rfc3339("2026-11-24T17:00:00Z")


def run(n: int, root: Path) -> tuple[int, Counter[str], float, int]:
    gh = build_emulator(root / "github")
    gh.emu.start()
    try:
        seed = root / "seed"
        git(root, "clone", "-q", str(gh.bare_path), str(seed))
        (seed / "catalog.yaml").write_text(EXAMPLE_CATALOG_TEXT)
        grants = seed / "grants"
        (grants / ".keep").unlink()
        (grants / ".gitkeep").write_text("")
        for i in range(n):
            (grants / f"g-{i:05d}.hcl").write_text(grant_text(reason=f"INC-{i}"))
        (grants / "g-live.hcl").write_text(grant_text(expires_at="2026-11-24T20:00:00Z"))
        git(seed, "add", "-A")
        git(seed, "commit", "-qm", f"seed {n} grants")
        git(seed, "push", "-q", "origin", "HEAD:main")
        work = root / "work"
        git(root, "clone", "-q", str(gh.bare_path), str(work))
        gh.emu.clear_log()
        config = ForgeConfig("acme/access", gh.base_url, token=gh.token("erin"), timeout=60)
        started = time.monotonic()
        with GitHubForge(config, RetryPolicy(sleep=lambda s: None)) as forge, GitRepo(work) as repo:
            result = expire_on_github(forge, repo, now=NOW, base="main")
        elapsed = time.monotonic() - started
        assert result.merged and len(result.expired) == n, result
        left = git(gh.bare_path, "ls-tree", "-r", "--name-only", "main", "--", "grants/")
        assert left.split() == ["grants/.gitkeep", "grants/g-live.hcl"], left
        calls = Counter(f"{e.method} {e.route or e.path}" for e in gh.emu.requests())
        return sum(calls.values()), calls, elapsed, len(result.expired)
    finally:
        gh.emu.stop()


def main() -> int:
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            total, calls, elapsed, removed = run(n, Path(tmp) / str(n))
            counts[n] = total
            print(
                f"{n:>5} expired grants: {total} API requests, {elapsed:.2f} s, removed {removed}"
            )
            if n == SIZES[-1]:
                for call, k in sorted(calls.items()):
                    print(f"        {k} x {call}")
    ratio = counts[SIZES[-1]] / counts[SIZES[0]]
    print(f"requests(1000) / requests(1) = {ratio:.2f}")
    if len(set(counts.values())) != 1:
        print("FAIL: the request count grows with the number of expired grants")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
