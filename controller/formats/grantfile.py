"""Read and write one grant file ``grants/<id>.hcl``, strictly: one grammar, one judge.

A grant file holds exactly one unlabelled ``grant`` block whose attributes are plain literal
strings::

    grant {
      principal   = "alice@example.com"
      entitlement = "aws-prod-readonly"
      expires_at  = "2026-11-25T18:00:00Z"
      reason      = "INC-1234: 5xx spike in checkout"
      # optional: starts_at, ticket, duration
    }

A request may give ``duration = "30m"`` instead of ``expires_at``: the clock starts when it is
approved and merged, and jitctl then writes ``expires_at`` into the file (``materialise_text``).
Until then the file is an open request (``GrantFile.open``), never a grant: it carries a
``grant.unmaterialised`` error everywhere but in the check of the change that adds it.

:func:`parse_grant_file` never raises: every problem is a :class:`~controller.core.model.Finding`
with a stable rule id (see ``RULES``), the file path and, where known, a 1-based line (messages
of syntax errors also name the column).

The reader accepts a strict subset of HashiCorp's HCL native syntax, written down in
docs/grant-file.md: a lexer for HCL's tokens (comments ``#``, ``//``, ``/* */``; identifiers;
quoted strings with HCL's escapes; the other expression tokens only to name and skip them) and
HCL's body grammar (an attribute ends at a newline or a line comment; a block's ``{`` is on the
line of its name, its ``}`` on a line of its own). Within the subset every value is what HCL
reads; ``tests/formats/test_hcl_differential.py`` holds that against HashiCorp's parser. A file
in exactly the form jitctl writes is recognised without the lexer (``_read_canonical``, for
speed) and judged by the same ``_judge``; ``tests/formats/test_grantfile_canonical.py`` holds the
two ways to the same answers.

Deliberate refusals of text HCL would accept (documented in docs/grant-file.md):

* invisible or misleading characters anywhere in the file, comments included
  (``grant.text.invisible``): see :mod:`controller.formats.text`;
* template sequences in any spelling: ``${``, ``%{``, the escapes ``$${``/``%%{`` and values
  whose escapes decode to ``${``/``%{`` (``grant.value.literal``);
* strings not in Unicode NFC, which HCL would normalise (``grant.value.nfc``);
* a byte order mark at the start (``grant.encoding``) and one-line blocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, NamedTuple

from controller.core.model import (
    GRANT_SUFFIX,
    GRANTS_DIR,
    Finding,
    Grant,
    GrantFile,
    OpenRequest,
    Severity,
)
from controller.core.times import (
    MAX_TIME,
    MIN_TIME,
    format_duration,
    format_rfc3339,
    parse_duration,
    parse_rfc3339,
)
from controller.formats.text import Invisible, describe, first_invisible

__all__ = [
    "GRANT_ID_RE",
    "MAX_FILE_BYTES",
    "RULES",
    "Formatted",
    "format_grant",
    "format_grant_file",
    "grant_id_from_path",
    "materialise_text",
    "parse_grant_file",
]

GRANT_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
MAX_FILE_BYTES: Final = 64 * 1024
SYMLINK_MODE: Final = 0o120000

REQUIRED: Final = ("principal", "entitlement", "expires_at", "reason")
OPTIONAL: Final = ("starts_at", "ticket", "duration")
KNOWN: Final = frozenset(REQUIRED + OPTIONAL)
# the order format_grant writes attributes in
_WRITE_ORDER: Final = (
    "principal",
    "entitlement",
    "starts_at",
    "duration",
    "expires_at",
    "reason",
    "ticket",
)
_NON_EMPTY: Final = frozenset({"principal", "entitlement", "expires_at"})
_MAX_LEN: Final = {"reason": 1024}
_DEFAULT_MAX_LEN: Final = 256

RULES: Final = (
    "grant.path",
    "grant.symlink",
    "grant.size",
    "grant.encoding",
    "grant.text.invisible",
    "grant.syntax",
    "grant.block",
    "grant.attribute.unknown",
    "grant.attribute.missing",
    "grant.attribute.duplicate",
    "grant.value.literal",
    "grant.value.empty",
    "grant.value.control",
    "grant.value.nfc",
    "grant.time.format",
    "grant.time.order",
    "grant.duration.format",
    "grant.unmaterialised",
)

_ATTRS_HINT = (
    "a grant sets principal, entitlement, expires_at (or duration), reason and optionally "
    "starts_at, ticket"
)


# --------------------------------------------------------------------------- paths


def grant_id_from_path(path: str) -> str | None:
    """The grant id if ``path`` is ``grants/<id>.hcl`` with a valid id, else None."""
    prefix = GRANTS_DIR + "/"
    if not path.startswith(prefix) or not path.endswith(GRANT_SUFFIX):
        return None
    gid = path[len(prefix) : -len(GRANT_SUFFIX)]
    return gid if GRANT_ID_RE.fullmatch(gid) else None


def _path_findings(path: str, gid: str | None) -> list[Finding]:
    if gid is not None:
        return []
    return [
        Finding(
            "grant.path",
            path,
            None,
            "a grant file must sit directly in grants/ and be named <id>.hcl, where <id> is "
            "1 to 100 of a-z, 0-9, '.', '_', '-' starting with a letter or digit "
            "(e.g. grants/alice-aws-prod-readonly-20261124t1200.hcl)",
        )
    ]


# --------------------------------------------------------------------------- values


def _value_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be written to PR comments, logs and tags, or None."""
    # printable ASCII (the common case, checked in C) holds no invisible character
    bad = None if value.isascii() and value.isprintable() else first_invisible(value)
    if bad is not None:
        return (
            f"attribute {name!r} contains the control or invisible character "
            f"{describe(bad.char)}; write it on one line with printable characters only"
        )
    limit = _MAX_LEN.get(name, _DEFAULT_MAX_LEN)
    if len(value) > limit:
        return (
            f"attribute {name!r} is {len(value)} characters long; "
            f"shorten it to at most {limit} characters"
        )
    return None


