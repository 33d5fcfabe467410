"""Grant files for the differential test against HashiCorp's HCL parser.

* ``REGRESSION``: a fixed set, one case per disagreement the first differential run found (and
  the Trojan Source tricks), each with the rule ids jitctl must answer and whether HCL accepts.
* :func:`generate`: a seeded generator of mutated grant files (same seed, same files).
"""

from __future__ import annotations

import random
from typing import NamedTuple


class Case(NamedTuple):
    id: str
    text: str
    rules: tuple[str, ...]  # jitctl's finding rule ids, in order; () = accepted
    hcl_ok: bool  # does HashiCorp's parser accept the file?


P = '  principal   = "alice@example.com"'
E = '  entitlement = "aws-prod-readonly"'
X = '  expires_at  = "2026-11-25T18:00:00Z"'
R = '  reason      = "INC-1234: 5xx spike in checkout"'
CANONICAL = "\n".join(["grant {", P, E, X, R, "}"]) + "\n"


def block(*lines: str, head: str = "grant {", tail: str = "}", nl: str = "\n") -> str:
    return nl.join([head, *lines, tail]) + nl


REGRESSION: tuple[Case, ...] = (
    Case("canonical", CANONICAL, (), True),
    Case("crlf", block(P, E, X, R, nl="\r\n"), (), True),
    Case("no-final-newline", block(P, E, X, R).rstrip("\n"), (), True),
    # accepted by the old reader, rejected by HCL
    Case("lone-cr-separator", block(P, E, X, R, nl="\r"), ("grant.text.invisible",), False),
    Case(
        "two-attributes-on-one-line",
        block(P + ' entitlement = "aws-prod-readonly"', X, R),
        ("grant.syntax",),
        False,
    ),
    Case(
        "close-brace-on-attribute-line", block(P, E, X, R + " }", tail=""), ("grant.syntax",), False
    ),
    Case("open-brace-on-next-line", block(P, E, X, R, head="grant\n{"), ("grant.syntax",), False),
    Case("one-line-block", 'grant { principal = "a" }\n', ("grant.syntax",), True),
    # read differently: HCL normalises strings to NFC
    Case(
        "nfd-principal-raw",
        block('  principal   = "rene\u0301@example.com"', E, X, R),
        ("grant.value.nfc",),
        True,
    ),
    Case(
        "nfd-principal-escaped",
        block('  principal   = "rene\\u0301@example.com"', E, X, R),
        ("grant.value.nfc",),
        True,
    ),
    Case("nfc-principal", block('  principal   = "ren\u00e9@example.com"', E, X, R), (), True),
    # rejected by the old reader, valid HCL: comments where HCL allows them
    Case(
        "comments-everywhere",
        "/* head */ # c\n"
        "grant /* c */ { # c\n"
        f"{P} /* c */\n"
        '  /* c */ entitlement /* c */ = /* c */ "aws-prod-readonly" // c\n'
        "  /* multi\n     line */\n"
        f"{X} # c\n"
        f"{R} /* multi\n line */\n"
        "  # c\n"
        "} /* c */ # c\n"
        "// tail\n",
        (),
        True,
    ),
    Case("comment-at-eof-without-newline", block(P, E, X, R) + "# end", (), True),
    Case(
        "block-comment-hides-newline",
        block(P + ' /* a\n */ entitlement = "x"', X, R),
        ("grant.syntax",),
        False,
    ),
    Case("unclosed-block-comment", block(P, E, X, R) + "/* end", ("grant.syntax",), False),
    # Trojan Source: what a reviewer sees is not what is parsed
    Case(
        "bidi-override-in-comment",
        block(P, E, X + ' # \u202e"2099-01-01T00:00:00Z" = ta_seripxe\u202c', R),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "bidi-isolate-in-comment",
        block(P, E, "  # \u2066 expires_at = 2099 \u2069", X, R),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "bidi-in-string",
        block(P, E, X, '  reason      = "INC-1\u202e"'),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "bidi-escape-in-string",
        block(P, E, X, '  reason      = "INC-1\\u202e"'),
        ("grant.value.control",),
        True,
    ),
    Case(
        "zero-width-in-comment",
        block(P, E, X, R, "  # \u200b"),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "zero-width-in-principal",
        block('  principal   = "alice\u200b@example.com"', E, X, R),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "zero-width-escape-in-principal",
        block('  principal   = "alice\\u200b@example.com"', E, X, R),
        ("grant.value.control",),
        True,
    ),
    Case(
        "cr-overwrite-in-comment",
        block(P, E, X + ' # \r  expires_at  = "2026-11-25T19:00:00Z"', R),
        ("grant.text.invisible",),
        True,
    ),
    Case(
        "cr-in-string", block(P, E, X, '  reason      = "a\rb"'), ("grant.text.invisible",), False
    ),
    Case("bom-in-the-middle", block(P, E, X, R, "  # \ufeff"), ("grant.text.invisible",), True),
    Case("bom-at-start", "\ufeff" + CANONICAL, ("grant.encoding",), True),
    # template sequences in any spelling
    Case(
        "template-via-unicode-escape",
        block(P, E, X, '  reason      = "$\\u007bvar.x}"'),
        ("grant.value.literal",),
        True,
    ),
    Case(
        "escaped-interpolation",
        block(P, E, X, '  reason      = "$${var.x}"'),
        ("grant.value.literal",),
        True,
    ),
    Case(
        "escaped-directive",
        block(P, E, X, '  reason      = "%%{if x}"'),
        ("grant.value.literal",),
        True,
    ),
    Case(
        "constant-interpolation",
        block(P, E, X, '  reason      = "${"x"}"'),
        ("grant.value.literal",),
        True,
    ),
    Case("dollar-and-percent-ok", block(P, E, X, '  reason      = "$5, 50% {x} $$ %%"'), (), True),
    # non-ASCII digits in times
    Case(
        "arabic-indic-fraction",
        block(P, E, '  expires_at  = "2026-11-25T18:00:00.\u0665Z"', R),
        ("grant.time.format",),
        True,
    ),
    Case(
        "arabic-indic-year",
        block(P, E, '  expires_at  = "\u0662\u0660\u0662\u0666-11-25T18:00:00Z"', R),
        ("grant.time.format",),
        True,
    ),
    Case(
        "fullwidth-digit",
        block(P, E, '  expires_at  = "2026-11-25T18:00:0\uff10Z"', R),
        ("grant.time.format",),
        True,
    ),
)

