"""controller.formats.grantfile: one passing and failing cases per rule id, with line numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controller.core.model import Grant
from controller.formats.grantfile import (
    GRANT_ID_RE,
    RULES,
    format_grant,
    grant_id_from_path,
    materialise_text,
    parse_grant_file,
)

PATH = "grants/alice-ro-1.hcl"

VALID = """\
# Example grant
grant {
  principal   = "alice@example.com"
  entitlement = "aws-prod-readonly"
  expires_at  = "2026-11-25T18:00:00Z"
  reason      = "INC-1234: 5xx spike in checkout"
}
"""


def body(*lines: str, head: str = "grant {", tail: str = "}") -> str:
    return "\n".join([head, *lines, tail]) + "\n"


P = '  principal   = "alice@example.com"'
E = '  entitlement = "aws-prod-readonly"'
X = '  expires_at  = "2026-11-25T18:00:00Z"'
R = '  reason      = "INC-1234"'


def findings(
    text: str | bytes, path: str = PATH, mode: int = 0o100644
) -> list[tuple[str, int | None]]:
    data = text.encode() if isinstance(text, str) else text
    result = parse_grant_file(path, data, mode=mode)
    got = [(f.rule, f.line) for f in result.findings]
    if got:
        assert result.grant is None
    else:
        assert result.grant is not None
    return got


def test_valid_grant() -> None:
    result = parse_grant_file(PATH, VALID.encode())
    assert result.findings == ()
    assert result.grant == Grant(
        id="alice-ro-1",
        path=PATH,
        principal="alice@example.com",
        entitlement="aws-prod-readonly",
        expires_at=datetime(2026, 11, 25, 18, tzinfo=UTC),
        reason="INC-1234: 5xx spike in checkout",
    )
    assert dict(result.grant.lines) == {
        "grant": 2,
        "principal": 3,
        "entitlement": 4,
        "expires_at": 5,
        "reason": 6,
    }


def python_hcl2_values(text: str) -> dict[str, str]:
    """python-hcl2's reading of a grant file (a test-only cross-check, never a reader)."""
    import hcl2
    from hcl2.api import SerializationOptions

    data = hcl2.loads(text, serialization_options=SerializationOptions(strip_string_quotes=True))
    (block,) = data["grant"]
    return {k: v for k, v in block.items() if not k.startswith("__")}


def test_valid_grant_agrees_with_python_hcl2() -> None:
    result = parse_grant_file(PATH, VALID.encode())
    assert result.grant is not None
    assert python_hcl2_values(VALID) == {
        "principal": result.grant.principal,
        "entitlement": result.grant.entitlement,
        "expires_at": "2026-11-25T18:00:00Z",
        "reason": result.grant.reason,
    }


def test_optional_attributes_and_non_canonical_layout() -> None:
    text = (
        "/* a grant\n   for bob */\n\n"
        'grant { // note\n  ticket = "OPS-1"\n  starts_at="2026-11-25T10:00:00+01:00"\n'
        f'{P}\n{E}\n{X}\n  reason = "caf\\u00e9 \\"quoted\\" back\\\\slash"\n}}'
    )
    result = parse_grant_file(PATH, text.encode())
    assert result.findings == ()
    grant = result.grant
    assert grant is not None
    assert grant.ticket == "OPS-1"
    assert grant.starts_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert grant.reason == 'café "quoted" back\\slash'
    assert grant.line_of("starts_at") == 6
    assert grant.line_of("grant") == 4


def test_crlf_reads_like_lf_and_a_one_line_block_is_refused() -> None:
    crlf = VALID.replace("\n", "\r\n")
    assert parse_grant_file(PATH, crlf.encode()) == parse_grant_file(PATH, VALID.encode())
    one_line = 'grant { reason = "x" }\n'
    (finding,) = parse_grant_file(PATH, one_line.encode()).findings
    assert (finding.rule, finding.line) == ("grant.syntax", 1)
    assert "line 1, column 9" in finding.message


