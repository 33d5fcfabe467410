"""Load and validate ``catalog.yaml``. Pure: takes text, returns a Catalog or raises JitError.

Every error names the file, the key path and, where the YAML parser knows it, the line, and
carries the stable rule id ``catalog.invalid`` (``catalog.syntax`` for YAML syntax errors).

Nothing invisible or misleading (:mod:`controller.formats.text`): not in the text (comments
included; newlines, tabs and CR LF line endings allowed), and not in any key or value after YAML
unescapes it (``"\u202e"``): logins, teams, principals, entitlement ids and targets reach
decisions and Terraform. Only a ``description`` may hold newlines and tabs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from controller.core.errors import JitError
from controller.core.model import (
    NOTIFY_EVENTS,
    ApprovalRule,
    AuditTrust,
    BreakGlass,
    Catalog,
    Entitlement,
    NotifyTarget,
)
from controller.core.policy import AZURE_PIM_MAX_WINDOW, AZURE_PIM_MIN_WINDOW
from controller.core.times import format_duration, parse_duration
from controller.formats.text import first_invisible, invisible_problem

if TYPE_CHECKING:  # PyYAML (~25 ms to import) loads when a catalog is read, not before
    import yaml

# module -> the keys its target carries (all required, no others: Terraform would silently drop
# an unknown key) and whether each is one string or a list of strings
MODULES: Mapping[str, Mapping[str, type]] = {
    "aws-iam-role": {"account_id": str, "policy_arns": list, "saml_provider_arn": str},
    "aws-identity-center": {"account_id": str, "policy_arns": list, "instance_arn": str},
    "gcp-iam": {"project": str, "role": str},
    "azure-pim": {"scope": str, "role_definition_name": str},
}
TOP_KEYS = (
    "version",
    "defaults",
    "identities",
    "teams",
    "entitlements",
    "notify",
    "request_ttl",
    "audit",
)
AUDIT_KEYS = ("signers", "github_keys", "github_bots")
REPO_PATH_RE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
ENTITLEMENT_KEYS = (
    "description",
    "module",
    "target",
    "max_duration",
    "approvers",
    "min_approvals",
    "approvals",
    "requesters",
    "break_glass",
)
ENTITLEMENT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
TEAM_RE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
BUILTIN_MAX_DURATION = timedelta(hours=8)
BUILTIN_REQUEST_TTL = timedelta(hours=24)
URL_RE = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+")
ENV_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
# the credentials jitctl itself reads: never a notification URL (a catalog edit could otherwise
# send the GitHub token or the App key to a webhook)
CREDENTIAL_ENV = frozenset(
    {
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "JITCTL_APP_ID",
        "JITCTL_APP_PRIVATE_KEY",
        "JITCTL_APP_PRIVATE_KEY_FILE",
        "JITCTL_APP_INSTALLATION_ID",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
    }
)
MAX_CATALOG_BYTES = 1024 * 1024
# YAML aliases let a few lines expand into billions of values ("billion laughs"): the catalog's
# node tree is walked with aliases expanded, and stops at this many values (a real catalog with
# thousands of entitlements has tens of thousands)
MAX_CATALOG_NODES = 200_000


class _TooLarge(Exception):
    pass


class _Lines:
    """Key path -> line number, and duplicate keys, from the composed YAML node tree."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        self.duplicates: list[tuple[tuple[str, ...], int, int]] = []
        self.visited = 0

    def walk(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        import yaml

        self.visited += 1
        if self.visited > MAX_CATALOG_NODES:
            raise _TooLarge
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append(((*path, key), seen[key], line))
                seen.setdefault(key, line)
                self.lines[(*path, key)] = line
                self.walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, str(i)))