# --------------------------------------------------------------------------- the generator

_TEMPLATES: tuple[str, ...] = (
    CANONICAL,
    block(P, E, X, R, nl="\r\n"),
    "# requested by alice\n"
    + block(P, E, '  starts_at   = "2026-11-25T10:00:00Z"', X, R, '  ticket      = "INC-1234"'),
    block(R, X, E, P, head="grant { # note"),
    "/* a grant */\n" + block(P + " # who", E + " // what", X + " /* until */", R) + "# end\n",
    block(
        '  principal = "ren\u00e9@example.com"',
        E,
        '  expires_at = "2026-11-25T19:00:00+01:00"',
        '  reason = "say \\"hi\\" \\\\ caf\\u00e9 $5 50%"',
    ),
    block(P, E, X, R, "", "  # trailing comment"),
    "grant {\n" + P + "\n\n" + E + "\n  /* gap */\n" + X + "\n" + R + "\n}",
)

_FRAGMENTS: tuple[str, ...] = (
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "#",
    "# c",
    "// c",
    "/* c */",
    "/*",
    "*/",
    "/* a\nb */",
    " # c\n",
    "//",
    "{",
    "}",
    "{\n",
    "\n}",
    "=",
    " = ",
    '"',
    "'",
    ",",
    ";",
    ".",
    "[",
    "]",
    "(",
    ")",
    "\\",
    '\\"',
    "\\\\",
    "\\n",
    "\\t",
    "\\r",
    "\\u00e9",
    "\\u0301",
    "\\u202e",
    "\\u200b",
    "\\u007b",
    "\\u0024",
    "\\u0025",
    "\\U0001F600",
    "\\uD800",
    "\\u12",
    "\\q",
    "\\$",
    "$",
    "%",
    "$$",
    "%%",
    "${",
    "%{",
    "$${",
    "%%{",
    "${x}",
    "%{x}",
    "$${x}",
    "%%{x}",
    '${"a"}',
    "e\u0301",
    "\u00e9",
    "\u212b",
    "A\u030a",
    "\u1e9b\u0323",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u034f",
    "\ufe0f",
    "\u2028",
    "\u00a0",
    "\u3000",
    "\x0c",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x00",
    "\u0665",
    "\uff10",
    "\u0966",
    "\u00e9",
    "\u2615",
    "\U0001f600",
    "\u0430",
    "grant",
    "grant {",
    "principal",
    "ticket",
    ' ticket = "T-1"\n',
    '\n  ticket = "T-1"',
    "x = 1",
    "1",
    "-1",
    "1.5",
    "true",
    "null",
    "var.x",
    'upper("a")',
    '["a"]',
    "{a = 1}",
    "<<EOT\nx\nEOT\n",
    "<<-EOT\n  x\n  EOT\n",
    "<<EOT",
    '? "a" : "b"',
    "+",
    "==",
    'starts_at = "2026-11-25T10:00:00Z"',
    "2026-11-25T18:00:00Z",
    "Z",
    "+01:00",
    ".5",
)


def _mutate(rng: random.Random, text: str) -> str:
    op = rng.randrange(10)
    n = len(text)
    pos = rng.randrange(n + 1)
    if op <= 3:  # insert a fragment
        return text[:pos] + rng.choice(_FRAGMENTS) + text[pos:]
    if op == 4:  # delete a short span
        return text[:pos] + text[pos + rng.randint(1, 3) :]
    if op == 5:  # replace a character
        return text[:pos] + rng.choice(_FRAGMENTS) + text[pos + 1 :]
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    if op == 6 and len(lines) > 1:  # join a line with the next
        j = min(i + 1, len(lines) - 1)
        return "\n".join([*lines[:i], lines[i] + rng.choice(("", " ")) + lines[j], *lines[j + 1 :]])
    if op == 7:  # duplicate a line
        return "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if op == 8 and len(lines) > 1:  # swap two lines
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    # put a fragment inside a value
    q = text.find('"', pos)
    if q < 0:
        return text
    return text[: q + 1] + rng.choice(_FRAGMENTS) + text[q + 1 :]


def generate(seed: int, count: int) -> list[str]:
    """``count`` mutated grant files: 1 to 3 mutations of a template each; deterministic."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = rng.choice(_TEMPLATES)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            text = _mutate(rng, text)
        out.append(text)
    return out
