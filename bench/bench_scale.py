"""Every command over a repository of 100,000 grants (10% expired). Prints figures.

The repository is built in one commit with git fast-import. Each command runs as a fresh
``jitctl`` process (start-up included) with git's trace2 event log on, so the benchmark can say
how many git processes the command started (every ``git`` the command ran, children included)
and, through ``wait4``, the command's peak memory (max RSS of the Python process and of every
git process it waited for).

Each command is started by a small launcher process (``LAUNCHER``), not by the benchmark
itself: on Linux a child started with vfork/fork and exec inherits its parent's high-water RSS
into its own ``ru_maxrss`` (``exec_mmap`` records the old address space's peak), so a command
started straight from this process, which holds the parsed outputs of the commands before it,
would report this process's peak (a 100,000-grant run once showed 298 MB for a ``check`` that
peaks at 197 MB, 345 MB for an ``expire`` that peaks at 177 MB). The launcher is a fresh
interpreter of about 10 MB, so that is the floor of the figure.

The package's bytecode is compiled beforehand into a temporary ``PYTHONPYCACHEPREFIX``, as an
install does (``PYTHONDONTWRITEBYTECODE``, set in some environments, would otherwise time
compiling ``controller/`` in every command).

Figures: ``list`` cold (a fresh clone: no parse cache; median of 3) and warm (cache; median of
5), with the fastest and slowest runs (this machine's speed varies by a third from run to run),
``render`` (seconds and bytes), ``check`` of every grant at HEAD, and ``expire --local`` of the
10% that expired, with its ratio to the cold ``list`` (the issue's budget: at most 3x).
``expire`` is measured as it is on the branch the benchmark runs on.

Run: .venv/bin/python -m bench.bench_scale [N]   (default N = 100000; N must be <= 1,000,000)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import CATALOG, ENV, as_installed, git
from bench.common import grant_bytes as common_grant_bytes

NOW = "2026-11-24T12:00:00Z"
EXPIRED_BY = datetime(2026, 11, 24, tzinfo=UTC)  # 12 h before NOW
ACTIVE_UNTIL = datetime(2026, 11, 25, tzinfo=UTC)  # 12 h after NOW: aws-prod-readonly's max


def grant_bytes(i: int) -> bytes:
    """bench.common's grant, every 10th one expired. Expiry times differ as real ones do
    (requested at different seconds): an expired grant ended ``i`` seconds before EXPIRED_BY,
    a live one ``i % 40,000`` seconds before ACTIVE_UNTIL (still after NOW), so nothing
    remembered per distinct time flatters the figures."""
    if i % 10 == 0:
        at = EXPIRED_BY - timedelta(seconds=i)
    else:
        at = ACTIVE_UNTIL - timedelta(seconds=i % 40_000)
    return common_grant_bytes(i, at.strftime("%Y-%m-%dT%H:%M:%SZ"))


def make_repo(path: Path, n: int) -> Path:
    """A work clone with ``n`` grants on main (every 10th expired) in one commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    out = bytearray(b"commit refs/heads/main\n")
    out += b"committer bench <bench@example.com> 1764000000 +0000\ndata 4\nseed\n"
    out += b"M 100644 inline catalog.yaml\ndata %d\n%s\n" % (len(CATALOG), CATALOG)
    out += b"M 100644 inline grants/.gitkeep\ndata 0\n\n"
    for i in range(n):
        body = grant_bytes(i)
        out += b"M 100644 inline grants/g%06d.hcl\ndata %d\n%s\n" % (i, len(body), body)
    git(path, "fast-import", "--quiet", data=bytes(out))
    git(path, "checkout", "-q", "-f", "main")
    git(path, "config", "user.name", "bench")
    git(path, "config", "user.email", "bench@example.com")
    return path


