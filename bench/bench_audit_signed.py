"""Benchmark: the audit on a history whose every commit is SSH-signed (as jitctl signs).

Builds N grant lifecycles (a signed request merge and a signed expiry each: 2N signed commits,
made with ``git commit -S``, so building takes a while), then times the audit (signatures
verified in-process) and, beside it, git's own verification of the same commits
(``git log --format=%G?`` with the allowed-signers file: two ssh-keygen runs per commit).

    .venv/bin/python bench/bench_audit_signed.py [N]

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.audit.history import HistoryReader
from controller.audit.lifecycles import build_report, replay
from controller.formats.grantfile import format_grant

START = datetime(2026, 1, 1, tzinfo=UTC)
CATALOG = (Path(__file__).resolve().parent.parent / "catalog.yaml").read_text("utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=500, help="grant lifecycles")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jitctl-bench-signed-") as tmp:
        root = Path(tmp)
        key = root / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        repo = root / "repo"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        who = {"NAME": "jitctl", "EMAIL": "jitctl@example.com"}
        env.update(
            {f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER") for k, v in who.items()}
        )

        def git(*a: str, when: datetime | None = None) -> None:
            e = dict(env)
            if when is not None:
                e["GIT_AUTHOR_DATE"] = e["GIT_COMMITTER_DATE"] = when.isoformat()
            subprocess.run(["git", *a], cwd=repo, env=e, check=True, capture_output=True)

        repo.mkdir()
        git("init", "-q", "-b", "main")
        git("config", "gpg.format", "ssh")
        git("config", "user.signingKey", str(key))
        signers = f'jitctl@example.com namespaces="git" {Path(str(key) + ".pub").read_text()}'
        (repo / ".github").mkdir()
        (repo / ".github" / "allowed_signers").write_text(signers)
        (repo / "catalog.yaml").write_text(
            CATALOG + "\naudit:\n  signers: .github/allowed_signers\n"
        )
        (repo / "grants").mkdir()
        git("add", "-A")
        git("commit", "-q", "-m", "init", when=START)
        t0 = time.perf_counter()
        t = START
        for i in range(args.n):
            t += timedelta(minutes=10)
            gid = f"g{i:05d}"
            path = repo / "grants" / f"{gid}.hcl"
            path.write_text(
                format_grant(
                    principal="alice@example.com",
                    entitlement="aws-prod-readonly",
                    expires_at=t + timedelta(minutes=5),
                    reason="INC",
                )
            )
            git("add", "-A")
            git("commit", "-S", "-q", "-m",
                f"jitctl: merge\n\nJit-Kind: request\nJit-Grant: {gid}\nRequested-by: alice\n"
                "Approved-by: carol\n", when=t)  # fmt: skip
            path.unlink()
            git("add", "-A")
            git("commit", "-S", "-q", "-m",
                f"jitctl: expire\n\nJit-Kind: expiry\nExpired-Grant: {gid} x\n",
                when=t + timedelta(minutes=6))  # fmt: skip
        print(f"built {args.n} lifecycles, {2 * args.n} signed commits in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

        t0 = time.perf_counter()
        reader = HistoryReader(repo)
        records = reader.read("main")
        report = build_report(
            replay(records, reader.trust, reader.trust_changes),
            until=datetime(2100, 1, 1, tzinfo=UTC),
        )
        audit_s = time.perf_counter() - t0
        proven = sum(1 for e in report.events if e.proven)
        print(f"audit (in-process SSH verification): {audit_s:.2f} s, {reader.processes} git "
              f"processes, {proven}/{len(report.events)} events proven, "
              f"{len(report.errors)} errors")  # fmt: skip

        t0 = time.perf_counter()
        out = subprocess.run(
            ["git", "-c", f"gpg.ssh.allowedSignersFile={repo / '.github' / 'allowed_signers'}",
             "log", "--format=%G?", "main"],
            cwd=repo, env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        git_s = time.perf_counter() - t0
        print(f"git's own verification of the same commits: {git_s:.2f} s "
              f"({out.count('G')} good); ratio {git_s / audit_s:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
