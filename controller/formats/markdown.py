"""Escaping user text for Markdown (PR comments, job summaries, reports)."""

from __future__ import annotations

import html


def md(text: str) -> str:
    """Escape user text for a Markdown table cell or line (no HTML, no links, no mentions)."""
    out = html.escape(text, quote=True)
    for ch in "\\`*_[]|<>#!~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("@", "@\u200b").replace("\n", " ")


def md_code(text: str) -> str:
    """User text as an inline code span for a Markdown table cell: shown exactly as it is (no
    invisible characters added, so a value copied from it matches), never a mention, a link or
    HTML. A pipe is escaped (GitHub tables split cells on it, even inside code); line breaks
    become spaces."""
    value = " ".join(text.splitlines()).replace("|", "\\|")
    if not value:
        return ""
    longest = run = 0
    for ch in value:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if value[0] == "`" or value[-1] == "`" or value.strip(" ") == "" else ""
    return f"{fence}{pad}{value}{pad}{fence}"