# --------------------------------------------------------------------------- the shared judge


class _Attr(NamedTuple):
    """One attribute of the grant block as read from the source."""

    name: str
    line: int
    value: str | None  # None: not a plain literal string (a finding says why)


def _judge(
    path: str,
    block_line: int | None,
    attrs: Sequence[_Attr],
    findings: list[Finding],
    gid: str | None = None,
) -> GrantFile:
    """Check the attributes of the grant block and build the grant if nothing is wrong.

    ``gid``: the grant id of ``path`` when the caller has it (None: worked out here)."""
    first: dict[str, _Attr] = {}
    for attr in attrs:
        if attr.name not in KNOWN:
            findings.append(
                Finding(
                    "grant.attribute.unknown",
                    path,
                    attr.line,
                    f"unknown attribute {attr.name!r}; {_ATTRS_HINT}",
                )
            )
            continue
        seen = first.get(attr.name)
        if seen is not None:
            findings.append(
                Finding(
                    "grant.attribute.duplicate",
                    path,
                    attr.line,
                    f"attribute {attr.name!r} is set twice (lines {seen.line} and {attr.line}); "
                    "a grant sets each attribute once",
                )
            )
            continue
        first[attr.name] = attr

    values: dict[str, str] = {}
    times: dict[str, datetime] = {}
    duration: timedelta | None = None
    for name, attr in first.items():
        if attr.value is None:
            continue
        problem = _value_problem(name, attr.value)
        if problem is not None:
            findings.append(Finding("grant.value.control", path, attr.line, problem))
            continue
        if name in _NON_EMPTY and not attr.value.strip():
            findings.append(
                Finding(
                    "grant.value.empty",
                    path,
                    attr.line,
                    f"attribute {name!r} is empty; give it a value",
                )
            )
            continue
        if name in ("expires_at", "starts_at"):
            try:
                times[name] = parse_rfc3339(attr.value)
            except ValueError:
                findings.append(
                    Finding(
                        "grant.time.format",
                        path,
                        attr.line,
                        f"attribute {name!r} is {attr.value!r}, not an RFC 3339 time with a "
                        "zone; write it like 2026-11-25T18:00:00Z",
                    )
                )
                continue
        if name == "duration":
            try:
                duration = parse_duration(attr.value) if attr.value == attr.value.strip() else None
            except (ValueError, OverflowError):
                duration = None
            if duration is None:
                findings.append(
                    Finding(
                        "grant.duration.format",
                        path,
                        attr.line,
                        f"attribute 'duration' is {attr.value!r}, not a positive duration; "
                        "write it like 30m, 8h, 1d or 1h30m",
                    )
                )
                duration = None
                continue
        values[name] = attr.value

    if block_line is not None:
        for name in REQUIRED:
            if name == "expires_at" and "duration" in first:
                continue  # an open request: the clock starts at approval
            if name not in first:
                findings.append(
                    Finding(
                        "grant.attribute.missing",
                        path,
                        block_line,
                        f"attribute {name!r} is missing; {_ATTRS_HINT}",
                    )
                )

    starts, expires = times.get("starts_at"), times.get("expires_at")
    if starts is not None and expires is not None and starts >= expires:
        findings.append(
            Finding(
                "grant.time.order",
                path,
                first["starts_at"].line,
                f"starts_at ({values['starts_at']}) is not before expires_at "
                f"({values['expires_at']}); a grant must start before it expires",
            )
        )

    if gid is None:
        gid = grant_id_from_path(path)
    if (
        (findings and any(f.severity is Severity.ERROR for f in findings))
        or gid is None
        or block_line is None
        or (expires is None and duration is None)
    ):
        return GrantFile(path, None, tuple(findings))
    lines = {"grant": block_line, **{name: attr.line for name, attr in first.items()}}
    if expires is None:
        assert duration is not None
        request = OpenRequest(
            id=gid,
            path=path,
            principal=values["principal"],
            entitlement=values["entitlement"],
            duration=duration,
            reason=values["reason"],
            starts_at=starts,
            ticket=values.get("ticket"),
            lines=lines,
        )
        findings.append(
            Finding(
                "grant.unmaterialised",
                path,
                first["duration"].line,
                f"no expires_at: this request asks for {values['duration']} from approval and "
                "becomes a grant only when jitctl merges it (which writes expires_at)",
            )
        )
        return GrantFile(path, None, tuple(findings), request)
    grant = Grant(
        id=gid,
        path=path,
        principal=values["principal"],
        entitlement=values["entitlement"],
        expires_at=expires,
        reason=values["reason"],
        starts_at=starts,
        ticket=values.get("ticket"),
        lines=lines,
        duration=duration,
    )
    return GrantFile(path, grant, tuple(findings))


# --------------------------------------------------------------------------- lexer
#
# The tokens of the HCL native syntax a grant file may hold (see docs/grant-file.md), plus the
# shapes of the other HCL expressions, read only far enough to say what they are and to skip
# them. Anything else is a syntax error at its line and column.


class _Tok(NamedTuple):
    kind: str  # ident string number punct heredoc newline comment eof
    text: str  # the source text (for a string: including the quotes)
    line: int  # 1-based
    column: int  # 1-based, in code points
    value: str | None = None  # a string's HCL value, when it is one literal string
    problem: tuple[str, str] | None = None  # a string: (rule, why it is not a literal)


class _SyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


