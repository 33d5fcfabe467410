"""Hold every response the pygithub scenarios produced against GitHub's OpenAPI description.

The description is ``generated/api.github.com.json`` from the npm package @octokit/openapi
(installed by ``scripts/bootstrap`` through ``npm ci``). It is loaded once, with spec validation
off (validating the 13 MB document itself takes minutes; using it is instant).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from .fixtures import EmulatedGitHub
from .routes import ROUTER
from .state import Exchange
from .test_pygithub import SCENARIOS, Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = REPO_ROOT / "node_modules/@octokit/openapi/generated/api.github.com.json"
HOST = "https://api.github.com"

# Routes the emulator serves that GitHub's description does not list, and why.
NOT_IN_SPEC = {
    "GET /repos/{owner}/{repo}/statuses/{sha}": (
        "legacy listing that pygithub's Commit.get_statuses() calls; GitHub still serves it"
    ),
    "GET /repos/{owner}/{repo}/contents": (
        "the repository root; pygithub calls it for get_contents(''), the spec only has {path}"
    ),
}


@pytest.fixture(scope="module")
def spec_dict() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.fail(
            f"GitHub's OpenAPI description is missing ({SPEC.relative_to(REPO_ROOT)}): "
            "run scripts/bootstrap (it runs `npm ci`)",
            pytrace=False,
        )
    data: dict[str, Any] = json.loads(SPEC.read_text())
    return data


@pytest.fixture(scope="module")
def openapi(spec_dict: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(spec_dict, config=Config(spec_validator_cls=None))


def test_every_route_is_in_the_spec(spec_dict: dict[str, Any]) -> None:
    paths = spec_dict["paths"]
    missing = {
        f"{r.method} {r.template}"
        for r in ROUTER.routes
        if r.method.lower() not in paths.get(r.template, {})
    }
    assert missing == set(NOT_IN_SPEC)


def spec_path(exchange: Exchange) -> str:
    """The request path with each parameter URL-encoded, so that a ``/`` in a ref or a file
    path stays inside its template parameter when openapi-core matches the path."""
    assert exchange.route is not None
    path = exchange.route
    for name, value in exchange.params.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    return path


def check(openapi: OpenAPI, exchange: Exchange) -> str | None:
    data = b"" if exchange.response_body is None else json.dumps(exchange.response_body).encode()
    request = MockRequest(
        HOST,
        exchange.method.lower(),
        spec_path(exchange),
        args=dict(urllib.parse.parse_qsl(exchange.query)),
    )
    response = MockResponse(
        data,
        status_code=exchange.status,
        headers=exchange.response_headers,
        content_type="application/json" if data else "",
    )
    try:
        openapi.validate_response(request, response)
    except Exception as err:  # openapi-core raises a tree of errors; flatten it
        return f"{exchange.method} {exchange.path} -> {exchange.status}: {describe(err)}"
    return None


def describe(err: BaseException) -> str:
    parts = [f"{type(err).__name__}: {str(err)[:200]}"]
    cause = err.__cause__
    for inner in getattr(cause, "schema_errors", None) or getattr(err, "schema_errors", []):
        where = "/".join(str(p) for p in inner.absolute_path)
        parts.append(f"  at {where or '<root>'}: {inner.message[:300]}")
    if cause is not None and not getattr(cause, "schema_errors", None):
        parts.append(f"  cause: {type(cause).__name__}: {str(cause)[:300]}")
    return "\n".join(parts)


def spec_defect(exchange: Exchange) -> str | None:
    """Why the description cannot judge this (correct) response, or None."""
    if exchange.route == "/repos/{owner}/{repo}/contents/{path}" and isinstance(
        exchange.response_body, list
    ):
        # The 200 schema is a oneOf with a discriminator on "type"; one branch
        # (content-directory) is an array, which a discriminator cannot select, so a directory
        # listing never validates. The file case is checked.
        return "discriminator over an array branch (content-directory)"
    return None


def validated(exchanges: list[Exchange]) -> list[Exchange]:
    """What can be held against the spec: routed requests that no fault answered."""
    return [
        e
        for e in exchanges
        if e.route is not None
        and "X-Fault" not in e.response_headers
        and f"{e.method} {e.route}" not in NOT_IN_SPEC
        and spec_defect(e) is None
    ]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_responses_conform(
    scenario: Scenario, openapi: OpenAPI, github_emulator: EmulatedGitHub, tmp_path: Path
) -> None:
    scenario(github_emulator, tmp_path)
    exchanges = validated(github_emulator.emu.log)
    assert exchanges
    failures = [msg for msg in (check(openapi, e) for e in exchanges) if msg]
    assert not failures, "\n".join(failures)