def test_empty_reason_is_left_to_the_policy() -> None:
    result = parse_grant_file(PATH, body(P, E, X, '  reason = ""').encode())
    assert result.findings == ()
    assert result.grant is not None and result.grant.reason == ""


# (case id, path, text or bytes, mode, expected [(rule, line)])
CASES: list[tuple[str, str, str | bytes, int, list[tuple[str, int | None]]]] = [
    # grant.path
    ("path-ok", "grants/a.b_c-9.hcl", VALID, 0o100644, []),
    ("path-subdir", "grants/team/a.hcl", VALID, 0o100644, [("grant.path", None)]),
    ("path-outside", "other/a.hcl", VALID, 0o100644, [("grant.path", None)]),
    ("path-upper", "grants/Alice.hcl", VALID, 0o100644, [("grant.path", None)]),
    ("path-suffix", "grants/a.tf", VALID, 0o100644, [("grant.path", None)]),
    ("path-too-long", "grants/" + "a" * 101 + ".hcl", VALID, 0o100644, [("grant.path", None)]),
    # grant.symlink
    ("symlink", PATH, "grants/other.hcl", 0o120000, [("grant.symlink", None)]),
    ("exec-ok", PATH, VALID, 0o100755, []),
    # grant.size
    ("size-limit-ok", PATH, VALID + "#" * (65536 - len(VALID) - 1) + "\n", 0o100644, []),
    ("size", PATH, VALID + "#" * (65536 - len(VALID)) + "\n", 0o100644, [("grant.size", None)]),
    # grant.encoding
    ("bom", PATH, b"\xef\xbb\xbf" + VALID.encode(), 0o100644, [("grant.encoding", 1)]),
    ("latin1", PATH, VALID.encode().replace(b"INC", b"\xe9NC"), 0o100644, [("grant.encoding", 6)]),
    (
        "nul",
        PATH,
        VALID.encode().replace(b"aws-prod", b"aws\x00prod"),
        0o100644,
        [("grant.encoding", 4)],
    ),
    ("utf8-ok", PATH, body(P, E, X, '  reason = "café ☕"'), 0o100644, []),
    # grant.syntax
    ("unclosed", PATH, body(P, E, X, R, tail=""), 0o100644, [("grant.syntax", 7)]),
    (
        "templates-nested-too-deeply",
        PATH,
        body(P, E, X, '  reason = "' + '${"' * 100 + "x"),
        0o100644,
        [("grant.syntax", 5)],
    ),
    ("bad-char", PATH, body(P, "  entitlement = 'x'", X, R), 0o100644, [("grant.syntax", 3)]),
    (
        "unterminated-string",
        PATH,
        body(P, '  entitlement = "x', X, R),
        0o100644,
        [("grant.syntax", 3)],
    ),
    ("bad-escape", PATH, body(P, E, X, '  reason = "a\\qb"'), 0o100644, [("grant.syntax", 5)]),
    (
        "bad-unicode-escape",
        PATH,
        body(P, E, X, '  reason = "\\uD800"'),
        0o100644,
        [("grant.syntax", 5)],
    ),
    # grant.block
    ("no-block", PATH, "# nothing here\n", 0o100644, [("grant.block", None)]),
    ("empty-file", PATH, "", 0o100644, [("grant.block", None)]),
    ("second-block", PATH, VALID + "grant {\n}\n", 0o100644, [("grant.block", 8)]),
    ("other-block", PATH, 'resource "x" "y" {\n}\n' + VALID, 0o100644, [("grant.block", 1)]),
    ("labelled", PATH, body(P, E, X, R, head='grant "x" {'), 0o100644, [("grant.block", 1)]),
    ("nested", PATH, body(P, E, X, R, "  meta {", "  }"), 0o100644, [("grant.block", 6)]),
    ("top-attr", PATH, 'x = "y"\n' + VALID, 0o100644, [("grant.block", 1)]),
    # grant.attribute.unknown / missing / duplicate
    (
        "unknown",
        PATH,
        body(P, E, X, R, '  role = "admin"'),
        0o100644,
        [("grant.attribute.unknown", 6)],
    ),
    ("missing", PATH, "\n" + body(P, X, R), 0o100644, [("grant.attribute.missing", 2)]),
    (
        "missing-all",
        PATH,
        "grant {\n}\n",
        0o100644,
        [("grant.attribute.missing", 1)] * 4,
    ),
    (
        "duplicate",
        PATH,
        body(P, E, X, R, '  principal = "mallory@example.com"'),
        0o100644,
        [("grant.attribute.duplicate", 6)],
    ),
    (
        "duplicate-slow-path",
        PATH,
        body(P, E, X, R, '  principal = "${var.x}"'),
        0o100644,
        [("grant.value.literal", 6), ("grant.attribute.duplicate", 6)],
    ),
    # grant.value.literal
    (
        "interp",
        PATH,
        body(P, E, X, '  reason = "x ${var.y}"'),
        0o100644,
        [("grant.value.literal", 5)],
    ),
    (
        "directive",
        PATH,
        body(P, E, X, '  reason = "%{if true}x%{endif}"'),
        0o100644,
        [("grant.value.literal", 5)],
    ),
    (
        "escaped-interp",
        PATH,
        body(P, E, X, '  reason = "x $${y}"'),
        0o100644,
        [("grant.value.literal", 5)],
    ),
    (
        "escaped-directive",
        PATH,
        body(P, E, X, '  reason = "x %%{y}"'),
        0o100644,
        [("grant.value.literal", 5)],
    ),
    (
        "function",
        PATH,
        body(P, '  entitlement = lower("X")', X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    (
        "reference",
        PATH,
        body(P, "  entitlement = var.e", X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    (
        "bare-name",
        PATH,
        body(P, "  entitlement = admin", X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    ("number", PATH, body(P, E, X, R, "  ticket = 1234"), 0o100644, [("grant.value.literal", 6)]),
    ("bool", PATH, body(P, E, X, R, "  ticket = true"), 0o100644, [("grant.value.literal", 6)]),
    ("null", PATH, body(P, E, X, R, "  ticket = null"), 0o100644, [("grant.value.literal", 6)]),
    ("list", PATH, body(P, '  entitlement = ["a"]', X, R), 0o100644, [("grant.value.literal", 3)]),
    (
        "object",
        PATH,
        body(P, '  entitlement = {a = "b"}', X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    (
        "concat",
        PATH,
        body(P, '  entitlement = "a" == "b"', X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    ("paren", PATH, body(P, '  entitlement = ("a")', X, R), 0o100644, [("grant.value.literal", 3)]),
    (
        "cond",
        PATH,
        body(P, '  entitlement = true ? "a" : "b"', X, R),
        0o100644,
        [("grant.value.literal", 3)],
    ),
    (
        "heredoc",
        PATH,
        body(P, E, X, "  reason = <<EOT", "because", "EOT", '  ticket = "T-1"'),
        0o100644,
        [("grant.value.literal", 5)],
    ),
    ("dollar-percent-ok", PATH, body(P, E, X, '  reason = "costs $5, 50% off, {x}"'), 0o100644, []),
    # grant.value.empty
    (
        "empty-principal",
        PATH,
        body('  principal = ""', E, X, R),
        0o100644,
        [("grant.value.empty", 2)],
    ),
    (
        "blank-entitlement",
        PATH,
        body(P, '  entitlement = "  "', X, R),
        0o100644,
        [("grant.value.empty", 3)],
    ),
    (
        "empty-expires",
        PATH,
        body(P, E, '  expires_at = ""', R),
        0o100644,
        [("grant.value.empty", 4)],
    ),
    # grant.value.control
    (
        "newline-escape",
        PATH,
        body(P, E, X, '  reason = "a\\nb"'),
        0o100644,
        [("grant.value.control", 5)],
    ),
    (
        "tab-escape",
        PATH,
        body('  principal = "a\\tb"', E, X, R),
        0o100644,
        [("grant.value.control", 2)],
    ),
    (
        "esc-escape",
        PATH,
        body(P, E, X, '  reason = "\\u001b[31mred"'),
        0o100644,
        [("grant.value.control", 5)],
    ),
    (
        "raw-esc",
        PATH,
        body(P, E, X, '  reason = "\x1b[31mred"'),
        0o100644,
        [("grant.text.invisible", 5)],
    ),
    (
        "bidi",
        PATH,
        body(P, E, X, '  reason = "abc\u202edef"'),
        0o100644,
        [("grant.text.invisible", 5)],
    ),
    (
        "bidi-escape",
        PATH,
        body(P, E, X, '  reason = "abc\\u202edef"'),
        0o100644,
        [("grant.value.control", 5)],
    ),
    (
        "raw-newline",
        PATH,
        body(P, E, X, '  reason = "a\nb"'),
        0o100644,
        [("grant.syntax", 5)],
    ),
    ("long-reason-ok", PATH, body(P, E, X, f'  reason = "{"r" * 1024}"'), 0o100644, []),
    (
        "long-reason",
        PATH,
        body(P, E, X, f'  reason = "{"r" * 1025}"'),
        0o100644,
        [("grant.value.control", 5)],
    ),
    (
        "long-ticket",
        PATH,
        body(P, E, X, R, f'  ticket = "{"t" * 257}"'),
        0o100644,
        [("grant.value.control", 6)],
    ),
    # grant.value.nfc
    (
        "nfd-principal",
        PATH,
        body('  principal = "rene\u0301@example.com"', E, X, R),
        0o100644,
        [("grant.value.nfc", 2)],
    ),
    (
        "nfd-escape",
        PATH,
        body(P, E, X, '  reason = "e\\u0301"'),
        0o100644,
        [("grant.value.nfc", 5)],
    ),
    ("nfc-ok", PATH, body('  principal = "ren\u00e9@example.com"', E, X, R), 0o100644, []),
    # grant.time.format
    (
        "no-zone",
        PATH,
        body(P, E, '  expires_at = "2026-11-25T18:00:00"', R),
        0o100644,
        [("grant.time.format", 4)],
    ),
    (
        "date-only",
        PATH,
        body(P, E, X, R, '  starts_at = "2026-11-25"'),
        0o100644,
        [("grant.time.format", 6)],
    ),
    (
        "bad-date",
        PATH,
        body(P, E, '  expires_at = "2026-02-30T00:00:00Z"', R),
        0o100644,
        [("grant.time.format", 4)],
    ),
    (
        "offset-ok",
        PATH,
        body(P, E, '  expires_at = "2026-11-25T18:00:00.5-05:30"', R),
        0o100644,
        [],
    ),
    # grant.time.order
    (
        "order",
        PATH,
        body(P, E, X, R, '  starts_at = "2026-11-25T18:00:00Z"'),
        0o100644,
        [("grant.time.order", 6)],
    ),
    ("order-ok", PATH, body('  starts_at = "2026-11-25T17:59:59Z"', P, E, X, R), 0o100644, []),
    # duration (the clock starts at approval)
    ("duration-and-expiry-ok", PATH, body(P, E, '  duration = "4h"', X, R), 0o100644, []),
    (
        "duration-bad",
        PATH,
        body(P, E, '  duration = "4 hours"', X, R),
        0o100644,
        [("grant.duration.format", 4)],
    ),
    (
        "duration-zero",
        PATH,
        body(P, E, '  duration = "0m"', X, R),
        0o100644,
        [("grant.duration.format", 4)],
    ),
    (
        "duration-space",
        PATH,
        body(P, E, '  duration = " 4h"', X, R),
        0o100644,
        [("grant.duration.format", 4)],
    ),
    (
        "duration-huge",
        PATH,
        body(P, E, '  duration = "9999999999d"', X, R),
        0o100644,
        [("grant.duration.format", 4)],
    ),
    (
        "open-request",
        PATH,
        body(P, E, '  duration = "30m"', R),
        0o100644,
        [("grant.unmaterialised", 4)],
    ),
    ("neither", PATH, body(P, E, R), 0o100644, [("grant.attribute.missing", 1)]),
    # several at once
    (
        "many",
        "grants/x/y.hcl",
        body('  principal = ""', "  entitlement = 1", '  expires_at = "soon"', '  foo = "x"'),
        0o100644,
        [
            ("grant.path", None),
            ("grant.value.literal", 3),
            ("grant.attribute.unknown", 5),
            ("grant.value.empty", 2),
            ("grant.time.format", 4),
            ("grant.attribute.missing", 1),
        ],
    ),
]


@pytest.mark.parametrize(
    ("path", "text", "mode", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rules(
    path: str, text: str | bytes, mode: int, expected: list[tuple[str, int | None]]
) -> None:
    assert findings(text, path, mode) == expected


def test_every_rule_has_a_failing_case() -> None:
    covered = {rule for *_, expected in CASES for rule, _ in expected}
    assert covered == set(RULES)


def test_duplicate_message_names_both_lines() -> None:
    text = body(P, E, X, R, '  principal = "mallory@example.com"')
    (finding,) = parse_grant_file(PATH, text.encode()).findings
    assert finding.message == (
        "attribute 'principal' is set twice (lines 2 and 6); a grant sets each attribute once"
    )
    assert finding.file == PATH


def test_syntax_message_has_line_and_column() -> None:
    (finding,) = parse_grant_file(PATH, body(P, "  entitlement = 'x'", X, R).encode()).findings
    assert "line 3, column 17" in finding.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("grants/a.hcl", "a"),
        ("grants/0.hcl", "0"),
        ("grants/" + "a" * 100 + ".hcl", "a" * 100),
        ("grants/" + "a" * 101 + ".hcl", None),
        ("grants/.a.hcl", None),
        ("grants/-a.hcl", None),
        ("grants/.hcl", None),
        ("grants/a b.hcl", None),
        ("grants/a/b.hcl", None),
        ("./grants/a.hcl", None),
        ("grants\\a.hcl", None),
        ("x/grants/a.hcl", None),
        ("grants/a.HCL", None),
    ],
)
def test_grant_id_from_path(path: str, expected: str | None) -> None:
    assert grant_id_from_path(path) == expected
    if expected is not None:
        assert GRANT_ID_RE.fullmatch(expected)


def test_format_grant_canonical_text() -> None:
    text = format_grant(
        principal="alice@example.com",
        entitlement="aws-prod-readonly",
        expires_at=datetime(2026, 11, 25, 18, tzinfo=UTC),
        reason="INC-1234: 5xx spike in checkout",
        comment="requested by alice",
    )
    assert text == (
        "# requested by alice\n"
        "grant {\n"
        '  principal   = "alice@example.com"\n'
        '  entitlement = "aws-prod-readonly"\n'
        '  expires_at  = "2026-11-25T18:00:00Z"\n'
        '  reason      = "INC-1234: 5xx spike in checkout"\n'
        "}\n"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"reason": 'say "hi" \\ back\\slash \\n not-a-newline $5 50% {x}'},
        {"reason": "", "ticket": "OPS-7"},
        {"starts_at": datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=2)))},
        {"expires_at": datetime(2026, 11, 25, 18, 0, 0, 123456, tzinfo=UTC)},
        {"principal": "ünïcödé@example.com", "reason": "☕ " * 300},
    ],
)
def test_format_grant_round_trips(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": datetime(2026, 11, 25, 18, tzinfo=UTC),
        "reason": "because",
        "starts_at": None,
        "ticket": None,
    }
    values.update(overrides)
    text = format_grant(**values, comment="a\nb")  # type: ignore[arg-type]
    result = parse_grant_file(PATH, text.encode())
    assert result.findings == ()
    assert result.grant == Grant(id="alice-ro-1", path=PATH, **values)  # type: ignore[arg-type]
    read = python_hcl2_values(text)
    assert (read["principal"], read["reason"]) == (values["principal"], values["reason"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"reason": "line\nbreak"},
        {"principal": "a\x1bb"},
        {"principal": ""},
        {"entitlement": " "},
        {"reason": "r" * 1025},
        {"ticket": "t" * 257},
        {"reason": "${var.x}"},
        {"reason": "%{ if x }"},
        {"reason": "right\u202eleft"},
        {"expires_at": datetime(2026, 11, 25, 18)},
        {"starts_at": datetime(2026, 11, 25, 18, tzinfo=UTC)},
        {"comment": "evil\rcomment"},
    ],
)
def test_format_grant_refuses_unsafe_values(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": datetime(2026, 11, 25, 18, tzinfo=UTC),
        "reason": "because",
    }
    values.update(overrides)
    with pytest.raises(ValueError):
        format_grant(**values)  # type: ignore[arg-type]


# --- duration from approval ---------------------------------------------------------------

D = '  duration    = "30m"'


def test_open_request_reads_as_open_never_as_grant() -> None:
    gf = parse_grant_file(PATH, body(P, E, D, R).encode())
    assert gf.grant is None and gf.open is not None
    assert gf.open.duration == timedelta(minutes=30)
    assert (gf.open.principal, gf.open.entitlement, gf.open.reason) == (
        "alice@example.com",
        "aws-prod-readonly",
        "INC-1234",
    )
    assert [f.rule for f in gf.findings] == ["grant.unmaterialised"]
    # CRLF reads the same
    crlf = body(P, E, D, R).replace("\n", "\r\n")
    again = parse_grant_file(PATH, crlf.encode())
    assert again.open == gf.open and [f.rule for f in again.findings] == ["grant.unmaterialised"]


def test_a_broken_open_request_is_not_open() -> None:
    gf = parse_grant_file(PATH, body(P, '  entitlement = ""', D, R).encode())
    assert gf.open is None and gf.grant is None


def test_materialise_inserts_one_line_and_reads_back() -> None:
    when = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    text = format_grant(
        principal="alice@example.com",
        entitlement="aws-prod-readonly",
        expires_at=None,
        duration=timedelta(minutes=30),
        reason="INC-1",
        ticket="INC-1",
        comment="Requested by alice with jitctl.",
    )
    out = materialise_text(PATH, text.encode(), when)
    before, after = text.splitlines(), out.decode().splitlines()
    assert len(after) == len(before) + 1
    assert [line for line in after if line not in before] == [
        '  expires_at  = "2026-11-24T12:30:00Z"'
    ]
    # the same text format_grant writes with both: materialising is deterministic
    assert out.decode() == format_grant(
        principal="alice@example.com",
        entitlement="aws-prod-readonly",
        expires_at=when,
        duration=timedelta(minutes=30),
        reason="INC-1",
        ticket="INC-1",
        comment="Requested by alice with jitctl.",
    )
    g = parse_grant_file(PATH, out).grant
    assert g is not None and g.expires_at == when and g.duration == timedelta(minutes=30)


def test_materialise_keeps_crlf_and_odd_spacing() -> None:
    text = body(P, E, 'duration="1h"', R).replace("\n", "\r\n")
    out = materialise_text(PATH, text.encode(), datetime(2026, 11, 24, 13, tzinfo=UTC))
    assert b'duration="1h"\r\nexpires_at = "2026-11-24T13:00:00Z"\r\n' in out


@pytest.mark.parametrize(
    "text",
    [VALID, body(P, E, '  duration = "1h"', X, R), body(P, E, R), "not hcl {"],
)
def test_materialise_refuses_anything_but_an_open_request(text: str) -> None:
    with pytest.raises(ValueError):
        materialise_text(PATH, text.encode(), datetime(2026, 11, 24, 13, tzinfo=UTC))


def test_materialise_refuses_fractions_and_naive_times() -> None:
    data = body(P, E, D, R).encode()
    with pytest.raises(ValueError):
        materialise_text(PATH, data, datetime(2026, 11, 24, 13, 0, 0, 5, tzinfo=UTC))
    with pytest.raises(ValueError):
        materialise_text(PATH, data, datetime(2026, 11, 24, 13))
