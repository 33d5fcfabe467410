"""A small evaluator of IAM policy statements, for the condition operators jitctl's policies use.

It follows AWS's documented evaluation logic for one request (IAM User Guide, "Policy evaluation
logic" and "IAM JSON policy elements: Condition operators"): a statement applies when its action
matches and every condition operator holds (AND across operators and keys, OR across a key's
values); an explicit Deny beats any Allow; a missing key makes an operator false. Only the
operators jitctl writes are implemented; any other raises, so a new operator cannot slip through
unevaluated.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from datetime import datetime

Context = Mapping[str, object]


def _time(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _like(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character; no character classes.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


_OPERATORS = {
    "StringEquals": lambda want, got: str(got) == want,
    "StringLike": lambda want, got: _like(want, str(got)),
    "DateLessThan": lambda want, got: _time(got) < _time(want),
    "DateLessThanEquals": lambda want, got: _time(got) <= _time(want),
    "DateGreaterThan": lambda want, got: _time(got) > _time(want),
    "DateGreaterThanEquals": lambda want, got: _time(got) >= _time(want),
}


def _values(x: object) -> list[str]:
    return [str(v) for v in x] if isinstance(x, list) else [str(x)]


def conditions_hold(condition: Mapping[str, Mapping[str, object]], ctx: Context) -> bool:
    for operator, keys in condition.items():
        if operator not in _OPERATORS:
            raise NotImplementedError(f"condition operator {operator} is not evaluated here")
        test = _OPERATORS[operator]
        for key, wanted in keys.items():
            # condition keys are case-insensitive
            got = next((v for k, v in ctx.items() if k.lower() == key.lower()), None)
            if got is None:
                return False
            if not any(test(w, got) for w in _values(wanted)):
                return False
    return True


def _action_matches(statement: Mapping[str, object], action: str) -> bool:
    actions = _values(statement.get("Action", []))
    return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)


def decide(policy: Mapping[str, object], action: str, ctx: Context) -> str:
    """'deny' (explicit), 'allow' or 'implicit-deny' for one request against one policy."""
    statements = policy["Statement"]
    assert isinstance(statements, list)
    allowed = False
    for st in statements:
        if not _action_matches(st, action):
            continue
        if not conditions_hold(st.get("Condition", {}), ctx):
            continue
        if st["Effect"] == "Deny":
            return "deny"
        allowed = True
    return "allow" if allowed else "implicit-deny"
