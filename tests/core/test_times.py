from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