class _Validator:
    def __init__(self, source: str, lines: _Lines) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: tuple[str, ...], message: str) -> JitError:
        line = None
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines.lines:
                line = self.lines.lines[path[:n]]
                break
        where = f"{self.source}:{line}" if line else self.source
        key = ".".join(path) if path else "(top level)"
        return JitError(f"{where}: {key}: {message}", rule="catalog.invalid")

    def line_of(self, path: tuple[str, ...]) -> int | None:
        return self.lines.lines.get(path)

    def mapping(self, value: Any, path: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, not {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, not {_kind(key)} ({key!r})")
        return value

    def string(self, value: Any, path: tuple[str, ...], *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.fail(path, "must not be empty")
        return value

    def strings(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"must be a non-empty list of strings, not {_kind(value)}")
        return tuple(self.string(v, (*path, str(i))) for i, v in enumerate(value))

    def count(self, value: Any, path: tuple[str, ...]) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(path, f"must be a whole number of at least 1, not {value!r}")
        return value

    def duration(self, value: Any, path: tuple[str, ...]) -> timedelta:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a duration such as 30m, 8h or 1d, not {value!r}")
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None

    def only(
        self, value: Mapping[str, Any], allowed: tuple[str, ...], path: tuple[str, ...]
    ) -> None:
        for key in value:
            if key not in allowed:
                raise self.fail((*path, key), f"unknown key; expected one of: {', '.join(allowed)}")

    def who(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        names = self.strings(value, path)
        for i, name in enumerate(names):
            if not (TEAM_RE.fullmatch(name) or LOGIN_RE.fullmatch(name)):
                raise self.fail(
                    (*path, str(i)),
                    f"{name!r} is neither a GitHub login nor a team written as @org/team",
                )
        return names


def load_catalog(text: str | bytes, source: str = "catalog.yaml") -> Catalog:
    """Parse and validate a catalog. Raises JitError naming the file, line and key."""
    if isinstance(text, bytes):
        if len(text) > MAX_CATALOG_BYTES:
            raise JitError(f"{source}: larger than 1 MiB", rule="catalog.invalid")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JitError(f"{source}: not UTF-8 ({exc})", rule="catalog.invalid") from None
    problem = invisible_problem(text, "\n\t")
    if problem is not None:
        bad = first_invisible(text, "\n\t")
        line = f":{bad.line}" if bad is not None else ""
        raise JitError(
            f"{source}{line}: {problem}; a reviewer would not see it, remove it "
            "(comments included)",
            rule="catalog.invalid",
        )
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise JitError(
            f"{where}: YAML syntax error: {exc.problem}", rule="catalog.syntax"
        ) from None
    except yaml.YAMLError as exc:
        raise JitError(f"{source}: YAML error: {exc}", rule="catalog.syntax") from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise JitError(f"{source}: unreadable YAML: {exc}", rule="catalog.syntax") from None
    lines = _Lines()
    if node is not None:
        try:
            lines.walk(node, ())
        except _TooLarge:
            raise JitError(
                f"{source}: expands to more than {MAX_CATALOG_NODES:,} values (YAML aliases "
                "nested in aliases?); write the catalog out",
                rule="catalog.invalid",
            ) from None
    v = _Validator(source, lines)
    if lines.duplicates:
        path, first, second = lines.duplicates[0]
        raise v.fail(
            path,
            f"set twice (lines {first} and {second}); YAML keeps only the last, so say it once",
        )
    _visible(v, data, ())
    return _catalog(v, data)


def _visible(v: _Validator, data: Any, path: tuple[str, ...]) -> None:
    """Refuse invisible characters in every key and string value, escapes decoded."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            kpath = (*path, str(key))
            if isinstance(key, str) and first_invisible(key) is not None:
                raise v.fail(kpath, f"the key {key!r} holds {_invisible(key, '')}")
            _visible(v, value, kpath)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _visible(v, item, (*path, str(i)))
    elif isinstance(data, str):
        allow = "\n\t" if path[-1:] == ("description",) else ""
        if first_invisible(data, allow) is not None:
            raise v.fail(path, f"the value {data!r} holds {_invisible(data, allow)}")


def _invisible(text: str, allow: str) -> str:
    problem = invisible_problem(text, allow) or ""
    return problem.split(" at line ", 1)[0] + "; write it with visible characters only"


def _catalog(v: _Validator, data: Any) -> Catalog:
    if data is None:
        raise v.fail((), "the catalog is empty")
    top = v.mapping(data, ())
    v.only(top, TOP_KEYS, ())
    if top.get("version") != 1:
        raise v.fail(("version",), f"must be 1, not {top.get('version')!r}")

    defaults = v.mapping(top.get("defaults") or {}, ("defaults",))
    v.only(defaults, ("max_duration", "min_approvals"), ("defaults",))
    default_max = (
        v.duration(defaults["max_duration"], ("defaults", "max_duration"))
        if "max_duration" in defaults
        else BUILTIN_MAX_DURATION
    )
    default_min = (
        v.count(defaults["min_approvals"], ("defaults", "min_approvals"))
        if "min_approvals" in defaults
        else 1
    )

    identities: dict[str, tuple[str, ...]] = {}
    for login, principals in v.mapping(top.get("identities") or {}, ("identities",)).items():
        if not LOGIN_RE.fullmatch(login):
            raise v.fail(("identities", login), "is not a GitHub login")
        identities[login] = v.strings(principals, ("identities", login))

    teams: dict[str, tuple[str, ...]] = {}
    for team, members in v.mapping(top.get("teams") or {}, ("teams",)).items():
        if not TEAM_RE.fullmatch(team):
            raise v.fail(("teams", team), "a team is written as @org/team")
        logins = v.strings(members, ("teams", team))
        for i, login in enumerate(logins):
            if not LOGIN_RE.fullmatch(login):
                raise v.fail(("teams", team, str(i)), f"{login!r} is not a GitHub login")
        teams[team] = logins

    if "entitlements" not in top:
        raise v.fail(("entitlements",), "is missing; the catalog must list its entitlements")
    entitlements: dict[str, Entitlement] = {}
    for name, body in v.mapping(top["entitlements"] or {}, ("entitlements",)).items():
        path = ("entitlements", name)
        if not ENTITLEMENT_NAME_RE.fullmatch(name):
            raise v.fail(path, "an entitlement name is lower-case letters, digits, . _ -")
        entitlements[name] = _entitlement(v, name, body, path, default_max, default_min)
    if not entitlements:
        raise v.fail(("entitlements",), "must list at least one entitlement")
    request_ttl = (
        v.duration(top["request_ttl"], ("request_ttl",))
        if "request_ttl" in top
        else BUILTIN_REQUEST_TTL
    )
    return Catalog(
        version=1,
        default_max_duration=default_max,
        default_min_approvals=default_min,
        identities=identities,
        teams=teams,
        entitlements=entitlements,
        notify=_notify(v, top.get("notify")),
        request_ttl=request_ttl,
        audit=_audit(v, top.get("audit")),
    )


def _notify(v: _Validator, value: Any) -> tuple[NotifyTarget, ...]:
    """``notify: [{url | url_env, events}]``: where jitctl tells people what happens."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise v.fail(
            ("notify",), f"must be a list of {{url or url_env, events}}, not {_kind(value)}"
        )
    out: list[NotifyTarget] = []
    for i, item in enumerate(value):
        path = ("notify", str(i))
        item = v.mapping(item, path)
        v.only(item, ("url", "url_env", "events"), path)
        if ("url" in item) == ("url_env" in item):
            raise v.fail(path, "give exactly one of url (not a secret) or url_env (a secret URL)")
        url = env = None
        if "url" in item:
            url = v.string(item["url"], (*path, "url"))
            if not URL_RE.fullmatch(url):
                raise v.fail((*path, "url"), f"{url!r} is not a URL such as https://host/path")
        else:
            env = v.string(item["url_env"], (*path, "url_env"))
            if not ENV_NAME_RE.fullmatch(env):
                raise v.fail((*path, "url_env"), f"{env!r} is not an environment variable name")
            if env in CREDENTIAL_ENV:
                raise v.fail(
                    (*path, "url_env"), f"{env} holds a jitctl credential, never a notification URL"
                )
        events = frozenset(NOTIFY_EVENTS)
        if "events" in item:
            names = v.strings(item["events"], (*path, "events"))
            for j, name in enumerate(names):
                if name not in NOTIFY_EVENTS:
                    raise v.fail(
                        (*path, "events", str(j)),
                        f"unknown event {name!r}; events: {', '.join(NOTIFY_EVENTS)}",
                    )
            events = frozenset(names)
        out.append(NotifyTarget(url, env, events, v.line_of(path)))
    return tuple(out)


def _break_glass(
    v: _Validator, value: Any, path: tuple[str, ...], max_duration: timedelta
) -> BreakGlass:
    body = v.mapping(value, path)
    v.only(body, ("max_duration", "review_within"), path)
    for key in ("max_duration", "review_within"):
        if key not in body:
            raise v.fail((*path, key), "is missing")
    bg_max = v.duration(body["max_duration"], (*path, "max_duration"))
    if bg_max > max_duration:
        raise v.fail(
            (*path, "max_duration"),
            "must not be longer than the entitlement's own max_duration",
        )
    return BreakGlass(bg_max, v.duration(body["review_within"], (*path, "review_within")))


def _audit(v: _Validator, value: Any) -> AuditTrust:
    """The ``audit`` key: the files and identities the audit trusts as jitctl's own hand."""
    if value is None:
        return AuditTrust()
    body = v.mapping(value, ("audit",))
    v.only(body, AUDIT_KEYS, ("audit",))
    paths: dict[str, str | None] = {}
    for key in ("signers", "github_keys"):
        if key not in body:
            paths[key] = None
            continue
        path = v.string(body[key], ("audit", key))
        if not REPO_PATH_RE.fullmatch(path) or ".." in path.split("/"):
            raise v.fail(("audit", key), f"{path!r} is not a relative path in the repository")
        paths[key] = path
    bots: tuple[str, ...] = ()
    if "github_bots" in body:
        bots = v.strings(body["github_bots"], ("audit", "github_bots"))
        for i, bot in enumerate(bots):
            if not (LOGIN_RE.fullmatch(bot) and bot.endswith("[bot]")):
                raise v.fail(
                    ("audit", "github_bots", str(i)),
                    f"{bot!r} is not a GitHub App bot login such as jitctl[bot]",
                )
    if bots and paths["github_keys"] is None:
        raise v.fail(("audit", "github_bots"), "needs github_keys (GitHub's signing key)")
    return AuditTrust(signers=paths["signers"], github_keys=paths["github_keys"], github_bots=bots)


def _entitlement(
    v: _Validator,
    name: str,
    body: Any,
    path: tuple[str, ...],
    default_max: timedelta,
    default_min: int,
) -> Entitlement:
    body = v.mapping(body, path)
    v.only(body, ENTITLEMENT_KEYS, path)
    for key in ("description", "module", "target"):
        if key not in body:
            raise v.fail((*path, key), "is missing")
    description = v.string(body["description"], (*path, "description"))
    module = v.string(body["module"], (*path, "module"))
    if module not in MODULES:
        raise v.fail((*path, "module"), f"{module!r} is not one of: {', '.join(MODULES)}")
    target = dict(v.mapping(body["target"], (*path, "target")))
    shape = MODULES[module]
    v.only(target, tuple(shape), (*path, "target"))
    for key, kind in shape.items():
        kpath = (*path, "target", key)
        if key not in target:
            raise v.fail(kpath, f"is missing; module {module} needs it")
        if kind is list:
            v.strings(target[key], kpath)
        else:
            v.string(target[key], kpath)
    max_duration = (
        v.duration(body["max_duration"], (*path, "max_duration"))
        if "max_duration" in body
        else default_max
    )
    if module == "azure-pim" and not AZURE_PIM_MIN_WINDOW <= max_duration <= AZURE_PIM_MAX_WINDOW:
        raise v.fail(
            (*path, "max_duration") if "max_duration" in body else path,
            f"{format_duration(max_duration)} is not a window Azure PIM accepts under every role "
            f"management policy: give {format_duration(AZURE_PIM_MIN_WINDOW)} to "
            f"{format_duration(AZURE_PIM_MAX_WINDOW)} (an assignment lasts at least 5 minutes; "
            "the strictest policy ends active assignments after 15 days)",
        )
    has_short = "approvers" in body
    if has_short and "approvals" in body:
        raise v.fail(path, "give either approvers (+ min_approvals) or approvals, not both")
    if "min_approvals" in body and not has_short:
        raise v.fail((*path, "min_approvals"), "goes with approvers")
    rules: list[ApprovalRule] = []
    if has_short:
        who = v.who(body["approvers"], (*path, "approvers"))
        count = (
            v.count(body["min_approvals"], (*path, "min_approvals"))
            if "min_approvals" in body
            else default_min
        )
        rules.append(ApprovalRule(from_=who, count=count))
    elif "approvals" in body:
        items = body["approvals"]
        if not isinstance(items, list) or not items:
            raise v.fail((*path, "approvals"), "must be a non-empty list of {from, count}")
        for i, item in enumerate(items):
            ipath = (*path, "approvals", str(i))
            item = v.mapping(item, ipath)
            v.only(item, ("from", "count"), ipath)
            if "from" not in item:
                raise v.fail((*ipath, "from"), "is missing")
            who = v.who(item["from"], (*ipath, "from"))
            count = v.count(item["count"], (*ipath, "count")) if "count" in item else default_min
            rules.append(ApprovalRule(from_=who, count=count))
    else:
        raise v.fail(path, "has no approval rule; give approvers (+ min_approvals) or approvals")
    requesters = v.who(body["requesters"], (*path, "requesters")) if "requesters" in body else None
    break_glass = (
        _break_glass(v, body["break_glass"], (*path, "break_glass"), max_duration)
        if "break_glass" in body
        else None
    )
    return Entitlement(
        name=name,
        description=description,
        module=module,
        target=target,
        max_duration=max_duration,
        approvals=tuple(rules),
        requesters=requesters,
        break_glass=break_glass,
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
