"""Formatting of findings and decisions: text, JSON, and GitHub Actions annotations.

Pure but for ``append_step_summary``, which appends to ``$GITHUB_STEP_SUMMARY`` when set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from controller.core.errors import JitError
from controller.core.model import Finding, Severity
from controller.core.policy import Decision
from controller.formats.markdown import md


def finding_text(f: Finding) -> str:
    where = f"{f.file}:{f.line}" if f.line else f.file
    return f"{where}: {f.severity.value} [{f.rule}] {f.message}"


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "ok": d.ok,
        "kind": d.kind.value,
        "needs_approval": d.needs_approval,
        "approval_rules": [r.as_dict() for r in d.approval_rules],
        "grants": [
            {
                "path": c.path,
                "id": c.grant.id if c.grant else None,
                "change": c.kind.value,
            }
            for c in d.changes
        ],
        "other_paths": list(d.other_paths),
        "findings": [f.as_dict() for f in d.findings],
    }


def decision_text(d: Decision) -> list[str]:
    lines = [finding_text(f) for f in d.findings]
    verdict = "ok" if d.ok else f"{len(d.errors)} error(s)"
    lines.append(f"change: {d.kind.value}; {verdict}")
    if d.needs_approval:
        rules = "; AND ".join(r.describe() for r in d.approval_rules) or "(no rule: denied)"
        lines.append(f"needs approval: {rules}")
    if d.break_glass:
        rules = "; AND ".join(r.describe() for r in d.approval_rules)
        lines.append(f"BREAK-GLASS: no approval before merge; approve after the fact: {rules}")
    return lines


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    """A GitHub Actions workflow command that puts the finding on the file's line."""
    level = "error" if f.severity is Severity.ERROR else "warning"
    props = [f"file={_escape_property(f.file)}"]
    if f.line:
        props.append(f"line={f.line}")
    props.append(f"title={_escape_property(f.rule)}")
    return f"::{level} {','.join(props)}::{_escape_data(f.message)}"


def summary_markdown(title: str, findings: Sequence[Finding], extra: Iterable[str] = ()) -> str:
    lines = [f"### {title}", ""]
    lines.extend(extra)
    if findings:
        lines += ["", "| severity | rule | file | line | message |", "|---|---|---|---|---|"]
        for f in findings:
            lines.append(
                f"| {f.severity.value} | `{f.rule}` | {md(f.file)} | {f.line or ''} "
                f"| {md(f.message)} |"
            )
    else:
        lines += ["", "No findings."]
    return "\n".join(lines) + "\n"


def append_step_summary(title: str, findings: Sequence[Finding], extra: Iterable[str] = ()) -> None:
    """Append a Markdown summary to the GitHub Actions job summary, if there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(summary_markdown(title, findings, extra))
        except OSError as exc:
            raise JitError(
                f"GITHUB_STEP_SUMMARY={path}: cannot write the job summary: {exc.strerror}",
                rule="io",
            ) from None


def atomic_write(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, in order) to a temporary file, then rename it over
    ``path``: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JitError(f"cannot write {path}: {exc.strerror}", rule="io") from None


def _indent2(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the json module
        return json.dumps(value, indent=2, ensure_ascii=False)


def indented_json(head: Mapping[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """``json.dumps({**head, key: [*items]}, indent=2, ensure_ascii=False)`` in pieces of 2,000
    items: 100,000 findings are never one list of dicts and one string in memory at once."""
    text = _indent2({**head, key: []})
    if not text.endswith("[]\n}"):  # pragma: no cover - key is the last key by construction
        raise AssertionError("indented_json: unexpected layout")
    yield text[: -len("[]\n}")] + "["
    chunk: list[Any] = []
    first = True

    def flush() -> str:
        body = _indent2(chunk)[2:-2]  # without "[\n" and "\n]"
        return ("\n" if first else ",\n") + "  " + body.replace("\n", "\n  ")

    for item in items:
        chunk.append(item)
        if len(chunk) == 2000:
            yield flush()
            chunk, first = [], False
    if chunk:
        yield flush()
        first = False
    yield "]\n}" if first else "\n  ]\n}"
