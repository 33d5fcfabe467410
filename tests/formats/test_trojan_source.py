"""Trojan Source: nothing in a grant file may make a reviewer see other than what is parsed.

Every bidi control and zero-width character, in a comment and in a string (raw and escaped),
and the carriage-return overwrite, is refused with a rule id, the line and the column.
"""

from __future__ import annotations

import pytest

from controller.formats.grantfile import parse_grant_file

PATH = "grants/trojan-1.hcl"
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u034f"]
INVISIBLE = BIDI + ZERO_WIDTH


EXPIRES = '  expires_at  = "2026-11-25T18:00:00Z"'


def grant(expires_line: str = EXPIRES, reason: str = "INC-1") -> str:
    return (
        "grant {\n"
        '  principal   = "alice@example.com"\n'
        '  entitlement = "aws-prod-readonly"\n'
        f"{expires_line}\n"
        f'  reason      = "{reason}"\n'
        "}\n"
    )


def only_finding(text: str) -> tuple[str, int | None, str]:
    result = parse_grant_file(PATH, text.encode("utf-8"))
    assert result.grant is None
    (finding,) = result.findings
    return finding.rule, finding.line, finding.message


def test_the_clean_file_is_accepted() -> None:
    assert parse_grant_file(PATH, grant().encode()).findings == ()


@pytest.mark.parametrize("ch", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_in_a_comment(ch: str) -> None:
    # the classic: an override in a comment makes GitHub show a later expires_at
    line = f'  expires_at  = "2026-11-25T18:00:00Z" # {ch}"2099-01-01T00:00:00Z" = ta_seripxe'
    rule, lineno, message = only_finding(grant(line))
    assert (rule, lineno) == ("grant.text.invisible", 4)
    assert f"line 4, column 42: the invisible or control character U+{ord(ch):04X}" in message


@pytest.mark.parametrize("ch", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_in_a_string(ch: str) -> None:
    rule, lineno, message = only_finding(grant(reason=f"INC-1{ch}"))
    assert (rule, lineno) == ("grant.text.invisible", 5)
    assert "line 5, column 23" in message


@pytest.mark.parametrize("ch", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_escaped_in_a_string(ch: str) -> None:
    rule, lineno, message = only_finding(grant(reason=f"INC-1\\u{ord(ch):04x}"))
    assert (rule, lineno) == ("grant.value.control", 5)
    assert f"U+{ord(ch):04X}" in message


@pytest.mark.parametrize(
    "line",
    [
        # a terminal or log viewer draws what follows the CR over the start of the line
        '  expires_at  = "2099-01-01T00:00:00Z" #\r  expires_at  = "2026-11-25T18:00:00Z"',
        '  expires_at  = "2099-01-01T00:00:00Z" /*\r  expires_at  = "2026-11-25T18:00:00Z" */',
    ],
)
def test_carriage_return_overwrite(line: str) -> None:
    rule, lineno, message = only_finding(grant(line))
    assert (rule, lineno) == ("grant.text.invisible", 4)
    assert "a carriage return that does not end a line" in message


def test_crlf_line_endings_are_not_an_overwrite() -> None:
    text = grant().replace("\n", "\r\n")
    assert parse_grant_file(PATH, text.encode()).findings == ()
