"""Benchmark: `terraform plan` of the provider-free modules over 1,000 and 10,000 grants, one
state for everything vs sharded by stack (issue: stacks that scale). Prints figures.

The root is terraform/'s own variables.tf and the dispatcher (modules/grants, which runs the
modules' provider-free window/condition/schedule logic per grant): what a plan evaluates before
any provider is called. A push that extends ONE grant plans either the whole organisation (one
state) or the one stack (AWS account) that grant lives in; both plans are timed (best of 2).
Cloud providers cannot run here, so the plans carry no refresh: real plans add one API read per
resource in the state, which sharding divides the same way.

Each plan is timed as wall time and as CPU time (user + system of terraform): on a shared,
loaded machine the CPU time is the figure to compare (wall time grows with the load; the load
average is printed). Terraform's plan cost per grant grows with the size of the state (measured
on a loaded 2-core machine: 4.7 s CPU for 100 grants, 10.1 s for 200, 42.8 s for 500, 116 s for
1,000), so a 10,000-grant one-state plan takes tens of minutes of CPU: fine for a benchmark run
by hand, which is why no test runs it; JITCTL_BENCH_RUNS=1 halves the wait.

Run: .venv/bin/python -m bench.bench_stacks_plan [N ...] (default 1000 10000)
     JITCTL_BENCH_STACK=500 sets the grants per stack; JITCTL_BENCH_RUNS=2 the plans per
     figure (best of).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_STACK = int(os.environ.get("JITCTL_BENCH_STACK", "500"))
RUNS = int(os.environ.get("JITCTL_BENCH_RUNS", "2"))
NOW = "2026-11-24T12:00:00Z"

HARNESS = """
module "grants" {
  source = "%s"
  now    = var.now
  grants = var.grants
}
"""


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
    e["CHECKPOINT_DISABLE"] = "1"
    e["TF_IN_AUTOMATION"] = "1"
    return e


def grants(first: int, count: int, account: str, extended: int | None = None) -> dict:
    out = {}
    for i in range(first, first + count):
        out[f"g{i:05d}"] = {
            "principal": f"user{i}@example.com",
            "entitlement": "aws-prod-readonly",
            "module": "aws-iam-role",
            "target": {
                "account_id": account,
                "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "saml_provider_arn": f"arn:aws:iam::{account}:saml-provider/acme-idp",
            },
            "starts_at": None,
            "expires_at": "2026-11-25T06:00:00Z" if i == extended else "2026-11-25T00:00:00Z",
            "reason": f"INC-{i}",
            "ticket": None,
        }
    return out


def root(work: Path, grant_map: dict) -> Path:
    work.mkdir(parents=True)
    shutil.copy(ROOT / "terraform" / "variables.tf", work / "variables.tf")
    source = Path(os.path.relpath(ROOT / "modules" / "grants", work)).as_posix()
    (work / "main.tf").write_text(HARNESS % source)
    (work / "in.tfvars.json").write_text(
        json.dumps({"jitctl_render_version": 1, "now": NOW, "grants": grant_map})
    )
    tf(work, "init", "-input=false", "-no-color")
    return work


def tf(work: Path, *args: str) -> tuple[float, float]:
    """(wall s, CPU s) of one terraform run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        ["terraform", *args], cwd=work, env=env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):
        raise SystemExit(
            f"terraform {args[0]} failed in {work}:\n{proc.stdout[-2000:]}{proc.stderr}"
        )
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def extend_and_plan(work: Path, grant_map: dict, gid: str) -> tuple[float, float]:
    changed = json.loads(json.dumps(grant_map))
    changed[gid]["expires_at"] = "2026-11-25T06:00:00Z"
    (work / "ext.tfvars.json").write_text(
        json.dumps({"jitctl_render_version": 1, "now": NOW, "grants": changed})
    )
    return tf(
        work, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-var-file=ext.tfvars.json"
    )


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10_000]
    print(
        f"terraform plan after extending one grant (stacks of {PER_STACK} grants; load "
        f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            accounts = [f"{100000000000 + s:012d}" for s in range((n + PER_STACK - 1) // PER_STACK)]
            everything: dict = {}
            for s, account in enumerate(accounts):
                everything.update(grants(s * PER_STACK, min(PER_STACK, n - s * PER_STACK), account))
            t0 = time.perf_counter()
            one = root(Path(tmp) / "one", everything)
            shard_map = grants(0, min(PER_STACK, n), accounts[0])
            shard = root(Path(tmp) / "shard", shard_map)
            setup = time.perf_counter() - t0  # init only
            one_runs = [extend_and_plan(one, everything, "g00000") for _ in range(RUNS)]
            shard_runs = [extend_and_plan(shard, shard_map, "g00000") for _ in range(RUNS)]
            w_one, c_one = min(r[0] for r in one_runs), min(r[1] for r in one_runs)
            w_shard, c_shard = min(r[0] for r in shard_runs), min(r[1] for r in shard_runs)
            print(
                f"  {n:>6} grants: one state {w_one:7.1f} s wall {c_one:7.1f} s CPU; sharded "
                f"(the grant's stack, {len(shard_map)} grants of {len(accounts)} stacks) "
                f"{w_shard:6.1f} s wall {c_shard:6.1f} s CPU; ratio {c_one / c_shard:5.1f}x CPU, "
                f"{w_one / w_shard:5.1f}x wall   (init {setup:.0f} s; best of {RUNS}; load "
                f"average now {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
