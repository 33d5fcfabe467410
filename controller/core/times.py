"""RFC 3339 timestamps and durations such as ``30m``, ``8h``, ``1d``, ``1h30m``. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# re.ASCII: \d is 0-9 only (without it, Arabic-Indic and other digits match and int() reads them)
_RFC3339 = re.compile(
    r"\A(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)
_DURATION = re.compile(r"\A(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z", re.ASCII)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a zone. Raises ValueError otherwise."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(
            f"{text!r} is not an RFC 3339 timestamp with a zone (e.g. 2026-11-25T18:00:00Z)"
        )
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    zone = m.group(8).upper()
    if zone == "Z":
        zone = "+00:00"
    if int(zone[1:3]) > 23 or int(zone[4:6]) > 59:
        raise ValueError(f"{text!r} has an invalid zone offset")
    base = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}{zone}"
    try:
        value = datetime.fromisoformat(base)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    return value.replace(microsecond=micro)


def format_rfc3339(value: datetime) -> str:
    """Format as UTC with a ``Z``; whole seconds unless there is a fraction."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    utc = value.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``8h``, ``1d``, ``1d12h``, ``90s``. Raises ValueError; zero is refused."""
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration such as 30m, 8h, 1d or 1h30m")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    value = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if value <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration")
    return value


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"
