"""The canonical-form recogniser (``_read_canonical``) against the full reader.

A file in exactly the form jitctl writes skips the lexer and parser; everything else goes to the
full reader. The recogniser must never accept what the full reader refuses, nor read a value or
a line differently: every test here reads the same bytes both ways and compares the whole
answer (grant, attribute lines, findings). tests/formats/test_hcl_differential.py also holds
both ways against HashiCorp's parser.
"""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from controller.core.model import GrantFile
from controller.core.times import parse_rfc3339
from controller.formats.grantfile import (
    _PLAIN_TIME,
    _parse,
    _plain_grant,
    _plain_time,
    _read_canonical,
    format_grant,
)

PATH = "grants/canon-1.hcl"
EXAMPLES = int(os.environ.get("JITCTL_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

CANONICAL = (
    b"# Requested by alice with jitctl.\n"
    b"grant {\n"
    b'  principal   = "alice@example.com"\n'
    b'  entitlement = "aws-prod-readonly"\n'
    b'  starts_at   = "2026-11-25T10:00:00Z"\n'
    b'  expires_at  = "2026-11-25T18:00:00Z"\n'
    b'  reason      = "INC-1234: 5xx spike in checkout"\n'
    b'  ticket      = "OPS-1"\n'
    b"}\n"
)


def as_tuple(gf: GrantFile) -> tuple[object, ...]:
    """Everything a GrantFile says, ``Grant.lines`` included (it is left out of ==)."""
    grant = None
    if gf.grant is not None:
        grant = tuple(getattr(gf.grant, f.name) for f in dataclasses.fields(gf.grant))
        grant = (*grant, dict(gf.grant.lines))
    return (gf.path, grant, gf.findings)


def both_ways(data: bytes, path: str = PATH, mode: int = 0o100644) -> tuple[GrantFile, bool]:
    """(the answer, whether the canonical recogniser took the file); fails if the full reader
    answers anything else."""
    fast = _parse(path, data, mode, canonical=True)
    full = _parse(path, data, mode, canonical=False)
    assert as_tuple(fast) == as_tuple(full), data
    return fast, _read_canonical(data) is not None


def test_what_jitctl_writes_takes_the_canonical_path() -> None:
    result, took = both_ways(CANONICAL)
    assert took and result.grant is not None and result.findings == ()
    assert result.grant.lines == {
        "grant": 2,
        "principal": 3,
        "entitlement": 4,
        "starts_at": 5,
        "expires_at": 6,
        "reason": 7,
        "ticket": 8,
    }
    bare = format_grant(
        principal="bob@example.com",
        entitlement="gcp-viewer",
        expires_at=datetime(2026, 11, 25, 18, 30, tzinfo=UTC),
        reason="INC-9: [x] 'quoted' & <tags> ~ ok!",
    )
    result, took = both_ways(bare.encode())
    assert took and result.grant is not None and result.grant.lines["grant"] == 1


def test_request_output_takes_the_canonical_path() -> None:
    text = format_grant(
        principal="alice@example.com",
        entitlement="aws-prod-readonly",
        expires_at=datetime(2026, 11, 25, 18, tzinfo=UTC),
        reason="INC-1",
        starts_at=datetime(2026, 11, 25, 10, tzinfo=UTC),
        ticket="OPS-2",
        comment="Requested by alice@example.com with jitctl.\nsecond line",
    )
    result, took = both_ways(text.encode())
    assert took and result.grant is not None


@pytest.mark.parametrize(
    "old,new",
    [
        (b"2026-11-25T18:00:00Z", b"2026-11-25T18:00:00"),  # no zone
        (b"2026-11-25T18:00:00Z", b"2026-02-30T18:00:00Z"),  # no such day
        (b"2026-11-25T18:00:00Z", b"2026-11-25T09:00:00Z"),  # before starts_at
        (b"2026-11-25T18:00:00Z", b"2026-11-25T18:00:00+24:00"),  # bad offset
        (b"2026-11-25T18:00:00Z", b"9999-11-25T18:00:00Z"),  # outside the years
        (b'"alice@example.com"', b'""'),  # empty
        (b'"alice@example.com"', b'"   "'),  # blank
        (b'"INC-1234: 5xx spike in checkout"', b'"' + b"x" * 1025 + b'"'),  # too long
        (b'"OPS-1"', b'"' + b"y" * 257 + b'"'),  # too long
    ],
)
def test_canonical_files_the_judge_refuses_are_refused_the_same(old: bytes, new: bytes) -> None:
    data = CANONICAL.replace(old, new, 1)
    result, took = both_ways(data)
    assert took, data
    assert result.grant is None and result.findings


def test_missing_attribute_and_bad_path_are_judged_the_same() -> None:
    no_reason = CANONICAL.replace(b'  reason      = "INC-1234: 5xx spike in checkout"\n', b"")
    result, took = both_ways(no_reason)
    assert took and [f.rule for f in result.findings] == ["grant.attribute.missing"]
    for path in ("grants/sub/x.hcl", "grants/X.hcl", "other/x.hcl", "grants/x.txt"):
        result, took = both_ways(CANONICAL, path)
        assert took and result.grant is None
        assert result.findings[0].rule == "grant.path"
    result, _ = both_ways(CANONICAL, mode=0o120000)
    assert result.grant is None and result.findings[-1].rule == "grant.symlink"


ATTACKS = {
    "duplicate attribute": CANONICAL.replace(
        b'  ticket      = "OPS-1"\n', b'  ticket      = "OPS-1"\n  ticket      = "OPS-2"\n'
    ),
    "duplicate principal later": CANONICAL.replace(
        b'  ticket      = "OPS-1"\n',
        b'  ticket      = "OPS-1"\n  principal   = "mallory@example.com"\n',
    ),
    "unknown attribute": CANONICAL.replace(b"  ticket      =", b"  role        ="),
    "out of order": CANONICAL.replace(
        b'  starts_at   = "2026-11-25T10:00:00Z"\n  expires_at  = "2026-11-25T18:00:00Z"\n',
        b'  expires_at  = "2026-11-25T18:00:00Z"\n  starts_at   = "2026-11-25T10:00:00Z"\n',
    ),
    "swapped lines": CANONICAL.replace(
        b'  principal   = "alice@example.com"\n  entitlement = "aws-prod-readonly"\n',
        b'  entitlement = "aws-prod-readonly"\n  principal   = "alice@example.com"\n',
    ),
    "heredoc": CANONICAL.replace(
        b'  reason      = "INC-1234: 5xx spike in checkout"\n',
        b"  reason      = <<EOT\nINC-1234\nEOT\n",
    ),
    "escaped quote": CANONICAL.replace(b"INC-1234:", b'INC-1234 \\"x\\":'),
    "escaped backslash": CANONICAL.replace(b"INC-1234:", b"INC-1234 \\\\:"),
    "unicode escape": CANONICAL.replace(b"alice@", b"\\u0061lice@"),
    "newline escape": CANONICAL.replace(b"INC-1234:", b"INC-1234\\n:"),
    "interpolation": CANONICAL.replace(b"INC-1234:", b"${var.x}:"),
    "escaped interpolation": CANONICAL.replace(b"INC-1234:", b"$${var.x}:"),
    "directive": CANONICAL.replace(b"INC-1234:", b"%{if true}x%{endif}:"),
    "lone dollar and percent": CANONICAL.replace(b"INC-1234:", b"$5 50%:"),
    "cyrillic look-alike": CANONICAL.replace(b"alice@", "\u0430lice@".encode()),
    "fullwidth at": CANONICAL.replace(b"alice@", "alice\uff20".encode()),
    "accented (NFC)": CANONICAL.replace(b"INC-1234:", "caf\u00e9:".encode()),
    "decomposed (not NFC)": CANONICAL.replace(b"INC-1234:", "cafe\u0301:".encode()),
    "zero-width space": CANONICAL.replace(b"alice@", "ali\u200bce@".encode()),
    "bidi override in comment": CANONICAL.replace(b"# Requested", "# \u202eRequested".encode()),
    "CRLF": CANONICAL.replace(b"\n", b"\r\n"),
    "lone CR": CANONICAL.replace(b"# Requested by", b"# Requested\rby"),
    "BOM": b"\xef\xbb\xbf" + CANONICAL,
    "NUL in value": CANONICAL.replace(b"INC-1234:", b"INC\x00-1234:"),
    "DEL in value": CANONICAL.replace(b"INC-1234:", b"INC\x7f-1234:"),
    "tab in value": CANONICAL.replace(b"INC-1234:", b"INC\t1234:"),
    "tab before name": CANONICAL.replace(b"  reason ", b"\treason "),
    "trailing junk": CANONICAL + b"x",
    "trailing attribute": CANONICAL + b'principal = "mallory@example.com"\n',
    "second block": CANONICAL + CANONICAL,
    "trailing blank line": CANONICAL + b"\n",
    "trailing comment": CANONICAL + b"# bye\n",
    "no final newline": CANONICAL[:-1],
    "comment after brace": CANONICAL[:-2] + b"} # x\n",
    "comment inside block": CANONICAL.replace(b"}\n", b"  # inside\n}\n"),
    "comment after value": CANONICAL.replace(b'"OPS-1"\n', b'"OPS-1" # x\n'),
    "block comment above": b"/* x */\n" + CANONICAL,
    "block comment hiding an attribute": CANONICAL.replace(
        b"# Requested by alice with jitctl.\n", b"/*\n"
    ).replace(b'  ticket      = "OPS-1"\n', b'  ticket      = "OPS-1"\n*/\n'),
    "slash comment above": b"// x\n" + CANONICAL,
    "label": CANONICAL.replace(b"grant {", b'grant "x" {'),
    "brace on next line": CANONICAL.replace(b"grant {\n", b"grant\n{\n"),
    "misaligned": CANONICAL.replace(b"  ticket      =", b"  ticket =", 1),
    "over-aligned": CANONICAL.replace(b" = ", b"  = "),
    "no space after =": CANONICAL.replace(b'= "OPS-1"', b'="OPS-1"'),
    "space before newline": CANONICAL.replace(b'"OPS-1"\n', b'"OPS-1" \n'),
    "one space indent": CANONICAL.replace(b"  ticket", b" ticket"),
    "upper-case name": CANONICAL.replace(b"  ticket      =", b"  Ticket      ="),
    "number value": CANONICAL.replace(b'"OPS-1"', b"12345"),
    "reference value": CANONICAL.replace(b'"OPS-1"', b"var.ticket"),
    "list value": CANONICAL.replace(b'"OPS-1"', b'["OPS-1"]'),
    "nested block": CANONICAL.replace(b"}\n", b'  x {\n    y = "z"\n  }\n}\n'),
    "unclosed string": CANONICAL.replace(b'"OPS-1"\n', b'"OPS-1\n'),
    "two values": CANONICAL.replace(b'"OPS-1"\n', b'"OPS-1" "OPS-2"\n'),
    "latin-1 byte": CANONICAL.replace(b"INC-1234:", b"INC\xe9:"),
    "empty block": b"grant {\n}\n",
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_near_canonical_text_goes_to_the_full_reader(name: str) -> None:
    data = ATTACKS[name]
    assert data != CANONICAL
    _, took = both_ways(data)
    assert not took, name


def test_attacks_that_the_full_reader_refuses_stay_refused() -> None:
    # the point of the recogniser's narrowness: none of these is a grant by the fast path
    refused = [
        "duplicate attribute",
        "duplicate principal later",
        "unknown attribute",
        "heredoc",
        "interpolation",
        "escaped interpolation",
        "directive",
        "decomposed (not NFC)",
        "zero-width space",
        "bidi override in comment",
        "lone CR",
        "BOM",
        "NUL in value",
        "DEL in value",
        "tab in value",
        "trailing junk",
        "trailing attribute",
        "second block",
        "label",
        "brace on next line",
        "number value",
        "reference value",
        "list value",
        "nested block",
        "unclosed string",
        "two values",
        "latin-1 byte",
        "empty block",
    ]
    for name in refused:
        result, _ = both_ways(ATTACKS[name])
        assert result.grant is None, name


# --- generated: canonical files with edits, and arbitrary values -----------------------------

INTERESTING = [
    b"\n", b"\r", b"\r\n", b"\t", b" ", b"\x00", b"\x7f", b"\xef\xbb\xbf", b'"', b"\\", b"$",
    b"%", b"{", b"}", b"${", b"%{", b"$${", b"#", b"//", b"/*", b"*/", b"=", b"<<EOT\n",
    "\u200b".encode(), "\u202e".encode(), "\u0430".encode(), "e\u0301".encode(), b"\xc3",
    b"grant {\n", b'  ticket      = "x"\n', b'  principal   = "m@example.com"\n', b"}\n",
]  # fmt: skip


@st.composite
def edited_canonical(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from([CANONICAL, ATTACKS["trailing blank line"][:-1]]))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, 3))
        piece = draw(st.one_of(st.sampled_from(INTERESTING), st.binary(max_size=3)))
        data = data[:pos] + piece + data[pos + cut :]
    return data


@FUZZ
@given(edited_canonical())
@example(CANONICAL.replace(b"  reason      =", b"  reason  =").replace(b"  ticket      =", b"x"))
def test_edited_canonical_files_read_the_same_both_ways(data: bytes) -> None:
    both_ways(data)


VALUE = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
ASCII_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@FUZZ
@given(
    st.one_of(VALUE, ASCII_VALUE.filter(bool)),
    st.one_of(VALUE, ASCII_VALUE),
    st.one_of(VALUE, ASCII_VALUE),
    st.one_of(st.none(), VALUE, ASCII_VALUE),
    st.one_of(st.none(), st.integers(1, 10_000)),
    st.one_of(st.none(), ASCII_VALUE),
)
def test_written_files_read_the_same_both_ways(
    principal: str,
    entitlement: str,
    reason: str,
    ticket: str | None,
    start_minutes: int | None,
    comment: str | None,
) -> None:
    expires = datetime(2026, 11, 25, 18, tzinfo=UTC)
    try:
        text = format_grant(
            principal=principal,
            entitlement=entitlement,
            expires_at=expires,
            reason=reason,
            starts_at=None if start_minutes is None else expires - timedelta(minutes=start_minutes),
            ticket=ticket,
            comment=comment,
        )
    except ValueError:
        return
    result, took = both_ways(text.encode())
    assert result.grant is not None
    assert (result.grant.principal, result.grant.reason) == (principal, reason)
    plain = (
        all(
            v.isascii() and not any(c in v for c in '"\\$%')
            for v in (principal, entitlement, reason, ticket or "")
        )
        and (comment or "").isascii()
    )
    assert took == plain, text


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_read_the_same_both_ways(data: bytes) -> None:
    both_ways(data)


# --- the plain path (``_plain_grant``): the commonest file, read without the judge ----------

GID = "canon-1"  # PATH's grant id
_PLAIN_TIME_RE = re.compile(_PLAIN_TIME)


def test_what_jitctl_writes_takes_the_plain_path() -> None:
    """format_grant's output with and without starts_at, ticket and comments: the plain path
    answers it, with the judge's grant, lines included."""
    for text in (
        CANONICAL,
        format_grant(
            principal="bob@example.com",
            entitlement="gcp-viewer",
            expires_at=datetime(2026, 11, 25, 18, 30, tzinfo=UTC),
            reason="",
            comment="one\ntwo\nthree",
        ).encode(),
    ):
        plain = _plain_grant(PATH, GID, text)
        assert plain is not None, text
        assert as_tuple(plain) == as_tuple(_parse(PATH, text, 0o100644, canonical=False))


@pytest.mark.parametrize(
    "old,new,taken",
    [
        (b"2026-11-25T18:00:00Z", b"2026-11-25T10:00:00Z", False),  # starts_at == expires_at
        (b"2026-11-25T18:00:00Z", b"2026-11-25T09:59:59Z", False),  # before starts_at
        (b"2026-11-25T18:00:00Z", b"2026-11-25 18:00:00Z", False),  # not RFC 3339
        (b'"INC-1234: 5xx spike in checkout"', b'"' + b"x" * 1024 + b'"', True),  # the limit
        (b'"INC-1234: 5xx spike in checkout"', b'"' + b"x" * 1025 + b'"', False),  # over it
        (b'"OPS-1"', b'"' + b"y" * 256 + b'"', True),  # the limit
        (b'"OPS-1"', b'"' + b"y" * 257 + b'"', False),  # over it
        (b'"OPS-1"', b'""', True),  # an empty ticket is a ticket
        (b'"INC-1234: 5xx spike in checkout"', b'"  "', True),  # a blank reason is allowed
        (b'"aws-prod-readonly"', b'" "', False),  # a blank entitlement is not
        (b'"alice@example.com"', b'"' + b"a" * 257 + b'"', False),
        (b"  principal   =", b"  principal    =", False),  # '=' out of line
        (b"  ticket      =", b"  ticket     =", False),  # '=' out of line
        (b'  ticket      = "OPS-1"\n', b"", True),  # no ticket
        (b'  starts_at   = "2026-11-25T10:00:00Z"\n', b"", True),  # no starts_at
        (b'  expires_at  = "2026-11-25T18:00:00Z"\n', b'  duration    = "8h"\n', False),
        (b'  reason      = "INC-1234: 5xx spike in checkout"\n', b"", False),  # missing
        (b"alice@example.com", b"alice@exa\xc3\xa9mple.com", False),  # not ASCII
    ],
)
def test_the_plain_path_answers_as_the_judge_or_not_at_all(
    old: bytes, new: bytes, taken: bool
) -> None:
    """Each edit: the plain path answers exactly the full reader's grant, or leaves the file to
    the judge; it never answers a file the judge finds anything wrong with."""
    data = CANONICAL.replace(old, new, 1)
    assert data != CANONICAL
    full = _parse(PATH, data, 0o100644, canonical=False)
    both_ways(data)  # and the canonical path as a whole answers the same
    plain = _plain_grant(PATH, GID, data)
    assert (plain is not None) is taken, data
    if plain is not None:
        assert full.grant is not None and full.findings == ()
        assert as_tuple(plain) == as_tuple(full)


def test_the_plain_path_shares_its_lines_maps_read_only() -> None:
    """Grants of one shape share one map of lines, and nobody can change it."""
    a = _plain_grant(PATH, GID, CANONICAL)
    b = _plain_grant("grants/h.hcl", "h", CANONICAL.replace(b"alice", b"bob"))
    assert a is not None and a.grant is not None and b is not None and b.grant is not None
    assert a.grant.lines is b.grant.lines
    with pytest.raises(TypeError):
        a.grant.lines["grant"] = 9  # type: ignore[index]


@given(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z", fullmatch=True)
    | st.sampled_from(
        [
            "1969-12-31T23:59:59Z",  # before the years jitctl accepts
            "1970-01-01T00:00:00Z",
            "9000-01-01T00:00:00Z",
            "9000-01-01T00:00:01Z",  # after them
            "2028-02-29T12:00:00Z",  # a leap day
            "2026-02-29T12:00:00Z",  # no such day
            "2026-11-24T24:00:00Z",
            "2026-12-31T23:59:60Z",  # a leap second: no
            "0000-01-01T00:00:00Z",
        ]
    )
)
def test_the_plain_time_is_parse_rfc3339(text: str) -> None:
    """_plain_time (fromisoformat) reads _PLAIN_TIME's form exactly as parse_rfc3339 does."""
    try:
        want = parse_rfc3339(text)
    except ValueError:
        want = None
    got = _plain_time(text)
    assert got == want
    if got is not None and want is not None:
        assert got.tzinfo is want.tzinfo and got.isoformat() == want.isoformat()
    assert _PLAIN_TIME_RE.fullmatch(f'"{text}"\n')
