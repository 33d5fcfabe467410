"""jitctl's grant-file reader against HashiCorp's own HCL parser (the oracle, hcl_oracle.py).

Over (a) the fixed regression set of hcl_corpus.REGRESSION and (b) a seeded generator of
mutated files (JITCTL_HCL_FILES, default 6000; JITCTL_HCL_SEED), every file is read by both:

* jitctl accepts and HCL rejects: a failure ("accepted, HCL rejects");
* both accept and a value differs: a failure ("read differently");
* jitctl refuses a file HCL reads as a valid grant: a false rejection. Allowed only for the
  deliberate refusals of docs/grant-file.md (``DELIBERATE`` below); any other is a failure.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from controller.core.model import GrantFile
from controller.core.times import parse_rfc3339
from controller.formats.grantfile import (
    KNOWN,
    _Attr,
    _judge,
    _parse,
    _read,
    _read_canonical,
    format_grant_file,
    parse_grant_file,
)
from tests.formats.hcl_corpus import REGRESSION, Case, generate
from tests.formats.hcl_oracle import HclReading, read_with_hcl
from tests.formats.test_grantfile_canonical import both_ways

PATH = "grants/diff-1.hcl"
ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("JITCTL_HCL_SEED", "20261126"))
COUNT = int(os.environ.get("JITCTL_HCL_FILES", "6000"))

# rule id -> why jitctl refuses text HCL reads as a valid grant (each is in docs/grant-file.md)
DELIBERATE: Mapping[str, str] = {
    "grant.text.invisible": "invisible or control characters, or a lone CR, anywhere",
    "grant.value.nfc": "a string not in Unicode NFC (HCL would normalise it)",
    "grant.value.literal": 'a template sequence in any spelling ($${, %%{, escapes, ${"x"})',
    "grant.encoding": "a byte order mark at the start of the file",
}


# ${ or %{ written out, doubled, or with a \u/\U escape for $, % or {
_TEMPLATE_SPELLING = re.compile(r"[$%]\{|\\u00(?:24|25|7[bB])|\\U000000(?:24|25|7[bB])")


def hcl_grant_values(value: Any) -> dict[str, str] | None:
    """The attributes of HCL's reading when it is one unlabelled grant block of strings."""
    if not isinstance(value, dict) or set(value) != {"grant"}:
        return None
    blocks = value["grant"]
    if not isinstance(blocks, list) or len(blocks) != 1 or not isinstance(blocks[0], dict):
        return None
    attrs = blocks[0]
    if not all(isinstance(v, str) for v in attrs.values()):
        return None
    return dict(attrs)


def _unescape_hcl2json(value: str) -> str:
    # hcl2json writes a literal ${ / %{ as $${ / %%{ (Terraform JSON syntax)
    return value.replace("$${", "${").replace("%%{", "%{")


def hcl_reads_a_valid_grant(values: Mapping[str, str] | None) -> bool:
    """Would jitctl's own checks accept these values (as HCL read them) as a grant?"""
    if values is None or not set(values) <= KNOWN:
        return False
    attrs = [_Attr(name, 1, _unescape_hcl2json(v)) for name, v in values.items()]
    result = _judge(PATH, 1, attrs, [])
    return result.grant is not None


def jitctl_values(text: str) -> dict[str, str]:
    reading = _read(PATH, text)
    assert reading.block is not None
    values = {a.name: a.value for a in reading.block.attrs}
    assert all(v is not None for v in values.values())
    return {k: v for k, v in values.items() if v is not None}


def compare(text: str, jit: GrantFile, hcl: HclReading) -> tuple[str, str]:
    """(category, detail) of one file."""
    if jit.grant is not None:
        if not hcl.ok:
            return "accepted, HCL rejects", hcl.error
        ours = jitctl_values(text)
        theirs = hcl_grant_values(hcl.value)
        if theirs != ours:
            return "read differently", f"jitctl {ours!r} HCL {hcl.value!r}"
        g = jit.grant
        same = (
            (g.principal, g.entitlement, g.reason, g.ticket)
            == (ours["principal"], ours["entitlement"], ours["reason"], ours.get("ticket"))
            and g.expires_at == parse_rfc3339(ours["expires_at"])
            and g.starts_at == (parse_rfc3339(ours["starts_at"]) if "starts_at" in ours else None)
        )
        return ("both accept, same values", "") if same else ("read differently", repr(g))
    if not hcl.ok:
        return "both reject", ""
    values = hcl_grant_values(hcl.value)
    if not hcl_reads_a_valid_grant(values):
        return "HCL reads no valid grant", ""
    rules = {f.rule for f in jit.findings}
    documented = rules <= set(DELIBERATE)
    if "grant.value.literal" in rules:
        assert values is not None
        documented = documented and bool(
            _TEMPLATE_SPELLING.search(text)
            or any(_TEMPLATE_SPELLING.search(v) for v in values.values())
        )
    if documented:
        return "false rejection, documented: " + ", ".join(sorted(rules)), ""
    return "false rejection, undocumented", f"{sorted(rules)} {jit.findings}"