_TOKEN_RE: Final = re.compile(
    r"""
    [ \t]*
    (?:
      (?P<newline>\r?\n)
    | (?P<comment>(?:\#|//)[^\r\n]*|/\*)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<simple>"[^"\\$%\r\n]*")
    | (?P<string>")
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<heredoc><<-?[A-Za-z_][A-Za-z0-9_-]*\r?\n)
    | (?P<punct>[=\{\}\[\]\(\),.:?!<>+\-*/%&|;~])
    | (?P<eof>\Z)
    )
    """,
    re.X,
)
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_MAX_NESTING: Final = 32
_SIMPLE_ESCAPES: Final = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPES_HINT: Final = 'HCL knows \\" \\\\ \\n \\r \\t \\uXXXX \\UXXXXXXXX'


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0  # index of the first character of the current line
        self.nesting = 0  # template sequences inside template sequences

    def error(self, pos: int, message: str) -> _SyntaxError:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return _SyntaxError(line, column, message)

    def _advance(self, end: int) -> None:
        newlines = self.text.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.pos, end) + 1
        self.pos = end

    def tokens(self) -> list[_Tok]:
        out: list[_Tok] = []
        append = out.append
        while True:
            tok = self.next_token()
            append(tok)
            if tok.kind == "eof":
                return out

    def next_token(self) -> _Tok:
        text = self.text
        m = _TOKEN_RE.match(text, self.pos)
        if m is None:
            pos = self.pos + len(text[self.pos :]) - len(text[self.pos :].lstrip(" \t"))
            ch = text[pos]
            raise self.error(pos, f"unexpected character {ch!r} (U+{ord(ch):04X})")
        kind = m.lastgroup or ""
        start = m.start(kind)
        line, column = self.line, start - self.line_start + 1
        end = m.end()
        if kind == "newline":
            self.pos = end
            self.line += 1
            self.line_start = end
            return _Tok("newline", m.group(kind), line, column)
        if kind == "ident" or kind == "punct" or kind == "number":
            self.pos = end
            return _Tok(kind, m.group(kind), line, column)
        if kind == "simple":
            self.pos = end
            raw = m.group(kind)
            return self._string_token(raw, line, column, raw[1:-1], None)
        if kind == "eof":
            self.pos = end
            return _Tok("eof", "", line, column)
        if kind == "comment":
            if m.group(kind) == "/*":
                close = text.find("*/", start + 2)
                if close < 0:
                    raise self.error(start, "a /* comment is never closed with */")
                end = close + 2
            self._advance(end)
            return _Tok("comment", text[start:end], line, column)
        self.pos = start
        if kind == "string":
            return self._string(line, column)
        return self._heredoc(m, line, column)

    def _heredoc(self, m: re.Match[str], line: int, column: int) -> _Tok:
        opener = m.group("heredoc")
        marker = opener.rstrip("\r\n").lstrip("<-")
        text = self.text
        pos = m.end()
        while pos < len(text):
            eol = text.find("\n", pos)
            end = len(text) if eol < 0 else eol
            if text[pos:end].rstrip("\r").strip(" \t") == marker:
                self._advance(end)
                return _Tok("heredoc", text[m.start("heredoc") : end], line, column)
            if eol < 0:
                break
            pos = eol + 1
        raise self.error(m.start("heredoc"), f"the heredoc <<{marker} is never closed")

    def _string(self, line: int, column: int) -> _Tok:
        """A quoted string with escapes or template sequences, decoded as HCL decodes it."""
        text = self.text
        start = self.pos
        i = start + 1
        out: list[str] = []
        problem: tuple[str, str] | None = None
        n = len(text)
        while True:
            if i >= n:
                raise self.error(start, "a quoted string is never closed with '\"'")
            ch = text[i]
            if ch == '"':
                i += 1
                break
            if ch in "\r\n":
                raise self.error(
                    i, "a quoted string cannot span lines; close it with '\"' on the same line"
                )
            if ch == "\\":
                sel = text[i + 1 : i + 2]
                if sel in _SIMPLE_ESCAPES:
                    out.append(_SIMPLE_ESCAPES[sel])
                    i += 2
                    continue
                if sel in ("u", "U"):
                    width = 4 if sel == "u" else 8
                    digits = text[i + 2 : i + 2 + width]
                    count = 0
                    while count < len(digits) and digits[count] in _HEX:
                        count += 1
                    code = int(digits, 16) if count == width else -1
                    if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                        out.append(chr(code))
                        i += 2 + width
                        continue
                    bad = text[i : i + 2 + count]
                    i += 2 + count
                else:
                    bad = text[i : i + 2]
                    i += 2
                if problem is None or problem[0] != "grant.syntax":
                    problem = ("grant.syntax", f"has the invalid escape sequence {bad!r}")
                continue
            if ch in "$%" and text[i + 1 : i + 2] == "{":
                self._advance(i)
                self.pos = i + 2
                self._template_sequence(i)
                i = self.pos
                if problem is None:
                    kind = "an interpolation ${...}" if ch == "$" else "a template directive %{...}"
                    problem = ("grant.value.literal", f"is {kind}, not a plain string")
                continue
            if ch in "$%" and text[i + 1 : i + 3] == ch + "{":
                out.append(ch + "{")
                i += 3
                if problem is None:
                    problem = (
                        "grant.value.literal",
                        f"holds the escaped template sequence {ch}{ch}{{, which Terraform reads "
                        f"as {ch}{{",
                    )
                continue
            out.append(ch)
            i += 1
        self._advance(i)
        return self._string_token(text[start:i], line, column, "".join(out), problem)

    def _template_sequence(self, opened_at: int) -> None:
        """Skip the tokens of a ``${ ... }``/``%{ ... }`` sequence up to its closing brace."""
        if self.nesting >= _MAX_NESTING:
            raise self.error(opened_at, "template sequences nested too deeply")
        self.nesting += 1
        depth = 0
        while True:
            tok = self.next_token()
            if tok.kind == "eof":
                raise self.error(opened_at, "a template sequence ${ or %{ is never closed with }")
            if tok.kind == "punct" and tok.text == "{":
                depth += 1
            elif tok.kind == "punct" and tok.text == "}":
                if depth == 0:
                    self.nesting -= 1
                    return
                depth -= 1

    @staticmethod
    def _string_token(
        raw: str, line: int, column: int, value: str, problem: tuple[str, str] | None
    ) -> _Tok:
        if problem is None and ("${" in value or "%{" in value):
            problem = (
                "grant.value.literal",
                "spells a template sequence ${ or %{ with escapes; a grant value never holds one",
            )
        if problem is None and not unicodedata.is_normalized("NFC", value):
            problem = (
                "grant.value.nfc",
                "is not in Unicode normalization form C (Terraform would read "
                f"{unicodedata.normalize('NFC', value)!r}); write the composed characters",
            )
        if problem is not None:
            return _Tok("string", raw, line, column, None, problem)
        return _Tok("string", raw, line, column, value, None)


