"""Benchmark: ``jitctl audit`` over a long history, beside a naive per-commit walk.

Builds (with ONE ``git fast-import``) a repository whose main branch holds N grant lifecycles
(default 20,000): each is a request (a squash commit with trailers, or every fourth a real
merge of a request branch), every fifth an extension, and an expiry commit; at least 2N commits
on main. Then times the audit (one git log, one cat-file --batch, one side-parent log) and a
naive walk (``git show`` per commit plus ``git cat-file`` per grant file) over a sample,
extrapolated, and prints the ratio.

    /work/venv/bin/python bench/bench_audit.py [N] [--sample 400]

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
from controller.audit.report import to_jsonl
from controller.formats.grantfile import format_grant

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
LIVE = 40  # grants live at once


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def _commit(
    ref: str,
    mark: int,
    when: datetime,
    message: str,
    ops: list[bytes],
    *,
    parent: int | None,
    merge: int | None = None,
    who: str = "jitctl-bot <bot@example.com>",
) -> bytes:
    ts = int(when.timestamp())
    out = [
        f"commit {ref}\n".encode(),
        b"mark :%d\n" % mark,
        f"author {who} {ts} +0000\n".encode(),
        f"committer {who} {ts} +0000\n".encode(),
        _data(message),
    ]
    if parent is not None:
        out.append(b"from :%d\n" % parent)
    if merge is not None:
        out.append(b"merge :%d\n" % merge)
    out.extend(ops)
    out.append(b"\n")
    return b"".join(out)


def _put(path: str, text: str) -> bytes:
    return f"M 100644 inline {path}\n".encode() + _data(text)


def build(path: Path, n: int) -> int:
    """A repository with n lifecycles; returns the number of commits on main."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    chunks: list[bytes] = []
    mark = 0
    t = START

    def next_mark() -> int:
        nonlocal mark
        mark += 1
        return mark

    head = next_mark()
    chunks.append(
        _commit(
            "refs/heads/main",
            head,
            t,
            "initial catalog\n",
            [_put("catalog.yaml", "version: 1\n"), _put("grants/.gitkeep", "")],
            parent=None,
        )
    )
    main_commits = 1
    live: list[tuple[str, datetime]] = []
    for i in range(n):
        gid = f"user{i % 500}-aws-prod-readonly-{i:06d}"
        gpath = f"grants/{gid}.hcl"
        t += STEP
        expires = t + STEP * LIVE
        text = format_grant(
            principal=f"user{i % 500}@example.com",
            entitlement="aws-prod-readonly" if i % 3 else "gcp-prod-logs-viewer",
            expires_at=expires,
            reason=f"INC-{i}: investigation",
        )
        trailers = f"Jit-Grant: {gid}\nRequested-by: user{i % 500}\n"
        if i % 4 == 0:  # a local merge of a request branch
            side = next_mark()
            chunks.append(
                _commit(
                    f"refs/heads/jit/request/{gid}",
                    side,
                    t - STEP / 2,
                    f"Request {gid}\n\nJit-Kind: request\n{trailers}",
                    [_put(gpath, text)],
                    parent=head,
                    who=f"user{i % 500} <user{i % 500}@example.com>",
                )
            )
            m = next_mark()
            chunks.append(
                _commit(
                    "refs/heads/main",
                    m,
                    t,
                    f"Merge {gid}\n\nJit-Kind: request\n{trailers}Approved-by: carol\n",
                    [_put(gpath, text)],
                    parent=head,
                    merge=side,
                )
            )
        else:  # a squash merge on GitHub
            m = next_mark()
            chunks.append(
                _commit(
                    "refs/heads/main",
                    m,
                    t,
                    f"Request {gid} (#{i})\n\nJit-Kind: request\n{trailers}"
                    f"Approved-by: dave\nJit-PR: {i}\n",
                    [_put(gpath, text)],
                    parent=head,
                )
            )
        head = m
        main_commits += 1
        if i % 5 == 0:  # an extension
            t += STEP / 5
            expires += STEP * 10
            text = text.replace(
                text.split('expires_at  = "')[1].split('"')[0],
                expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            m = next_mark()
            chunks.append(
                _commit(
                    "refs/heads/main",
                    m,
                    t,
                    f"Extend {gid}\n\nJit-Kind: extension\n{trailers}Approved-by: carol\n",
                    [_put(gpath, text)],
                    parent=head,
                )
            )
            head = m
            main_commits += 1
        live.append((gpath, expires))
        while live and (len(live) > LIVE or live[0][1] <= t):
            old, old_exp = live.pop(0)
            when = max(t, old_exp) + timedelta(minutes=3)
            t = when
            m = next_mark()
            oid = old.removeprefix("grants/").removesuffix(".hcl")
            chunks.append(
                _commit(
                    "refs/heads/main",
                    m,
                    when,
                    f"Expire 1 grant\n\nJit-Kind: expiry\nExpired-Grant: {oid} "
                    f"{old_exp.strftime('%Y-%m-%dT%H:%M:%SZ')}\n",
                    [f"D {old}\n".encode()],
                    parent=head,
                )
            )
            head = m
            main_commits += 1
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(chunks), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    return main_commits


def naive(path: Path, sample: int) -> tuple[float, int]:
    """Seconds for a per-commit walk over ``sample`` commits: git show per commit, cat-file per
    grant file. Returns (seconds, commits walked)."""
    shas = subprocess.run(
        ["git", "rev-list", "--first-parent", "main"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[:sample]
    t0 = time.perf_counter()
    for sha in shas:
        out = subprocess.run(
            ["git", "show", "--first-parent", "--raw", "--no-abbrev", "--format=%B", sha],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith(":") and "\tgrants/" in line:
                blob = line.split()[3]
                if set(blob) != {"0"}:
                    subprocess.run(
                        ["git", "cat-file", "-p", blob], cwd=path, capture_output=True, check=True
                    )
    return time.perf_counter() - t0, len(shas)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=20_000, help="grant lifecycles")
    ap.add_argument("--sample", type=int, default=400, help="commits for the naive walk")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jitctl-bench-") as tmp:
        path = Path(tmp) / "repo"
        os.environ.pop("GIT_DIR", None)
        t0 = time.perf_counter()
        commits = build(path, args.n)
        build_s = time.perf_counter() - t0
        print(f"built {args.n} lifecycles, {commits} commits on main in {build_s:.1f} s")

        t0 = time.perf_counter()
        reader = HistoryReader(path)
        records = reader.read("main")
        read_s = time.perf_counter() - t0
        history = replay(records, reader.trust, reader.trust_changes)
        report = build_report(history, until=datetime(2100, 1, 1, tzinfo=UTC))
        jsonl = to_jsonl(report)
        audit_s = time.perf_counter() - t0
        windows = len(report.windows)
        print(
            f"audit: {audit_s:.2f} s ({read_s:.2f} s reading git with {reader.processes} git "
            f"processes), {len(records)} commits, {len(report.events)} events, "
            f"{windows} windows, {len(jsonl) / 1e6:.1f} MB jsonl"
        )
        assert windows == args.n, (windows, args.n)

        naive_s, walked = naive(path, args.sample)
        projected = naive_s / walked * commits
        print(
            f"naive per-commit walk: {naive_s:.2f} s for {walked} commits -> "
            f"{projected:.0f} s projected for {commits} commits"
        )
        print(f"ratio naive/audit: {projected / audit_s:.0f}x")


if __name__ == "__main__":
    main()