# Runs argv[3:] with stdout/stderr to the files argv[1], argv[2]; prints wall seconds, CPU
# seconds, peak RSS (KiB) and exit code of that process and the processes it waited for.
LAUNCHER = """
import os, subprocess, sys, time
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[3:], stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
print(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds of jitctl and the git processes it waited for
    rss_mb: float
    git_processes: int
    code: int
    stdout: bytes
    stderr: bytes


def jitctl(repo: Path, trace_dir: Path, name: str, *args: str) -> Run:
    """``jitctl --repo REPO --now NOW ARGS`` as a fresh process: wall time, peak RSS (wait4),
    and the git processes it started (trace2 ``start`` events, children included)."""
    trace = trace_dir / f"{name}.trace2"
    trace.unlink(missing_ok=True)
    out_path, err_path = trace_dir / f"{name}.out", trace_dir / f"{name}.err"
    env = {**_RUN_ENV, "GIT_TRACE2_EVENT": str(trace)}
    cmd = [sys.executable, "-m", "controller", "--repo", str(repo), "--now", NOW, *args]
    launcher = [sys.executable, "-c", LAUNCHER, str(out_path), str(err_path), *cmd]
    figures = subprocess.run(launcher, env=env, capture_output=True, check=True).stdout.split()
    seconds, cpu, maxrss_kib, code = float(figures[0]), float(figures[1]), *map(int, figures[2:])
    starts = 0
    if trace.exists():
        with trace.open("rb") as fh:
            starts = sum(1 for line in fh if b'"event":"start"' in line)
    run = Run(
        seconds,
        cpu,
        maxrss_kib / 1024,  # KiB on Linux
        starts,
        code,
        out_path.read_bytes(),
        err_path.read_bytes(),
    )
    if run.code not in (0, 1):
        raise SystemExit(f"jitctl {' '.join(args)} failed ({run.code}): {run.stderr.decode()}")
    return run


# Each command runs with its modules' bytecode compiled beforehand, as an install does
# (compile_bytecode sets this to bench.common.as_installed's environment)
_RUN_ENV: dict[str, str] = dict(ENV)


def compile_bytecode(folder: Path, traces: Path) -> None:
    """Compile into ``folder``, as pip does at install: the package, and then (by running each
    benchmarked command once on a 100-grant repository) every module of the standard library
    and the venv they import, whose installed bytecode a cache prefix does not see."""
    _RUN_ENV.clear()
    _RUN_ENV.update(as_installed(ENV, folder))
    package = Path(__file__).resolve().parent.parent / "controller"
    compile_package = [sys.executable, "-m", "compileall", "-q", str(package)]
    subprocess.run(compile_package, env=_RUN_ENV, check=True)
    small = make_repo(folder / "warm-up", 100)
    for args in (
        ("list",),
        ("list", "--format", "json"),
        ("render", "--out", "-"),
        ("check", "--format", "json"),
        ("expire", "--local", "--format", "json"),
    ):
        jitctl(small, traces, "warm-up", *args)  # fmt: skip


def median(runs: list[Run]) -> Run:
    """The run of median wall time."""
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def spread(runs: list[Run]) -> str:
    walls = [r.seconds for r in runs]
    return f"[{min(walls):.2f} .. {max(walls):.2f} s]"


def line(what: str, r: Run, extra: str = "") -> None:
    print(
        f"{what:<38} {r.seconds:6.2f} s (cpu {r.cpu:6.2f} s)  peak RSS {r.rss_mb:6.0f} MB  "
        f"{r.git_processes:5d} git processes  exit {r.code}{extra}"
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages (as ``uptime`` prints them)."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    expiring = len(range(0, n, 10))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        traces = root / "traces"
        traces.mkdir()
        compile_bytecode(root / "pycache", traces)
        started = time.perf_counter()
        repo = make_repo(root / "repo", n)
        print(
            f"repository: {n} grants ({expiring} expired at {NOW}), built in "
            f"{time.perf_counter() - started:.1f} s with git fast-import"
        )
        print(f"load average before: {load()} ({os.cpu_count()} CPUs); wall times grow with it")

        # list: 3 cold runs (the parse cache removed before each, as in a fresh clone) and 5
        # warm ones; this machine's speed varies by a third from run to run, so each figure
        # is the median run, with the fastest and slowest wall times beside it
        colds = []
        for _ in range(3):
            shutil.rmtree(repo / ".git" / "jitctl", ignore_errors=True)
            colds.append(jitctl(repo, traces, "list-cold", "list", "--format", "json"))
        warms = [jitctl(repo, traces, "list-warm", "list", "--format", "json") for _ in range(5)]
        texts = [jitctl(repo, traces, "list-text", "list") for _ in range(3)]
        cold, warm, text = median(colds), median(warms), median(texts)
        listed = json.loads(cold.stdout)["grants"]
        same = all(r.stdout == cold.stdout for r in colds + warms) and len(listed) == n
        line("list --format json (cold, median of 3)", cold, f"  {spread(colds)}  {n} grants")
        line("list --format json (warm, median of 5)", warm, f"  {spread(warms)}  same: {same}")
        line("list (text, warm, median of 3)", text, f"  {spread(texts)}")

        out = root / "grants.auto.tfvars.json"
        rendered = jitctl(repo, traces, "render", "render", "--out", str(out))
        size = out.stat().st_size
        active = len(json.loads(out.read_bytes())["grants"])
        line(
            "render --out FILE (warm)", rendered,
            f"  {size / 1e6:.1f} MB, {active} grants, {size / max(active, 1):.0f} bytes/grant",
        )  # fmt: skip

        check = jitctl(repo, traces, "check", "check", "--format", "json")
        findings = json.loads(check.stdout)["findings"]
        line("check (every grant at HEAD, warm)", check, f"  {len(findings)} findings")

        before = git(repo, "rev-parse", "HEAD").strip()
        expire = jitctl(repo, traces, "expire", "expire", "--local", "--format", "json")
        after = git(repo, "rev-parse", "HEAD").strip()
        removed = len(json.loads(expire.stdout)["removed"])
        left = git(repo, "ls-tree", "--name-only", "HEAD", "grants/").split()
        ok = after != before and removed == expiring and len(left) == n - expiring + 1
        line(f"expire --local ({expiring} expired)", expire, f"  removed {removed}; ok: {ok}")
        print(
            f"expire / cold list = {expire.seconds / cold.seconds:.2f} wall, "
            f"{expire.cpu / cold.cpu:.2f} cpu (budget: at most 3)"
        )
        print(f"load average after: {load()}")
        if not (same and ok):
            print("FAIL: outputs disagree (see above)")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
