#!/usr/bin/env python3
"""Watchdog: fail when a grant is overdue, i.e. expired more than GRACE ago and still on the branch.

  jitctl list --state expired --format json > expired.json
  overdue.py expired.json --now 2026-11-24T12:00:00Z --grace-minutes 30

Reads `jitctl list --format json` output (a JSON list of grants, or an object with a "grants" list;
each grant has "id" and "expires_at", RFC 3339 with a zone). A grant is overdue when
expires_at + grace <= now: `jitctl expire` (every 5 minutes) should have removed it long before,
so the expiry pipeline is broken (the clouds' own conditions have still ended the access).
Prints a GitHub `::error::` line per overdue grant and exits 1 when there is any; 0 otherwise;
2 on bad input. To be replaced by `jitctl list --state overdue --grace 30m` (exit 1 when any).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value.astimezone(UTC)


def overdue(grants: Any, now: datetime, grace: timedelta) -> list[tuple[str, str]]:
    if isinstance(grants, dict):
        grants = grants.get("grants")
    if not isinstance(grants, list):
        raise ValueError("expected a list of grants (or an object with a 'grants' list)")
    found = []
    for g in grants:
        if not isinstance(g, dict) or "expires_at" not in g:
            raise ValueError("every grant needs 'expires_at'")
        grant_id = str(g.get("id") or g.get("grant_id") or g.get("file") or "?")
        if parse_time(str(g["expires_at"])) + grace <= now:
            found.append((grant_id, str(g["expires_at"])))
    return sorted(found)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("listing", help="file with `jitctl list --state expired --format json`")
    parser.add_argument("--now", required=True, help="RFC 3339 time with a zone")
    parser.add_argument("--grace-minutes", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        with open(args.listing, encoding="utf-8") as f:
            listing = json.load(f)
        late = overdue(listing, parse_time(args.now), timedelta(minutes=args.grace_minutes))
    except (OSError, ValueError) as exc:
        print(f"overdue: {exc}", file=sys.stderr)
        return 2
    for grant_id, expires_at in late:
        print(
            f"::error::grant {grant_id} expired at {expires_at} and is still on the default branch"
            f" after {args.grace_minutes} minutes: is jit-expire running?"
        )
    print(f"{len(late)} overdue grant(s)")
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
