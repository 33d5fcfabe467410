"""Invisible and misleading characters: one rule for grant files, the catalog and trailers. Pure.

Text a reviewer reads must show what a program parses. :func:`first_invisible` finds the first
character that breaks that promise:

* control characters (Unicode ``Cc``) other than ``\\n`` and ``\\t``, and a carriage return
  that is not part of a ``\\r\\n`` line ending (a lone CR lets a terminal or a diff view draw
  the rest of a line over its start);
* format characters (``Cf``): bidi embeddings, overrides and isolates (U+202A-202E,
  U+2066-2069), marks (U+200E, U+200F, U+061C), zero-width characters (U+200B-200D, U+2060),
  the byte order mark U+FEFF anywhere, soft hyphen, tag characters;
* line and paragraph separators (U+2028, U+2029), surrogates, private-use and unassigned code
  points;
* Unicode's other default-ignorable code points, which render as nothing: variation
  selectors, the combining grapheme joiner, Hangul fillers, Mongolian free variation
  selectors.

``allow`` names the characters a caller accepts (``"\\n\\t"`` for a whole file, nothing for a
single value); a CR is allowed with ``\\n`` when it is directly followed by ``\\n``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, NamedTuple

__all__ = ["Invisible", "describe", "first_invisible", "invisible_problem"]

_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside the categories above
_IGNORABLE_RANGES: Final = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG/JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ/AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN/END BEAM, TIE, SLUR, PHRASE
    (0xE0000, 0xE0FFF),  # TAGS, VARIATION SELECTORS SUPPLEMENT
)
_NON_ASCII_RE: Final = re.compile(r"[^\x00-\x7f]")
_ASCII_BAD: Final = {
    "": re.compile(r"[\x00-\x1f\x7f]"),
    "\n\t": re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]|\r(?!\n)"),
}


class Invisible(NamedTuple):
    """One offending character: its offset in the text, 1-based line and column."""

    char: str
    offset: int
    line: int
    column: int


def _is_bad(ch: str) -> bool:
    if unicodedata.category(ch) in _BAD_CATEGORIES:
        return True
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


def first_invisible(text: str, allow: str = "") -> Invisible | None:
    """The first invisible or misleading character in ``text`` (see the module doc), or None.

    ``allow`` is ``""`` (a value: nothing allowed) or ``"\\n\\t"`` (a file: line feeds, tabs and
    CR LF line endings allowed).
    """
    ascii_bad = _ASCII_BAD.get(allow)
    if ascii_bad is None:
        raise ValueError(f"unsupported allow set {allow!r}")
    found: int | None = None
    m = ascii_bad.search(text)
    if m is not None:
        found = m.start()
    if not text.isascii():
        for n in _NON_ASCII_RE.finditer(text, 0, len(text) if found is None else found):
            if _is_bad(n.group(0)):
                found = n.start()
                break
    if found is None:
        return None
    line = text.count("\n", 0, found) + 1
    column = found - (text.rfind("\n", 0, found) + 1) + 1
    return Invisible(text[found], found, line, column)


def describe(ch: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``; control characters get their usual name."""
    names = {"\r": "CARRIAGE RETURN", "\n": "LINE FEED", "\t": "TAB", "\x00": "NUL"}
    name = names.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} ({name})" if name else f"U+{ord(ch):04X}"


def invisible_problem(text: str, allow: str = "") -> str | None:
    """A one-line reason when ``text`` holds an invisible or misleading character, else None."""
    bad = first_invisible(text, allow)
    if bad is None:
        return None
    what = (
        "a carriage return that does not end a line"
        if bad.char == "\r"
        else f"the invisible or control character {describe(bad.char)}"
    )
    return f"{what} at line {bad.line}, column {bad.column}"