# --------------------------------------------------------------------------- parser


class _AttrNode(NamedTuple):
    name: str
    line: int
    value: str | None
    first: int  # token index of the name
    last: int  # token index of the value's last token


class _BlockNode(NamedTuple):
    line: int
    labelled: bool
    attrs: list[_AttrNode]
    first: int  # token index of the block type
    open: int  # token index of {
    close: int  # token index of }


_KEYWORDS: Final = frozenset({"true", "false", "null"})
_OPERATORS: Final = frozenset("=!<>+-*/%&|")


class _Parser:
    """HCL's body grammar over the tokens (comments dropped; a line comment ends a line)."""

    def __init__(self, path: str, tokens: list[_Tok]) -> None:
        self.path = path
        # the non-comment tokens, two more ends of file so that peek(1) never runs out, and
        # where each sits in ``tokens``
        self.idx = [i for i, t in enumerate(tokens) if t.kind != "comment"]
        self.toks = [tokens[i] for i in self.idx]
        self.toks += [self.toks[-1], self.toks[-1]]
        self.idx += [self.idx[-1], self.idx[-1]]
        self.i = 0
        self.findings: list[Finding] = []
        self.blocks: list[_BlockNode] = []

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[self.i + ahead]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def here(self) -> int:
        return self.idx[self.i]

    def fail(self, tok: _Tok, message: str) -> _SyntaxError:
        return _SyntaxError(tok.line, tok.column, message)

    def add(self, rule: str, tok: _Tok, message: str) -> None:
        self.findings.append(
            Finding(rule, self.path, tok.line, f"line {tok.line}, column {tok.column}: {message}")
        )

    def file(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind == "newline":
                self.take()
            elif tok.kind == "eof":
                return
            elif tok.kind == "ident" and self.peek(1).text == "=":
                self.add(
                    "grant.block",
                    tok,
                    f"attribute {tok.text!r} is outside the grant block; move it into grant {{ }}",
                )
                self.take()
                self.take()
                self.skip_value()
            elif tok.kind == "ident":
                self.block()
            else:
                raise self.fail(tok, f"expected a grant block, found {_what(tok)}")

    def block(self) -> None:
        first = self.here()
        head = self.take()
        labelled = False
        while self.peek().kind in ("string", "ident"):
            self.take()
            labelled = True
        tok = self.peek()
        if tok.text != "{":
            if tok.kind in ("newline", "eof"):
                raise self.fail(
                    tok, f"the {head.text!r} block's {{ must be on the same line as its name"
                )
            raise self.fail(tok, f"expected {{ after {head.text!r}, found {_what(tok)}")
        keep = False
        if head.text != "grant":
            self.add(
                "grant.block",
                head,
                f"a {head.text!r} block is not allowed; a grant file holds one grant block",
            )
        elif self.blocks:
            self.add(
                "grant.block",
                head,
                f"a second grant block (the first is on line {self.blocks[0].line}); "
                "put one grant in each file",
            )
        else:
            keep = True
            if labelled:
                self.add(
                    "grant.block",
                    head,
                    "the grant block has a label; write grant { ... } without a name",
                )
        open_ = self.here()
        self.take()
        attrs: list[_AttrNode] = []
        nxt = self.peek()
        if nxt.text == "}":
            pass  # an empty one-line block: grant {}
        elif nxt.kind == "newline":
            self.take()
            attrs = self.body()
        elif nxt.kind == "eof":
            raise self.fail(nxt, f"the {head.text!r} block is never closed with }}")
        else:
            raise self.fail(
                nxt,
                f"an attribute on the line of {head.text!r} {{ (a one-line block); write "
                "one attribute per line and } on a line of its own",
            )
        close = self.here()
        self.take()
        after = self.peek()
        if after.kind not in ("newline", "eof"):
            raise self.fail(after, f"{_what(after)} after }}; nothing but a comment may follow it")
        self.take()
        if keep:
            self.blocks.append(_BlockNode(head.line, labelled, attrs, first, open_, close))

    def body(self) -> list[_AttrNode]:
        attrs: list[_AttrNode] = []
        while True:
            tok = self.peek()
            if tok.kind == "newline":
                self.take()
            elif tok.text == "}" and tok.kind == "punct":
                return attrs
            elif tok.kind == "eof":
                raise self.fail(tok, "the block is never closed; end it with } on its own line")
            elif tok.kind == "ident" and self.peek(1).text == "=":
                attr = self.attribute()
                if attr is not None:
                    attrs.append(attr)
            elif tok.kind == "ident" and (
                self.peek(1).kind in ("string", "ident") or self.peek(1).text == "{"
            ):
                self.nested_block()
            elif tok.kind == "string":
                raise self.fail(tok, 'an attribute name is not quoted; write name = "value"')
            else:
                raise self.fail(tok, f'expected an attribute (name = "value"), found {_what(tok)}')

    def nested_block(self) -> None:
        """Refuse a block inside the grant block, and skip it (without recursion)."""
        head = self.take()
        self.add(
            "grant.block",
            head,
            'a block inside the grant block is not allowed; write name = "value" attributes only',
        )
        while self.peek().kind in ("string", "ident"):
            self.take()
        if self.peek().text != "{":
            raise self.fail(self.peek(), f"expected {{ after {head.text!r}")
        depth = 0
        while True:
            tok = self.take()
            if tok.kind == "eof":
                raise self.fail(tok, f"the {head.text!r} block is never closed with }}")
            if tok.kind == "punct" and tok.text == "{":
                depth += 1
            elif tok.kind == "punct" and tok.text == "}":
                depth -= 1
                if depth == 0:
                    break
        after = self.peek()
        if after.kind not in ("newline", "eof"):
            raise self.fail(after, f"{_what(after)} after }}; nothing but a comment may follow it")
        self.take()

    def attribute(self) -> _AttrNode | None:
        first = self.here()
        name = self.take()
        self.take()  # =
        tok = self.peek()
        if tok.kind in ("newline", "eof"):
            raise self.fail(tok, f"attribute {name.text!r} has no value after =")
        after = self.peek(1)
        if tok.kind == "string" and after.kind in ("newline", "eof"):
            last = self.here()
            self.take()
            self.take()
            if tok.problem is not None:
                rule, why = tok.problem
                self.add(rule, tok, f"attribute {name.text!r} {why}{_literal_hint(rule)}")
            return _AttrNode(name.text, name.line, tok.value, first, last)
        if tok.kind == "string" and (
            after.kind in ("ident", "string") or (after.kind == "punct" and after.text in "{}")
        ):
            raise self.fail(
                after,
                f"{_what(after)} after the value of {name.text!r}; write one attribute per line "
                "and } on a line of its own",
            )
        skipped = self.skip_value()
        self.add(
            "grant.value.literal",
            tok,
            f"attribute {name.text!r} is {_describe(skipped)}, not a plain string; write a "
            'literal such as "text" (no ${...}, %{...}, functions, references or heredocs)',
        )
        return _AttrNode(name.text, name.line, None, first, first)

    def skip_value(self) -> list[_Tok]:
        """Skip an expression up to the end of its line (brackets may span lines)."""
        depth = 0
        skipped: list[_Tok] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                return skipped
            if tok.kind == "newline" and depth == 0:
                self.take()
                return skipped
            if tok.kind == "punct" and tok.text in "([{":
                depth += 1
            elif tok.kind == "punct" and tok.text in ")]}":
                if depth == 0:
                    return skipped  # the block's own }
                depth -= 1
            skipped.append(self.take())


def _what(tok: _Tok) -> str:
    if tok.kind == "eof":
        return "the end of the file"
    if tok.kind == "newline":
        return "the end of the line"
    if tok.kind == "string":
        return "a string"
    return repr(tok.text[:20])


def _literal_hint(rule: str) -> str:
    if rule == "grant.syntax":
        return f"; {_ESCAPES_HINT}"
    if rule == "grant.value.literal":
        return '; write a literal such as "text" (no ${...}, %{...}, $${ or %%{)'
    return ""


def _describe(tokens: Sequence[_Tok]) -> str:
    """What kind of non-literal expression ``tokens`` is, in words."""
    if not tokens:
        return "an expression"
    first = tokens[0]
    depth = 0
    has_operator = has_question = False
    for tok in tokens:
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]}":
            depth -= 1
        elif depth == 0 and tok.kind == "punct" and tok is not first:
            has_question = has_question or tok.text == "?"
            has_operator = has_operator or tok.text in _OPERATORS
    if has_question:
        return "a conditional expression"
    if first.kind == "punct" and first.text in "!-":
        return "an expression with an operator"
    if has_operator and first.kind != "heredoc":
        return "an expression with an operator"
    if first.kind == "string":
        problem = first.problem
        if problem is not None and problem[0] == "grant.value.literal" and "is " in problem[1]:
            return problem[1].split("is ", 1)[1].split(", not")[0]
        return "an expression"
    if first.kind == "number":
        return "a number"
    if first.kind == "heredoc":
        return "a heredoc"
    if first.kind == "ident":
        if len(tokens) == 1 and first.text in _KEYWORDS:
            return "a bool or null"
        if len(tokens) > 1 and tokens[1].text == "(":
            return "a function call"
        return "a reference"
    return {"[": "a list", "{": "an object", "(": "an expression in parentheses"}.get(
        first.text, "an expression"
    )


