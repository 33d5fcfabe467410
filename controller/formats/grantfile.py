"""Read and write one grant file ``grants/<id>.hcl``, strictly.

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
with a stable rule id (see ``RULES``), the file path and, where known, a 1-based line.

Two readers produce the same result:

* ``_parse_fast``: a small line scanner for the canonical subset (comments, blank lines, one
  ``grant {`` block of ``name = "string"`` lines). It returns ``None`` whenever it is not sure,
  so it never has to be right about anything outside that subset.
* ``_parse_slow``: python-hcl2's lark parse tree, for everything else (full HCL syntax, line
  numbers of every construct, syntax errors with line and column).

Both hand a list of ``(name, line, value)`` attributes to one shared judge, and
``tests/test_grantfile_fuzz.py`` checks with hypothesis that the two agree wherever the fast
path answers.

Template sequences. Any ``${`` or ``%{`` inside a value is refused as ``grant.value.literal``,
and so are the HCL escapes ``$${`` and ``%%{`` (which HCL reads as the literal text ``${`` and
``%{``): python-hcl2 lexes the escapes differently from Terraform (``$${`` needs a closing
``}`` and swallows everything up to it, quotes included), so accepting them would mean trusting
a reading a reviewer and Terraform may not share. For the same reason :func:`format_grant`
refuses values containing ``${`` or ``%{``.

Escapes. ``\\" \\\\ \\n \\t \\r \\uXXXX \\UXXXXXXXX`` are decoded; any other backslash
sequence (which Terraform rejects, python-hcl2 keeps verbatim) is a ``grant.syntax`` finding.
Decoded control characters (``\\n``, ``\\t``, ESC, ...), Unicode format characters (bidi
overrides, zero-width characters) and line/paragraph separators are ``grant.value.control``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from controller.core.model import (
    GRANT_SUFFIX,
    GRANTS_DIR,
    Finding,
    Grant,
    GrantFile,
    OpenRequest,
    Severity,
)
from controller.core.times import format_duration, format_rfc3339, parse_duration, parse_rfc3339

__all__ = [
    "GRANT_ID_RE",
    "MAX_FILE_BYTES",
    "RULES",
    "format_grant",
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
    "grant.syntax",
    "grant.block",
    "grant.attribute.unknown",
    "grant.attribute.missing",
    "grant.attribute.duplicate",
    "grant.value.literal",
    "grant.value.empty",
    "grant.value.control",
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


def _path_findings(path: str) -> list[Finding]:
    if grant_id_from_path(path) is not None:
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

_ESCAPE_RE: Final = re.compile(r"\\(?:([\"\\ntr])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.?))", re.S)
_SIMPLE: Final = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _unescape(raw: str) -> tuple[str, str | None]:
    """Decode HCL string escapes. Returns (value, None) or ("", the first invalid escape)."""
    if "\\" not in raw:
        return raw, None
    out: list[str] = []
    pos = 0
    for m in _ESCAPE_RE.finditer(raw):
        out.append(raw[pos : m.start()])
        pos = m.end()
        simple, u4, u8, _bad = m.groups()
        if simple is not None:
            out.append(_SIMPLE[simple])
            continue
        hexdigits = u4 or u8
        if hexdigits is not None:
            code = int(hexdigits, 16)
            if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                out.append(chr(code))
                continue
        return "", m.group(0)
    out.append(raw[pos:])
    return "".join(out), None


_ASCII_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _first_control(value: str) -> str | None:
    """The first control, format (bidi, zero-width) or line-separator character, if any."""
    if value.isascii():
        m = _ASCII_CONTROL_RE.search(value)
        return m.group(0) if m else None
    for ch in value:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            return ch
    return None


def _value_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be written to PR comments, logs and tags, or None."""
    ch = _first_control(value)
    if ch is not None:
        return (
            f"attribute {name!r} contains the control or invisible character U+{ord(ch):04X}; "
            "write it on one line with printable characters only"
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
) -> GrantFile:
    """Check the attributes of the grant block and build the grant if nothing is wrong."""
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

    gid = grant_id_from_path(path)
    if (
        any(f.severity is Severity.ERROR for f in findings)
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


# --------------------------------------------------------------------------- fast path

_WS_COMMENT: Final = r"[ \t]*(?:(?:#|//).*)?"
_BLANK_RE: Final = re.compile(_WS_COMMENT)
_OPEN_RE: Final = re.compile(r"[ \t]*grant[ \t]*\{" + _WS_COMMENT)
_CLOSE_RE: Final = re.compile(r"[ \t]*\}" + _WS_COMMENT)
_ATTR_RE: Final = re.compile(
    r"[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*=[ \t]*\"((?:[^\"\\\n]|\\.)*)\"" + _WS_COMMENT
)
_BLOCK_COMMENT_START_RE: Final = re.compile(r"[ \t]*/\*")
_AFTER_BLOCK_COMMENT_RE: Final = re.compile(r"[ \t]*")


def _skip_gap(lines: Sequence[str], i: int) -> int | None:
    """Skip blank and comment lines from index ``i``; None if a comment is not plainly closed."""
    n = len(lines)
    while i < n:
        line = lines[i]
        if _BLANK_RE.fullmatch(line):
            i += 1
            continue
        m = _BLOCK_COMMENT_START_RE.match(line)
        if m is None:
            return i
        # a /* ... */ comment that starts a line and ends a (possibly later) line
        j, start = i, m.end()
        while True:
            end = lines[j].find("*/", start)
            if end >= 0:
                if not _AFTER_BLOCK_COMMENT_RE.fullmatch(lines[j], end + 2):
                    return None
                break
            j, start = j + 1, 0
            if j >= n:
                return None
        i = j + 1
    return i


def _parse_fast(path: str, text: str) -> GrantFile | None:
    """Read the canonical subset with a line scanner; None when not sure (use the slow path)."""
    if "\r" in text:
        return None
    lines = text.split("\n")
    i = _skip_gap(lines, 0)
    if i is None or i >= len(lines) or not _OPEN_RE.fullmatch(lines[i]):
        return None
    block_line = i + 1
    attrs: list[_Attr] = []
    n = len(lines)
    i += 1
    while True:
        if i >= n:
            return None
        line = lines[i]
        m = _ATTR_RE.fullmatch(line)
        if m is None:
            if _CLOSE_RE.fullmatch(line):
                break
            skipped = _skip_gap(lines, i)
            if skipped is None or skipped == i:
                return None
            i = skipped
            continue
        raw = m.group(2)
        if "${" in raw or "%{" in raw:
            return None
        value, bad = _unescape(raw)
        if bad is not None:
            return None
        i += 1
        attrs.append(_Attr(m.group(1), i, value))
    end = _skip_gap(lines, i + 1)
    if end != len(lines):
        return None
    return _judge(path, block_line, attrs, _path_findings(path))


# --------------------------------------------------------------------------- slow path

_EXPR_KINDS: Final = {
    "int_lit": "a number",
    "float_lit": "a number",
    "literal_value": "a bool or null",
    "tuple": "a list",
    "object": "an object",
    "identifier": "a reference",
    "get_attr_expr_term": "a reference",
    "index_expr_term": "a reference",
    "attr_splat_expr_term": "a splat expression",
    "full_splat_expr_term": "a splat expression",
    "function_call": "a function call",
    "heredoc_template": "a heredoc",
    "heredoc_template_trim": "a heredoc",
    "for_tuple_expr": "a for expression",
    "for_object_expr": "a for expression",
    "template_string": "a template",
}


def _is_tree(node: Any, data: str | None = None) -> bool:
    return hasattr(node, "data") and (data is None or node.data == data)


def _first_token(node: Any) -> Any:
    while _is_tree(node):
        node = node.children[0]
    return node


def _line(node: Any) -> int | None:
    if _is_tree(node):
        return getattr(node.meta, "line", None)
    line = getattr(node, "line", None)
    return line if isinstance(line, int) else None


def _describe(expr: Any) -> str:
    """What kind of non-literal expression ``expr`` is, in words."""
    if _is_tree(expr, "expr_term"):
        children = [c for c in expr.children if _is_tree(c)]
        if len(expr.children) == 1 and children:
            return _EXPR_KINDS.get(children[0].data, "an expression")
        return "an expression in parentheses"
    if _is_tree(expr, "unary_op"):
        return "an expression with an operator"
    if _is_tree(expr, "conditional"):
        return "a conditional expression"
    return "an expression with an operator"


def _string_value(expr: Any) -> tuple[str | None, str | None, str | None]:
    """(raw string source, why it is not a literal, invalid escape) for an attribute value."""
    if not (_is_tree(expr, "expr_term") and len(expr.children) == 1):
        return None, _describe(expr), None
    string = expr.children[0]
    if not _is_tree(string, "string"):
        return None, _describe(expr), None
    parts: list[str] = []
    for part in string.children:
        if not _is_tree(part, "string_part"):
            continue  # the quotes
        content = part.children[0]
        kind = getattr(content, "type", None) or getattr(content, "data", "")
        if kind == "STRING_CHARS":
            parts.append(str(content))
        elif kind == "ESCAPED_INTERPOLATION":
            return None, "an escaped interpolation $${...}", None
        elif kind == "ESCAPED_DIRECTIVE":
            return None, "an escaped template directive %%{...}", None
        elif kind == "interpolation":
            return None, "an interpolation ${...}", None
        else:
            return None, "a template directive %{...}", None
    return "".join(parts), None, None


def _syntax_finding(path: str, exc: Exception) -> Finding:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if not isinstance(line, int) or line < 1:
        line = None
    what = "invalid HCL"
    char = getattr(exc, "char", None)
    token = getattr(exc, "token", None)
    if isinstance(char, str):
        what = f"unexpected character {char!r}"
    elif token is not None:
        ttype = getattr(token, "type", "")
        what = "unexpected end of file" if ttype == "$END" else f"unexpected {ttype or 'token'}"
    elif type(exc).__name__ == "UnexpectedEOF":
        what = "unexpected end of file"
    where = f" at line {line}, column {column}" if line is not None else ""
    return Finding(
        "grant.syntax",
        path,
        line,
        f"HCL syntax error{where}: {what}; a grant file is one block "
        'grant { name = "value" ... } with one attribute per line',
    )


def _block_finding(path: str, line: int | None, message: str) -> Finding:
    return Finding("grant.block", path, line, message)


# python-hcl2's heredoc terminal backtracks quadratically over whitespace-only lines after an
# opener (a 64 KiB file of newlines takes ~15 s); heredocs are never allowed in a grant anyway.
_HEREDOC_OPENER_RE: Final = re.compile(r"<<-?[A-Za-z][A-Za-z0-9._-]*\r?\n")
_HEREDOC_GUARD_LINES: Final = 2000


def _parse_slow(path: str, text: str) -> GrantFile:
    """Read any text with python-hcl2's parse tree (full HCL, line numbers everywhere).

    A file of more than 2000 lines that holds a heredoc opener (``<<EOT``) is refused as
    ``grant.value.literal`` without parsing, to keep python-hcl2's heredoc lexer from spending
    seconds on it (deny when unsure: the opener might sit in a comment).
    """
    findings = _path_findings(path)
    heredoc = _HEREDOC_OPENER_RE.search(text)
    if heredoc is not None and text.count("\n") > _HEREDOC_GUARD_LINES:
        line = text.count("\n", 0, heredoc.start()) + 1
        findings.append(
            Finding(
                "grant.value.literal",
                path,
                line,
                "a heredoc (<<EOT) is not allowed in a grant file; "
                'write each value as one literal "string"',
            )
        )
        return GrantFile(path, None, tuple(findings))
    try:
        from hcl2.api import parses_to_tree

        tree = parses_to_tree(text)
    except Exception as exc:  # lark.exceptions.UnexpectedInput and anything else hcl2 raises
        findings.append(_syntax_finding(path, exc))
        return GrantFile(path, None, tuple(findings))
    try:
        return _walk(path, tree, findings)
    except Exception as exc:  # a tree shape this code does not know: refuse, never crash
        findings.append(
            Finding(
                "grant.syntax",
                path,
                None,
                f"cannot read this file as a grant ({type(exc).__name__}); "
                'write one block grant { name = "value" ... }',
            )
        )
        return GrantFile(path, None, tuple(findings))


def _walk(path: str, tree: Any, findings: list[Finding]) -> GrantFile:
    body = tree.children[0]
    block_line: int | None = None
    attrs: list[_Attr] = []
    for node in _items(body.children):
        line = _line(node)
        if node.data == "attribute":
            name = str(_first_token(node.children[0]))
            findings.append(
                _block_finding(
                    path,
                    line,
                    f"attribute {name!r} is outside the grant block; move it into grant {{ ... }}",
                )
            )
            continue
        btype = str(_first_token(node.children[0]))
        if btype != "grant":
            findings.append(
                _block_finding(
                    path,
                    line,
                    f"a {btype!r} block is not allowed; a grant file holds one grant block only",
                )
            )
            continue
        if block_line is not None:
            findings.append(
                _block_finding(
                    path,
                    line,
                    f"a second grant block (the first is on line {block_line}); "
                    "put one grant in each file",
                )
            )
            continue
        block_line = line if line is not None else 1
        labels = [
            c
            for c in node.children[1:]
            if _is_tree(c) and c.data not in ("body", "new_line_or_comment")
        ]
        if labels:
            findings.append(
                _block_finding(
                    path,
                    line,
                    "the grant block has a label; write grant { ... } without a name",
                )
            )
        inner = next(c for c in node.children if _is_tree(c, "body"))
        for item in _items(inner.children):
            item_line = _line(item) or block_line
            if item.data != "attribute":
                findings.append(
                    _block_finding(
                        path,
                        item_line,
                        "a block inside the grant block is not allowed; "
                        'write name = "value" attributes only',
                    )
                )
                continue
            name = str(_first_token(item.children[0]))
            raw, not_literal, _ = _string_value(item.children[-1])
            value: str | None = None
            if not_literal is not None:
                findings.append(
                    Finding(
                        "grant.value.literal",
                        path,
                        item_line,
                        f"attribute {name!r} is {not_literal}, not a plain string; "
                        'write a literal such as "text" (no ${...}, %{...}, functions or '
                        "references)",
                    )
                )
            elif raw is not None:
                decoded, bad = _unescape(raw)
                if bad is not None:
                    findings.append(
                        Finding(
                            "grant.syntax",
                            path,
                            item_line,
                            f"attribute {name!r} has the invalid escape sequence {bad!r}; "
                            'HCL knows \\" \\\\ \\n \\t \\r \\uXXXX \\UXXXXXXXX',
                        )
                    )
                else:
                    value = decoded
            attrs.append(_Attr(name, item_line, value))
    if block_line is None:
        findings.append(
            _block_finding(
                path,
                None,
                'no grant block; a grant file holds one block grant { principal = "..." ... }',
            )
        )
    return _judge(path, block_line, attrs, findings)


def _items(children: Iterable[Any]) -> list[Any]:
    return [c for c in children if _is_tree(c) and c.data in ("attribute", "block")]


# --------------------------------------------------------------------------- public API


def parse_grant_file(path: str, data: bytes, *, mode: int = 0o100644) -> GrantFile:
    """Read one grant file. Never raises; ``grant`` is None whenever there is an ERROR finding.

    ``path`` is the repository-relative POSIX path, ``mode`` the git file mode.
    """
    findings = _path_findings(path)
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
    text = _decode(path, data, findings)
    if text is None:
        return GrantFile(path, None, tuple(findings))
    try:
        fast = _parse_fast(path, text)
        return fast if fast is not None else _parse_slow(path, text)
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
            if _first_control(cline) is not None:
                raise ValueError("comment must not contain control or invisible characters")
            out.append(f"# {cline}".rstrip())
    out.append("grant {")
    width = max(len(name) for name in values)
    for name in _WRITE_ORDER:
        if name in values:
            out.append(f"  {name.ljust(width)} = {_quote(values[name])}")
    out.append("}")
    text = "\n".join(out) + "\n"
    check = _parse_fast("grants/check.hcl", text)
    if check is None or (check.grant is None and check.open is None):  # pragma: no cover
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
