"""Property tests for controller.formats.grantfile.

* Whatever jitctl accepts, python-hcl2 (a test-only cross-check; HashiCorp's own parser is the
  oracle of tests/formats/test_hcl_differential.py) parses too, with the same attributes.
* parse_grant_file never raises, whatever the bytes, and only returns GrantFile values.

Set JITCTL_FUZZ_EXAMPLES to run more examples (e.g. 50000) than the quick default.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from controller.core.model import GrantFile
from controller.formats.grantfile import format_grant, parse_grant_file

PATH = "grants/fuzz-1.hcl"
EXAMPLES = int(os.environ.get("JITCTL_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

GAP_LINES = [
    "",
    "  ",
    "\t",
    "# comment",
    '  # comment with "quotes" and ${x} and } {',
    "// comment",
    "/* block */",
    "  /* block */  ",
    "/* multi\n   line */",
    "/* open",
    "*/",
    "/* a */ /* b */",
    "/* a */ x",
    "#",
    "//",
]
OPEN_LINES = [
    "grant {",
    "grant{",
    "  grant   {  ",
    "\tgrant\t{",
    "grant { # c",
    "grant { // c",
    "grant { /* c */",
    'grant "x" {',
    "grant\n{",
    "resource {",
    "Grant {",
    "grant {}",
    "grant {{",
]
NAMES = [
    "principal",
    "entitlement",
    "expires_at",
    "starts_at",
    "reason",
    "ticket",
    "role",
    "for",
    "in",
    "if",
    "true",
    "null",
    "for_each",
    "endif",
    "a-b",
    "_x",
    "x1",
    "Principal",
]
PIECES = [
    "alice@example.com",
    "aws-prod-readonly",
    "2026-11-25T18:00:00Z",
    "2026-11-25T10:00:00+01:00",
    "2026-11-25T18:00:00.5z",
    "2026-11-25",
    "2026-02-30T00:00:00Z",
    "INC-1234: spike",
    " ",
    "\t",
    "#",
    "//",
    "/*",
    "*/",
    "=",
    "{",
    "}",
    "$",
    "%",
    "$$",
    "%%",
    "${x}",
    "$${x}",
    "%{x}",
    "%%{x}",
    "${",
    "$${",
    "%%{",
    '\\"',
    "\\\\",
    "\\n",
    "\\t",
    "\\r",
    "\\u00e9",
    "\\u001b",
    "\\uD800",
    "\\u12",
    "\\U0001F600",
    "\\U00110000",
    "\\q",
    "\\$",
    "\\",
    '"',
    "'",
    "\x1b",
    "\x7f",
    "\u202e",
    "\u2028",
    "\u00a0",
    "é",
    "☕",
    "\r",
    "\x0c",
    "\x0b",
    "r" * 300,
]
NON_STRINGS = [
    "1",
    "-1",
    "1.5",
    "true",
    "null",
    "var.x",
    "x",
    'upper("x")',
    '"a" == "b"',
    '"a" /* c */',
    '("a")',
    '["a"]',
    '{a = "b"}',
    "<<EOT\nx\nEOT",
    '"a"\n  + "b"',
    '"a" "b"',
    '"a" // "b"',
    '"a" # "b"',
    '"a"/"b"',
]
SPACES = ["", " ", "  ", "\t", "   "]
TRAILERS = ["", " ", "\t", " # c", "# c", " // c", "//c", " /* c */", " x", ' "y"', ",", ";"]
CLOSE_LINES = ["}", "  }", "}  ", "} # c", "} // c", "}}", "} x", "", "}\n}", "} /* c */"]
TAILS = ["", "\n", "\n\n", "x = 1\n", "grant {\n}\n", "# end\n", "/* end */", "/* end"]


@st.composite
def mostly(draw: st.DrawFn, good: list[str], every: list[str]) -> str:
    """Usually one of ``good``, sometimes (1 in 12) anything from ``every``."""
    if draw(st.integers(0, 11)) == 11:
        return draw(st.sampled_from(every))
    return draw(st.sampled_from(good))


GOOD_VALUES = {
    "principal": ["alice@example.com", "bob", "  ", ""],
    "entitlement": ["aws-prod-readonly", "x"],
    "expires_at": ["2026-11-25T18:00:00Z", "2026-11-25T19:00:00+01:00", "2026-11-25"],
    "starts_at": ["2026-11-25T10:00:00Z", "2026-11-25T18:00:00Z"],
    "reason": ["INC-1234: spike", "", 'say \\"hi\\"', "caf\\u00e9 \\\\ $5 50% {x}"],
    "ticket": ["OPS-1", ""],
}
piece_lists = st.lists(st.sampled_from(PIECES), max_size=5)


@st.composite
def attr_line(draw: st.DrawFn, name: str | None = None) -> str:
    if name is None:
        name = draw(mostly(list(GOOD_VALUES), NAMES))
    good = GOOD_VALUES.get(name, ["x"])
    if draw(st.integers(0, 7)) == 7:
        value = draw(
            st.one_of(
                piece_lists.map(lambda ps: '"' + "".join(ps) + '"'),
                st.sampled_from(NON_STRINGS),
            )
        )
    else:
        value = '"' + draw(st.sampled_from(good)) + '"'
    indent = draw(mostly(["  "], ["", "\t", "    ", " \t "]))
    s1 = draw(mostly([" ", "   "], SPACES))
    s2 = draw(mostly([" "], SPACES))
    trailer = draw(mostly([""], TRAILERS))
    return f"{indent}{name}{s1}={s2}{value}{trailer}"


gaps = st.lists(mostly(["", "# c", "  // c", "/* c */"], GAP_LINES), max_size=2)
body_items = st.one_of(attr_line(), attr_line(), attr_line(), attr_line(), gaps)


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    lines: list[str] = list(draw(gaps))
    lines.append(draw(mostly(["grant {"], OPEN_LINES)))
    items: list[str | list[str]] = []
    if draw(st.booleans()):  # every attribute once, in any order, then some noise
        for name in draw(st.permutations(list(GOOD_VALUES))):
            if name in ("starts_at", "ticket") and draw(st.booleans()):
                continue
            items.append(draw(attr_line(name)))
        extra = draw(st.lists(st.tuples(st.integers(0, len(items)), body_items), max_size=2))
        for pos, item in extra:
            items.insert(pos, item)
    else:
        items = draw(st.lists(body_items, max_size=9))
    for item in items:
        lines.extend(item if isinstance(item, list) else [item])
    lines.append(draw(mostly(["}"], CLOSE_LINES)))
    lines.extend(draw(gaps))
    text = "\n".join(lines) + draw(mostly(["", "\n"], TAILS))
    if draw(st.integers(0, 9)) == 0:
        text = text.replace("\n", "\r\n")
    return text


CANONICAL = """\
# A grant
grant {
  principal   = "alice@example.com"
  entitlement = "aws-prod-readonly"
  starts_at   = "2026-11-25T10:00:00Z"
  expires_at  = "2026-11-25T18:00:00Z"
  reason      = "INC-1234: \\"5xx\\" spike in checkout \\u00e9"
  ticket      = "INC-1234"
}
"""
ALPHABET = [*' \t\n"\\${}%#/*=abcnu01-:_', "\r", "é", "\x1b", "grant", "${", "%{"]
mutated = st.builds(
    lambda edits: _apply(CANONICAL, edits),
    st.lists(
        st.tuples(st.integers(0, len(CANONICAL)), st.integers(0, 2), st.sampled_from(ALPHABET)),
        min_size=1,
        max_size=4,
    ),
)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for pos, deleted, inserted in edits:
        pos = min(pos, len(text))
        text = text[:pos] + inserted + text[pos + deleted :]
    return text


def assert_agree(text: str) -> bool:
    """True when jitctl accepts ``text``; then python-hcl2 must read the same attributes."""
    import hcl2

    result = parse_grant_file(PATH, text.encode("utf-8", "surrogatepass"))
    if result.grant is None:
        return False
    data = hcl2.loads(text)
    (block,) = data["grant"]
    names = {k for k in block if not k.startswith("__")}
    assert names == {k for k in result.grant.lines if k != "grant"}
    return True


def test_canonical_text_is_accepted() -> None:
    assert assert_agree(CANONICAL)
    assert assert_agree(CANONICAL.replace("\n", "\r\n"))


@FUZZ
@given(near_valid())
@example('grant {\n  principal = "a"\n  principal = "b"\n}\n')
@example('grant {\n  for = "a"\n  in = "b"\n  true = "c"\n}\n')
@example('grant {\n  reason = "a" // c\n}\n')
@example("/* a\n*/\ngrant {\n}\n")
def test_python_hcl2_agrees_on_accepted_near_valid_text(text: str) -> None:
    assert_agree(text)


@FUZZ
@given(mutated)
def test_python_hcl2_agrees_on_accepted_mutated_text(text: str) -> None:
    assert_agree(text)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40).filter(bool),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
def test_format_grant_round_trips_or_refuses(
    principal: str, entitlement: str, reason: str, ticket: str
) -> None:
    expires = datetime(2026, 11, 25, 18, tzinfo=UTC)
    try:
        text = format_grant(
            principal=principal,
            entitlement=entitlement,
            expires_at=expires,
            reason=reason,
            ticket=ticket,
        )
    except ValueError:
        return
    result = parse_grant_file(PATH, text.encode())
    assert result.findings == ()
    assert result.grant is not None
    assert (result.grant.principal, result.grant.entitlement) == (principal, entitlement)
    assert (result.grant.reason, result.grant.ticket) == (reason, ticket)
    assert result.grant.expires_at == expires
    assert assert_agree(text)


def check_total(path: str, data: bytes, mode: int) -> None:
    result = parse_grant_file(path, data, mode=mode)
    assert isinstance(result, GrantFile)
    assert result.path == path
    assert all(f.file == path for f in result.findings)
    assert all(f.line is None or f.line >= 1 for f in result.findings)
    assert (result.grant is None) == bool(result.findings)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([0o100644, 0o100755, 0o120000]))
def test_never_raises_on_bytes(data: bytes, mode: int) -> None:
    check_total(PATH, data, mode)


@FUZZ
@given(st.text(max_size=300), st.sampled_from([PATH, "grants/a/b.hcl", "x.hcl", ""]))
def test_never_raises_on_text(text: str, path: str) -> None:
    check_total(path, text.encode("utf-8", "surrogatepass"), 0o100644)


@FUZZ
@given(st.one_of(near_valid(), mutated))
def test_never_raises_on_near_valid_hcl(text: str) -> None:
    check_total(PATH, text.encode("utf-8", "surrogatepass"), 0o100644)


def test_never_raises_on_deep_nesting() -> None:
    for text in [
        "grant {\n  reason = " + "(" * 5000 + '"x"' + ")" * 5000 + "\n}\n",
        "grant {\n" + "a {\n" * 3000 + "}\n" * 3001,
        "x = " + "[" * 20000,
        'grant {\n  reason = "' + '${"' * 5000 + "\n}\n",
        "grant {\n  reason = " + "<<EOT\n" * 5000,
    ]:
        check_total(PATH, text.encode(), 0o100644)


def test_unclosed_heredoc_in_a_large_file_is_a_syntax_error() -> None:
    text = "grant {\n  reason = <<EOT\n" + "\n" * 65000
    result = parse_grant_file(PATH, text.encode())
    assert [(f.rule, f.line) for f in result.findings] == [("grant.syntax", 2)]
    assert "the heredoc <<EOT is never closed" in result.findings[0].message