class _Reading(NamedTuple):
    """What the reader made of a file: the tokens, the first grant block, the findings."""

    tokens: list[_Tok]
    block: _BlockNode | None
    findings: list[Finding]
    syntax_error: bool


def _read(path: str, text: str) -> _Reading:
    try:
        tokens = _Lexer(text).tokens()
    except _SyntaxError as exc:
        return _Reading([], None, [_syntax(path, exc)], True)
    parser = _Parser(path, tokens)
    try:
        parser.file()
    except _SyntaxError as exc:
        return _Reading(tokens, None, [*parser.findings, _syntax(path, exc)], True)
    block = parser.blocks[0] if parser.blocks else None
    if block is None:
        parser.findings.append(
            Finding(
                "grant.block",
                path,
                None,
                'no grant block; a grant file holds one block grant { principal = "..." ... }',
            )
        )
    return _Reading(tokens, block, parser.findings, False)


def _syntax(path: str, exc: _SyntaxError) -> Finding:
    return Finding(
        "grant.syntax",
        path,
        exc.line,
        f"line {exc.line}, column {exc.column}: {exc.message} (see docs/grant-file.md)",
    )


def _parse_text(path: str, text: str, findings: list[Finding], gid: str | None = None) -> GrantFile:
    invisible = first_invisible(text, "\n\t")
    if invisible is not None:
        findings.append(_invisible_finding(path, invisible))
        return GrantFile(path, None, tuple(findings))
    reading = _read(path, text)
    findings.extend(reading.findings)
    if reading.syntax_error:
        return GrantFile(path, None, tuple(findings))
    block = reading.block
    attrs = [] if block is None else [_Attr(a.name, a.line, a.value) for a in block.attrs]
    return _judge(path, None if block is None else block.line, attrs, findings, gid)


def _invisible_finding(path: str, bad: Invisible) -> Finding:
    what = (
        "a carriage return that does not end a line (a lone CR lets a viewer draw the rest of "
        "the line over its start)"
        if bad.char == "\r"
        else f"the invisible or control character {describe(bad.char)}"
    )
    return Finding(
        "grant.text.invisible",
        path,
        bad.line,
        f"line {bad.line}, column {bad.column}: {what}; a reviewer would not see what is parsed. "
        "Remove it (comments included)",
    )