FAILURES = ("accepted, HCL rejects", "read differently", "false rejection, undocumented")


def run(texts: Sequence[str]) -> tuple[Counter[str], dict[str, list[str]]]:
    readings = read_with_hcl(texts)
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for text, hcl in zip(texts, readings, strict=True):
        jit, _ = both_ways(text.encode("utf-8"), PATH)  # the canonical path and the full reader
        category, detail = compare(text, jit, hcl)
        counts[category] += 1
        if category in FAILURES and len(examples.setdefault(category, [])) < 5:
            examples[category].append(f"{text!r}\n    {detail}")
    return counts, examples


@pytest.fixture(scope="module")
def regression_readings() -> dict[str, HclReading]:
    readings = read_with_hcl([c.text for c in REGRESSION])
    return {c.id: r for c, r in zip(REGRESSION, readings, strict=True)}


@pytest.mark.parametrize("case", REGRESSION, ids=[c.id for c in REGRESSION])
def test_regression_case(case: Case, regression_readings: dict[str, HclReading]) -> None:
    hcl = regression_readings[case.id]
    jit, _ = both_ways(case.text.encode("utf-8"), PATH)
    assert tuple(f.rule for f in jit.findings) == case.rules, jit.findings
    assert hcl.ok == case.hcl_ok, hcl.error
    category, detail = compare(case.text, jit, hcl)
    assert category not in FAILURES, detail


def test_generated_files_agree_with_hcl() -> None:
    texts = generate(SEED, COUNT)
    counts, examples = run(texts)
    report = "\n".join(f"  {n:6d}  {category}" for category, n in sorted(counts.items()))
    print(f"\nHCL differential, seed {SEED}, {len(texts)} generated files:\n{report}")
    bad = {c: examples[c] for c in FAILURES if counts[c]}
    assert not bad, report + "\n" + "\n".join(f"{c}:\n  " + "\n  ".join(e) for c, e in bad.items())
    assert len(texts) >= 5000
    # not vacuous: a fair share of files is read by both, and both kinds of refusal occur
    assert counts["both accept, same values"] >= len(texts) // 10, report
    assert counts["both reject"] >= len(texts) // 10, report
    assert sum(n for c, n in counts.items() if c.startswith("false rejection, documented")), report


def test_deliberate_refusals_are_documented() -> None:
    doc = (ROOT / "docs" / "grant-file.md").read_text()
    section = doc.split("## Deliberate refusals", 1)[1].split("\n## ", 1)[0]
    for rule in DELIBERATE:
        assert f"`{rule}`" in section, rule


def test_fmt_output_reads_the_same_in_hcl() -> None:
    """jitctl fmt of every accepted generated file: HCL reads the same values; fmt is stable."""
    accepted = [
        t for t in generate(SEED, COUNT) if parse_grant_file(PATH, t.encode()).grant is not None
    ]
    formatted = []
    for text in accepted:
        out = format_grant_file(PATH, text.encode()).text
        assert out is not None
        assert format_grant_file(PATH, out.encode()).text == out, text
        before = parse_grant_file(PATH, text.encode()).grant
        assert parse_grant_file(PATH, out.encode()).grant == before
        formatted.append(out)
    readings = read_with_hcl(formatted)
    canonical = 0
    for text, out, hcl in zip(accepted, formatted, readings, strict=True):
        assert hcl.ok, (text, out, hcl.error)
        assert hcl_grant_values(hcl.value) == jitctl_values(text), (text, out)
        # fmt's output is mostly in the form the canonical recogniser takes: read both ways,
        # the same grant, and HashiCorp's reading of the same values
        result, took = both_ways(out.encode(), PATH)
        canonical += took
        if took:
            fast = _read_canonical(out.encode())
            assert fast is not None
            assert {a.name: a.value for a in fast[1]} == hcl_grant_values(hcl.value), out
        assert result.grant == _parse(PATH, text.encode(), 0o100644, canonical=False).grant
    print(f"\nfmt output of {len(accepted)} accepted files: {canonical} in the canonical form")
    assert len(accepted) >= COUNT // 10
    assert canonical >= len(accepted) // 4, (canonical, len(accepted))
