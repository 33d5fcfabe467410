"""Start-up of the command line: the median wall time of short commands, and what they import.

Run: python -m bench.bench_startup [OTHER_SOURCE_DIR]
Each command runs 10 times (after 2 unmeasured runs) as a fresh ``python -m controller``
process, with compiled bytecode kept (as an installed jitctl has it, whatever
PYTHONDONTWRITEBYTECODE says), on a 20-grant repository with its parse cache written. With
OTHER_SOURCE_DIR (a folder holding another ``controller/``, e.g. ``git archive`` of an older
commit) the two are run in turn, run by run, so that a change in the machine's load falls on
both. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, as_installed, make_repo

RUNS = 10


def commands(repo: Path) -> dict[str, list[str]]:
    return {
        "--version": ["--version"],
        "--help": ["--help"],
        "list --help": ["list", "--help"],
        "list (20 grants, warm)": ["--repo", str(repo), "list"],
        "list --format json": ["--repo", str(repo), "list", "--format", "json"],
        "check (20 grants)": ["--repo", str(repo), "check"],
    }


def environment(source: Path, pycache: Path) -> dict[str, str]:
    pycache.mkdir()
    return {**as_installed(os.environ, pycache), "PYTHONPATH": str(source)}


def run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "controller", *argv],
        env=env,
        cwd=env["PYTHONPYCACHEPREFIX"],  # not a source tree: -m puts the folder first on the path
        capture_output=True,
        check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {proc.stderr.decode()}")
    return took


def imports_ms(argv: list[str], env: dict[str, str]) -> float:
    """The sum of -X importtime's top-level cumulative times (ms): what importing cost."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "controller", *argv],
        env=env,
        cwd=env["PYTHONPYCACHEPREFIX"],
        capture_output=True,
        text=True,
        check=False,
    )
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        top = len(parts) == 3 and parts[2][1:2] != " " and parts[1].strip().isdigit()
        if line.startswith("import time:") and top:
            total += int(parts[1])
    return total / 1000


def main() -> None:
    sources = {"this tree": ROOT}
    if len(sys.argv) > 1:
        sources["other"] = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo", 20)
        envs = {
            name: environment(src, Path(tmp) / f"pycache-{i}")
            for i, (name, src) in enumerate(sources.items())
        }
        print(f"load average {os.getloadavg()}; {RUNS} runs each; median (min) ms")
        base = [sys.executable, "-c", "pass"]
        times = [0.0] * RUNS
        for i in range(RUNS):
            start = time.perf_counter()
            subprocess.run(base, check=True)
            times[i] = time.perf_counter() - start
        print(f"  {'python -c pass':26s} {statistics.median(times) * 1000:7.1f}")
        for label, argv in commands(repo).items():
            got: dict[str, list[float]] = {name: [] for name in sources}
            for _ in range(2):
                for env in envs.values():
                    run(argv, env)
            for _ in range(RUNS):
                for name, env in envs.items():
                    got[name].append(run(argv, env))
            cells = [
                f"{name}: {statistics.median(ts) * 1000:7.1f} ({min(ts) * 1000:6.1f}), "
                f"imports {imports_ms(argv, envs[name]):6.1f}"
                for name, ts in got.items()
            ]
            print(f"  {label:26s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