# --------------------------------------------------------------------------- canonical form
#
# Nearly every grant file is exactly what jitctl itself writes (``format_grant``: ``jitctl
# request``, ``jitctl fmt``). For such a file the lexer and parser above are the cost of a cold
# read of 100,000 grants, so a file in exactly that form is recognised with one regular
# expression and its attributes go to the same judge (``_judge``). The form is chosen so that
# the reading cannot differ from the full reader's: the bytes are printable ASCII and LF only
# (no BOM, NUL, CR, tab, invisible or non-ASCII character: nothing to decode, normalise or
# hide), "# " comment lines above the block only, ``grant {`` on a line of its own, one
# attribute per line with two spaces before it and ``=`` aligned as format_grant aligns it,
# names in format_grant's order (so each once, none unknown), values quoted without ``"``,
# ``\``, ``$`` or ``%`` (no escape, no template sequence in any spelling), ``}`` and a final
# newline with nothing after it. Anything else, however close, goes to the full reader;
# tests/formats hold the two readers to the same answers (and HashiCorp's parser to both).

# a character of a canonical value: printable ASCII but the quote, '$', '%' and the backslash
_VALUE_CHAR: Final = r"[ !#&-\[\]-~]"
_CANONICAL_VALUE: Final = f'"({_VALUE_CHAR}*)"\n'
# one optional line per attribute, in format_grant's order: (padding, value) groups per name
_CANONICAL_RE: Final = re.compile(
    r"((?:#[ -~]*\n)*)grant \{\n"
    + "".join(f"(?:  {name}( +)= {_CANONICAL_VALUE})?" for name in _WRITE_ORDER)
    + r"\}\n\Z"
)


def _read_canonical(data: bytes) -> tuple[int, list[_Attr]] | None:
    """(the block's line, its attributes) when ``data`` is in the canonical form, else None."""
    if not data.isascii():
        return None
    m = _CANONICAL_RE.match(data.decode("ascii"))
    if m is None:
        return None
    groups = m.groups()
    line = block_line = groups[0].count("\n") + 1
    attrs: list[_Attr] = []
    column = aligned = 0
    for name, pad, value in zip(_WRITE_ORDER, groups[1::2], groups[2::2], strict=True):
        if pad is None:
            continue
        line += 1
        attrs.append(_Attr(name, line, value))
        # '=' in one column, one space after the longest name (as format_grant aligns it)
        here = len(name) + len(pad)
        if column and here != column:
            return None
        column = here
        aligned |= len(pad) == 1
    if not attrs or not aligned:
        return None
    return block_line, attrs


# The commonest file of all: canonical, a plain grant (expires_at, no duration), every value
# within its limits. ``_plain_grant`` answers it without building the attribute list or asking
# the judge; it returns a grant only where the judge would return that same grant and no finding,
# and None (the judge decides) for anything else. tests/formats hold it to the judge's answers.
_PLAIN_LINES: dict[tuple[int, bool, bool], Mapping[str, int]] = {}  # shared, read-only


