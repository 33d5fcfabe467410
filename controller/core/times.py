"""RFC 3339 timestamps and durations such as ``30m``, ``8h``, ``1d``, ``1h30m``. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# re.ASCII: \d is 0-9 only (without it, Arabic-Indic and other digits match and int() reads them)
_RFC3339 = re.compile(
    r"\A(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)
_DURATION = re.compile(r"\A(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z", re.ASCII)

# The times jitctl accepts (UTC): wide enough for any real grant, narrow enough that a time
# plus or minus any accepted duration stays representable (no overflow anywhere downstream).
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)
# The longest duration jitctl accepts anywhere (--for, max_duration, --late-after, --grace):
# catalogs allow hours or days; ten years is far beyond any of them and far from an overflow.
MAX_DURATION = timedelta(days=3650)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a zone. Raises ValueError otherwise."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(
            f"{text!r} is not an RFC 3339 timestamp with a zone (e.g. 2026-11-25T18:00:00Z)"
        )
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = UTC
    if zone not in ("Z", "z"):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{text!r} has an invalid zone offset")
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)  # +00:00 and -00:00: UTC itself
    try:
        # the constructor checks each field as datetime.fromisoformat does, with its messages
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    try:
        utc = value if tz is UTC else value.astimezone(UTC)
    except (ValueError, OverflowError):
        utc = MIN_TIME - timedelta(days=1)
    if not MIN_TIME <= utc <= MAX_TIME:
        raise ValueError(
            f"{text!r} is outside the years jitctl accepts "
            f"({format_rfc3339(MIN_TIME)} to {format_rfc3339(MAX_TIME)})"
        )
    return value


_DAY = re.compile(r"\A(\d{4})-(\d{2})-(\d{2})\Z")


def parse_day_or_rfc3339(text: str, *, end_of_day: bool = False) -> datetime:
    """A date (``2026-10-01``: that day in UTC, from its first second, or with ``end_of_day``
    to its last) or an RFC 3339 timestamp with a zone. Raises ValueError otherwise."""
    m = _DAY.match(text.strip())
    if m is None:
        try:
            return parse_rfc3339(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a date (2026-10-01) nor an RFC 3339 timestamp with a "
                "zone (2026-10-01T00:00:00Z)"
            ) from None
    try:
        day = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None
    return day + timedelta(days=1, seconds=-1) if end_of_day else day


def format_rfc3339(value: datetime) -> str:
    """Format as UTC with a ``Z``; whole seconds unless there is a fraction."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    # isoformat (one C call) writes "+00:00" for UTC, and the fraction only when there is one;
    # the years jitctl accepts (1970 to 9000) have four digits either way
    return utc.isoformat()[:-6] + "Z"


def parse_duration(text: str) -> timedelta:
    """``30m``, ``8h``, ``1d``, ``1d12h``, ``90s``. Raises ValueError; zero is refused."""
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration such as 30m, 8h, 1d or 1h30m")
    too_long = f"{text!r} is longer than {format_duration(MAX_DURATION)}, the most jitctl accepts"
    if any(g and len(g.lstrip("0")) > 9 for g in m.groups()):
        raise ValueError(too_long)
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(too_long)
    return timedelta(seconds=seconds)


def shift(value: datetime, by: timedelta) -> datetime:
    """``value + by``, or ValueError when the result leaves the accepted years."""
    try:
        out = value + by
    except OverflowError:
        out = MAX_TIME + timedelta(days=1) if by > timedelta(0) else MIN_TIME - timedelta(days=1)
    if not MIN_TIME <= out <= MAX_TIME:
        raise ValueError(
            f"the result is outside the years jitctl accepts ({format_rfc3339(MIN_TIME)} to "
            f"{format_rfc3339(MAX_TIME)})"
        )
    return out


def format_duration(value: timedelta) -> str:
    """``1d2h``, ``45m``, ``1h0m5s`` is ``1h5s``: each unit that is not zero, whole seconds
    (rounded towards zero); ``0s`` for less than a second or a negative duration."""
    total = int(value.total_seconds())
    if total < 1:
        return "0s"
    minutes, seconds = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (
        (f"{days}d" if days else "")
        + (f"{hours}h" if hours else "")
        + (f"{minutes}m" if minutes else "")
        + (f"{seconds}s" if seconds else "")
    )
