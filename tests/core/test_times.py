from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.times import format_duration, format_rfc3339, parse_duration, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T18:00:00Z", datetime(2026, 11, 25, 18, tzinfo=UTC)),
        ("2026-11-25T20:00:00+02:00", datetime(2026, 11, 25, 18, tzinfo=UTC)),
        ("2026-11-25t18:00:00.5z", datetime(2026, 11, 25, 18, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T18:00:00",
        "2026-11-25",
        "2026-13-01T00:00:00Z",
        "2026-11-25 18:00:00Z",
        "2026-11-25T18:00:00+25:00",
        "",
        "tomorrow",
        # non-ASCII digits: \d would match them and int() would read them
        "2026-11-25T18:00:00.\u0665Z",
        "\u0662\u0660\u0662\u0666-11-25T18:00:00Z",
        "2026-11-25T18:00:0\uff10Z",
        "2026-11-25T18:00:00+0\u0661:00",
    ],
)
def test_parse_rfc3339_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_format_rfc3339_is_utc_z() -> None:
    assert format_rfc3339(parse_rfc3339("2026-11-25T20:00:00+02:00")) == "2026-11-25T18:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    "text", ["", "0h", "8", "h", "1w", "-1h", "1.5h", "8 h", "\u0668h", "1\u0966m", "\uff18h"]
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def _parse_via_fromisoformat(text: str) -> datetime:
    """The former parse_rfc3339 (through datetime.fromisoformat): the reference the faster
    constructor-based one must match, value, offset and error message alike."""
    import re

    m = re.match(
        r"\A(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z",
        text,
        re.ASCII,
    )
    if not m:
        raise ValueError("no match")
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    zone = m.group(8).upper()
    if zone == "Z":
        zone = "+00:00"
    if int(zone[1:3]) > 23 or int(zone[4:6]) > 59:
        raise ValueError(f"{text!r} has an invalid zone offset")
    base = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}{zone}"
    try:
        value = datetime.fromisoformat(base).replace(microsecond=micro)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    try:
        utc = value.astimezone(UTC)
    except (ValueError, OverflowError):
        utc = datetime(1969, 12, 31, tzinfo=UTC)
    if not datetime(1970, 1, 1, tzinfo=UTC) <= utc <= datetime(9000, 1, 1, tzinfo=UTC):
        raise ValueError("outside the years")
    return value


def _d2(valid_max: int, valid_min: int = 0) -> st.SearchStrategy[str]:
    """Two digits, mostly in the valid range (so that most texts are times), sometimes not."""
    valid = st.integers(valid_min, valid_max)
    return st.one_of(valid, valid, valid, st.integers(0, 99)).map(lambda n: f"{n:02d}")


_D2 = _d2(99)


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(["0000", "0001", "1969", "1970", "2024", "2026", "8999", "9000", "9999"]),
    _d2(12, 1),
    _d2(31, 1),
    _d2(23),
    _d2(59),
    _d2(59),
    st.sampled_from(["", ".5", ".123456789", ".000001"]),
    st.one_of(
        st.sampled_from(["Z", "z", "+00:00", "-00:00"]),
        st.tuples(st.sampled_from("+-"), _d2(23), _d2(59)).map(lambda t: f"{t[0]}{t[1]}:{t[2]}"),
    ),
)
def test_parse_rfc3339_matches_fromisoformat(
    year: str, month: str, day: str, hour: str, minute: str, second: str, frac: str, zone: str
) -> None:
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second}{frac}{zone}"
    try:
        expected: datetime | str = _parse_via_fromisoformat(text)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: datetime | str = parse_rfc3339(text)
    except ValueError as exc:
        got = str(exc)
    if isinstance(expected, datetime):
        assert isinstance(got, datetime), got
        assert (got, got.utcoffset(), got.isoformat()) == (
            expected,
            expected.utcoffset(),
            expected.isoformat(),
        )
    elif expected != "outside the years":
        assert got == expected
    else:
        assert isinstance(got, str) and "outside the years" in got


def _outcome(parse: Any, text: str) -> tuple[Any, ...]:
    try:
        value = parse(text)
    except ValueError as exc:
        return ("refused", "outside the years" if "outside the years" in str(exc) else str(exc))
    return ("time", value, value.utcoffset(), value.isoformat())


def test_parse_rfc3339_matches_fromisoformat_on_a_grid() -> None:
    seen: Counter[str] = Counter()
    for parts in itertools.product(
        ["0001", "1970", "2024", "2026", "9000", "9999"],
        ["00", "02", "12", "13"],
        ["00", "28", "29", "30", "31", "32"],
        ["00", "23", "24"],
        ["59", "60"],
        ["", ".5"],
        ["Z", "+00:00", "-00:00", "+23:59", "-01:30", "+24:00", "+01:60"],
    ):
        text = "{}-{}-{}T{}:00:{}{}{}".format(*parts)
        expected = _outcome(_parse_via_fromisoformat, text)
        assert _outcome(parse_rfc3339, text) == expected, text
        seen[expected[0]] += 1
    assert seen["time"] >= 300 and seen["refused"] >= 300, seen


def test_format_rfc3339_is_the_strftime_form_for_every_offset_and_fraction() -> None:
    """format_rfc3339 writes with isoformat (one C call); it must be exactly the strftime form
    it replaced, for UTC and other offsets, with and without a fraction, across the years."""
    from datetime import timezone

    from controller.core.times import MAX_TIME, MIN_TIME

    def reference(value: datetime) -> str:
        utc = value.astimezone(UTC)
        if utc.microsecond:
            return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    zones = [UTC, UTC, timezone(timedelta(0)), timezone(timedelta(hours=5, minutes=30)),
             timezone(-timedelta(hours=11, minutes=59))]  # fmt: skip
    instants = [MIN_TIME, MAX_TIME, datetime(2026, 11, 24, 12, tzinfo=UTC),
                datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(2000, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
                datetime(2026, 12, 31, 23, 30, 0, 500000, tzinfo=UTC)]  # fmt: skip
    for at in instants:
        for zone in zones:
            value = at.astimezone(zone)
            assert format_rfc3339(value) == reference(value), value


@given(st.integers(min_value=-(10**6), max_value=10**9), st.integers(0, 999_999))
def test_format_duration_is_the_unit_by_unit_form(seconds: int, micro: int) -> None:
    """format_duration (divmod) writes what the unit-by-unit loop it replaced wrote."""

    def reference(value: timedelta) -> str:
        total = int(value.total_seconds())
        parts = []
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            if total >= size:
                parts.append(f"{total // size}{unit}")
                total %= size
        return "".join(parts) or "0s"

    value = timedelta(seconds=seconds, microseconds=micro)
    assert format_duration(value) == reference(value)