def _plain_time(text: str) -> datetime | None:
    """``parse_rfc3339(text)`` of a time in _PLAIN_TIME's form, None where it raises: that form
    is one that datetime.fromisoformat (one C call) reads to the same UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None  # no such date or time: parse_rfc3339 refuses it too
    return value if MIN_TIME <= value <= MAX_TIME else None


def _plain_lines(block_line: int, starts: bool, ticket: bool) -> Mapping[str, int]:
    """The line of each attribute, as the judge would record them, one read-only map per shape
    (100,000 grants share a handful)."""
    key = (block_line, starts, ticket)
    lines = _PLAIN_LINES.get(key)
    if lines is None:
        names = [n for n in _WRITE_ORDER if n != "duration" and (starts or n != "starts_at")]
        if not ticket:
            names.remove("ticket")
        lines = MappingProxyType(
            {"grant": block_line, **{n: block_line + 1 + i for i, n in enumerate(names)}}
        )
        if len(_PLAIN_LINES) < 4096:
            _PLAIN_LINES[key] = lines
    return lines


def _plain_value(limit: int, *, blank: bool) -> str:
    """A quoted canonical value of at most ``limit`` characters (``blank``: it may be empty or
    spaces only), captured."""
    if blank:
        return f'"({_VALUE_CHAR}{{0,{limit}}})"\n'
    printed = _VALUE_CHAR.replace(" ", "", 1)  # the same characters but the space
    return f'"(?=[ ]*{printed})({_VALUE_CHAR}{{1,{limit}}})"\n'


# a time as format_grant writes it: UTC, whole seconds (any other form goes to the judge)
_PLAIN_TIME: Final = '"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)"\n'

# format_grant's exact text of a plain grant: entitlement is always there and is the longest
# name, so '=' is always in column 13; each value within the judge's length limit, and the
# values the judge wants non-blank (principal, entitlement, the times) non-blank
_PLAIN_RE: Final = re.compile(
    r"((?:#[ -~]*\n)*)grant \{\n"
    + "  principal   = " + _plain_value(_DEFAULT_MAX_LEN, blank=False)
    + "  entitlement = " + _plain_value(_DEFAULT_MAX_LEN, blank=False)
    + "(?:  starts_at   = " + _PLAIN_TIME + ")?"
    + "  expires_at  = " + _PLAIN_TIME
    + "  reason      = " + _plain_value(_MAX_LEN["reason"], blank=True)
    + "(?:  ticket      = " + _plain_value(_DEFAULT_MAX_LEN, blank=True) + ")?"
    + r"\}\n\Z"
)  # fmt: skip


def _plain_grant(path: str, gid: str, data: bytes) -> GrantFile | None:
    """A canonical plain grant file read without the judge, or None (then the usual way)."""
    if not data.isascii():
        return None
    m = _PLAIN_RE.match(data.decode("ascii"))
    if m is None:
        return None
    comments, principal, entitlement, starts_at, expires_at, reason, ticket = m.groups()
    # what is left of the judge's checks: the times (printable ASCII holds no invisible
    # character, and the pattern holds the lengths and the blanks)
    expires = _plain_time(expires_at)
    if expires is None:
        return None
    starts = None
    if starts_at is not None:
        starts = _plain_time(starts_at)
        if starts is None or starts >= expires:
            return None
    lines = _plain_lines(comments.count("\n") + 1, starts_at is not None, ticket is not None)
    grant = Grant(gid, path, principal, entitlement, expires, reason, starts, ticket, lines)
    return GrantFile(path, grant, ())


# --------------------------------------------------------------------------- public API


def parse_grant_file(path: str, data: bytes, *, mode: int = 0o100644) -> GrantFile:
    """Read one grant file. Never raises; ``grant`` is None whenever there is an ERROR finding.

    ``path`` is the repository-relative POSIX path, ``mode`` the git file mode. A file in the
    canonical form (``_read_canonical``) skips the lexer and parser; it is judged the same.
    """
    return _parse(path, data, mode, canonical=True)


def _parse(path: str, data: bytes, mode: int, *, canonical: bool) -> GrantFile:
    """parse_grant_file; with ``canonical=False`` every file goes through the full reader
    (the tests hold the two ways to the same answers)."""
    gid = grant_id_from_path(path)
    findings = _path_findings(path, gid)
    if mode & 0o170000 == SYMLINK_MODE:
        findings.append(
            Finding(
                "grant.symlink",
                path,
                None,
                "a grant file must be a regular file, not a symbolic link; commit the file itself",
            )
        )
        return GrantFile(path, None, tuple(findings))
    if len(data) > MAX_FILE_BYTES:
        findings.append(
            Finding(
                "grant.size",
                path,
                None,
                f"the file is {len(data)} bytes; a grant file is at most {MAX_FILE_BYTES} bytes",
            )
        )
        return GrantFile(path, None, tuple(findings))
    try:
        if canonical and gid is not None and not findings:
            plain = _plain_grant(path, gid, data)
            if plain is not None:
                return plain
        fast = _read_canonical(data) if canonical else None
        if fast is not None:
            return _judge(path, fast[0], fast[1], findings, gid)
        text = _decode(path, data, findings)
        if text is None:
            return GrantFile(path, None, tuple(findings))
        return _parse_text(path, text, findings, gid)
    except Exception as exc:  # a bug here must not take down a listing of 10,000 grants
        findings.append(
            Finding(
                "grant.syntax",
                path,
                None,
                f"cannot read this file as a grant ({type(exc).__name__})",
            )
        )
        return GrantFile(path, None, tuple(findings))


def _decode(path: str, data: bytes, findings: list[Finding]) -> str | None:
    problems: list[Finding] = []
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(
            Finding(
                "grant.encoding",
                path,
                1,
                "the file starts with a UTF-8 byte order mark; save it as UTF-8 without BOM",
            )
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        problems.append(
            Finding(
                "grant.encoding",
                path,
                data.count(b"\n", 0, nul) + 1,
                "the file contains a NUL byte; a grant file is UTF-8 text",
            )
        )
    text: str | None = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Finding(
                "grant.encoding",
                path,
                data.count(b"\n", 0, exc.start) + 1,
                f"the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8",
            )
        )
    findings.extend(problems)
    return None if problems else text


def _check_writable(name: str, value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    problem = _value_problem(name, value)
    if problem is not None:
        raise ValueError(problem)
    if "${" in value or "%{" in value:
        raise ValueError(f"{name} must not contain '${{' or '%{{' (template sequences)")
    if not unicodedata.is_normalized("NFC", value):
        raise ValueError(f"{name} must be in Unicode normalization form C (composed characters)")
    if name in _NON_EMPTY and not value.strip():
        raise ValueError(f"{name} must not be empty")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_grant(
    *,
    principal: str,
    entitlement: str,
    expires_at: datetime | None,
    reason: str,
    starts_at: datetime | None = None,
    ticket: str | None = None,
    comment: str | None = None,
    duration: timedelta | None = None,
) -> str:
    """The canonical text of a grant file, as ``jitctl request`` writes it.

    ``parse_grant_file`` reads it back to exactly these values. ``comment`` becomes ``#`` lines
    above the block. With ``duration`` and no ``expires_at`` it is an open request (the clock
    starts at approval). Raises ValueError for values that cannot be written safely: control or
    invisible characters, over-long values, ``${``/``%{``, empty principal/entitlement, naive
    datetimes, starts_at not before expires_at, neither expires_at nor duration.
    """
    for tname, tvalue in (("expires_at", expires_at), ("starts_at", starts_at)):
        if tvalue is not None and (not isinstance(tvalue, datetime) or tvalue.tzinfo is None):
            raise ValueError(f"{tname} must be a timezone-aware datetime")
    if expires_at is None and duration is None:
        raise ValueError("a grant needs expires_at or duration")
    if duration is not None and (
        not isinstance(duration, timedelta) or duration.total_seconds() < 1 or duration.microseconds
    ):
        raise ValueError("duration must be a positive whole number of seconds")
    if starts_at is not None and expires_at is not None and starts_at >= expires_at:
        raise ValueError("starts_at must be before expires_at")
    values: dict[str, str] = {
        "principal": principal,
        "entitlement": entitlement,
        "reason": reason,
    }
    if expires_at is not None:
        values["expires_at"] = format_rfc3339(expires_at)
    if duration is not None:
        values["duration"] = format_duration(duration)
    if starts_at is not None:
        values["starts_at"] = format_rfc3339(starts_at)
    if ticket is not None:
        values["ticket"] = ticket
    for name, value in values.items():
        _check_writable(name, value)
    out: list[str] = []
    if comment is not None:
        for cline in comment.split("\n"):
            if first_invisible(cline) is not None or "\r" in cline:
                raise ValueError("comment must not contain control or invisible characters")
            out.append(f"# {cline}".rstrip())
    out.append("grant {")
    width = max(len(name) for name in values)
    for name in _WRITE_ORDER:
        if name in values:
            out.append(f"  {name.ljust(width)} = {_quote(values[name])}")
    out.append("}")
    text = "\n".join(out) + "\n"
    check = _parse_text("grants/check.hcl", text, [])
    if check.grant is None and check.open is None:  # pragma: no cover - defensive
        raise ValueError("the values cannot be written as a grant file that reads back the same")
    return text


_DURATION_LINE_RE: Final = re.compile(r"([ \t]*)duration([ \t]*)=")


def materialise_text(path: str, data: bytes, expires_at: datetime) -> bytes:
    """An open request's file with ``expires_at`` written in: one line inserted after the
    ``duration`` line (same indentation, ``=`` aligned), every other byte kept, so the diff a
    reviewer reads is that one line. Deterministic: the same file and time give the same bytes,
    which is how a materialisation commit is recognised. Raises ValueError if ``data`` is not
    an open request."""
    gf = parse_grant_file(path, data)
    if gf.open is None:
        raise ValueError(f"{path} is not an open request (a duration without expires_at)")
    if expires_at.tzinfo is None or expires_at.microsecond:
        raise ValueError("expires_at must be a timezone-aware time in whole seconds")
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    n = gf.open.lines["duration"]
    m = _DURATION_LINE_RE.match(lines[n - 1])
    if m is None:
        raise ValueError(f"{path}: cannot find the duration attribute on line {n}")
    indent, pad = m.group(1), m.group(2)
    width = max(len("expires_at"), len("duration") + len(pad) - 1)
    eol = "\r\n" if lines[n - 1].endswith("\r\n") else "\n"
    if not lines[n - 1].endswith("\n"):
        lines[n - 1] += eol
    new = f"{indent}{'expires_at'.ljust(width)} = {_quote(format_rfc3339(expires_at))}{eol}"
    lines.insert(n, new)
    out = "".join(lines).encode("utf-8")
    back = parse_grant_file(path, out)
    g = back.grant
    if g is None or g.expires_at != expires_at or g.duration != gf.open.duration:
        raise ValueError(f"{path}: the materialised file does not read back as a grant")
    return out


# --------------------------------------------------------------------------- canonical layout


class Formatted(NamedTuple):
    """:func:`format_grant_file`'s answer: the canonical text, or the findings that stop it."""

    text: str | None
    findings: tuple[Finding, ...]


def format_grant_file(path: str, data: bytes, *, mode: int = 0o100644) -> Formatted:
    """The canonical layout of an accepted grant file (what ``jitctl fmt`` writes).

    The block as :func:`format_grant` writes it (attributes in a fixed order, one per line, ``=``
    aligned, LF line endings), with the same values and every comment kept: comments above or
    below the block stay there, a comment on an attribute's line or just above it moves with the
    attribute. A file with any ERROR finding is not formatted (``text`` is None), except an
    open request's ``grant.unmaterialised``.
    """
    result = parse_grant_file(path, data, mode=mode)
    # an open request (what `jitctl request` writes: a duration, no expires_at yet) is formatted
    # like a grant; any other error stops it
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    is_open = result.open is not None and all(f.rule == "grant.unmaterialised" for f in errors)
    if result.grant is None and not is_open:
        return Formatted(None, result.findings)
    text = data.decode("utf-8")
    reading = _read(path, text)
    block = reading.block
    if block is None:  # pragma: no cover - an accepted file has its block
        raise AssertionError("an accepted grant file without a grant block")
    out = _layout(reading.tokens, block)
    again = parse_grant_file(path, out.encode("utf-8"), mode=mode)
    reread = _read(path, out)
    if (
        again.grant != result.grant
        or again.open != result.open
        or reread.block is None
        or _values(reread.block) != _values(block)
        or _comments(reread.tokens) != _comments(reading.tokens)
    ):  # pragma: no cover - a bug: never write a file that means something else
        raise AssertionError(f"{path}: the canonical layout does not read back the same")
    return Formatted(out, result.findings)


def _values(block: _BlockNode) -> dict[str, str | None]:
    return {a.name: a.value for a in block.attrs}


def _comments(tokens: Sequence[_Tok]) -> list[str]:
    return sorted(t.text for t in tokens if t.kind == "comment")


def _layout(tokens: Sequence[_Tok], block: _BlockNode) -> str:
    """Render the block canonically; place each comment by the tokens around it."""

    def comments(lo: int, hi: int) -> list[_Tok]:
        return [t for t in tokens[lo:hi] if t.kind == "comment"]

    def end_of_line(i: int) -> int:
        while tokens[i].kind not in ("newline", "eof"):
            i += 1
        return i

    def joined(found: list[_Tok]) -> list[str]:
        """Comments grouped by the source line they start on, each group one output line."""
        lines: list[str] = []
        last_line = -1
        for tok in found:
            if tok.line == last_line:
                lines[-1] += " " + tok.text
            else:
                lines.append(tok.text)
            last_line = tok.line
        return lines

    def trailing(found: list[_Tok]) -> str:
        return "".join(" " + t.text for t in found)

    out: list[str] = joined(comments(0, block.first))
    head_end = end_of_line(block.open)
    out.append("grant {" + trailing(comments(block.first, head_end)))
    width = max(len(a.name) for a in block.attrs)
    start = head_end
    placed: dict[str, list[str]] = {}
    for attr in block.attrs:
        line_end = end_of_line(attr.last)
        before = ["  " + c for c in joined(comments(start, attr.first))]
        after = trailing(comments(attr.first, line_end))
        placed[attr.name] = [
            *before,
            f"  {attr.name.ljust(width)} = {_quote(attr.value or '')}{after}",
        ]
        start = line_end
    for name in _WRITE_ORDER:
        out.extend(placed.get(name, ()))
    out.extend("  " + c for c in joined(comments(start, block.close)))
    tail_end = end_of_line(block.close)
    out.append("}" + trailing(comments(block.close, tail_end)))
    out.extend(joined(comments(tail_end, len(tokens))))
    return "\n".join(out) + "\n"
