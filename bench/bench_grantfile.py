"""Per-file cost of reading grant files: jitctl's reader vs python-hcl2 (a test-only library).

Run: python bench/bench_grantfile.py [N]   (default N = 10000)
Prints per-file microseconds, the total for N files, and the ratio; exits 1 if jitctl's reader
is not at least 10x faster than python-hcl2's hcl2.loads.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.formats.grantfile import format_grant, parse_grant_file


def corpus(n: int) -> list[tuple[str, bytes]]:
    base = datetime(2026, 11, 25, 18, tzinfo=UTC)
    files = []
    for i in range(n):
        text = format_grant(
            principal=f"user{i}@example.com",
            entitlement=("aws-prod-readonly", "gcp-billing-viewer", "azure-sub-owner")[i % 3],
            expires_at=base + timedelta(minutes=i),
            starts_at=base - timedelta(hours=1) if i % 5 == 0 else None,
            reason=f'INC-{i}: investigating a 5xx spike in checkout ("p99" up)',
            ticket=f"INC-{i}" if i % 2 else None,
            comment=f"requested by user{i}",
        )
        files.append((f"grants/user{i}-{i}.hcl", text.encode()))
    return files


def timed(label: str, fn: object, files: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for path, data in files:
        fn(path, data)  # type: ignore[operator]
    total = time.perf_counter() - start
    print(f"{label:<38} {total / len(files) * 1e6:9.1f} us/file {total:8.3f} s total")
    return total


def fresh_process_first_use() -> float:
    code = (
        "import time; t = time.perf_counter(); import hcl2; "
        "hcl2.loads('grant {\\n a = \"b\"\\n}\\n'); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    files = corpus(n)
    print(f"python-hcl2 import + first parse in a fresh process: {fresh_process_first_use():.3f} s")
    import hcl2

    hcl2.loads("a = 1\n")  # build or load the lark parser outside the timings

    ours = timed("parse_grant_file (jitctl's reader)", parse_grant_file, files)
    crlf = [(p, d.replace(b"\n", b"\r\n")) for p, d in files]
    timed("parse_grant_file, CRLF line endings", parse_grant_file, crlf)
    loads = timed("hcl2.loads (python-hcl2 alone)", lambda p, d: hcl2.loads(d.decode()), files)
    assert all(parse_grant_file(p, d).grant is not None for p, d in files)
    ratio = loads / ours
    print(f"jitctl's reader is {ratio:.0f}x faster than hcl2.loads")
    return 0 if ratio >= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
