"""The retry policy: what is repeated, how long it waits, and what becomes Uncertain."""

from __future__ import annotations

import pytest

from controller.core.errors import JitError
from controller.github.forge import ForgeConfig
from controller.github.retry import CallKind, Failure, RetryPolicy, Uncertain, call_with_retry


class Boom(Exception):
    def __init__(self, failure: Failure, wait: float | None = None) -> None:
        super().__init__(failure.value)
        self.failure, self.wait = failure, wait


def classify(exc: BaseException) -> tuple[Failure, float | None]:
    assert isinstance(exc, Boom)
    return exc.failure, exc.wait


def flaky(*failures: Boom) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return calls, fn


@pytest.mark.parametrize(
    ("kind", "failure", "retried"),
    [
        (CallKind.READ, Failure.TRANSIENT, True),
        (CallKind.IDEMPOTENT, Failure.TRANSIENT, True),
        (CallKind.UNSAFE, Failure.TRANSIENT, False),  # a create or merge: never blindly
        (CallKind.UNSAFE, Failure.RATE_LIMITED, True),  # not processed: safe to repeat
        (CallKind.READ, Failure.RATE_LIMITED, True),
    ],
)
def test_what_is_retried(kind: CallKind, failure: Failure, retried: bool) -> None:
    waits: list[float] = []
    calls, fn = flaky(Boom(failure, 5.0))
    policy = RetryPolicy(sleep=waits.append)
    if retried:
        assert call_with_retry(policy, kind, "x", fn, classify) == "ok"  # type: ignore[arg-type]
        assert len(calls) == 2
    else:
        with pytest.raises(Uncertain):
            call_with_retry(policy, kind, "x", fn, classify)  # type: ignore[arg-type]
        assert len(calls) == 1 and waits == []


def test_final_failures_propagate_and_retry_after_is_capped() -> None:
    _calls, fn = flaky(Boom(Failure.FINAL))
    with pytest.raises(Boom):
        call_with_retry(RetryPolicy(sleep=lambda s: None), CallKind.READ, "x", fn, classify)  # type: ignore[arg-type]
    waits: list[float] = []
    _calls, fn = flaky(Boom(Failure.RATE_LIMITED, 3600.0), Boom(Failure.TRANSIENT))
    policy = RetryPolicy(sleep=waits.append, retry_after_cap=30.0, backoff=1.0)
    assert call_with_retry(policy, CallKind.READ, "x", fn, classify) == "ok"  # type: ignore[arg-type]
    assert waits[0] == 30.0 and 1.0 <= waits[1] <= 2.0  # 2nd backoff: 2s, jittered


def test_attempts_are_bounded() -> None:
    calls, fn = flaky(*[Boom(Failure.TRANSIENT)] * 10)
    with pytest.raises(Uncertain):
        call_with_retry(
            RetryPolicy(attempts=3, sleep=lambda s: None), CallKind.READ, "x", fn, classify
        )  # type: ignore[arg-type]
    assert len(calls) == 3


def test_config_from_env() -> None:
    base = {"GITHUB_REPOSITORY": "acme/access"}
    cfg = ForgeConfig.from_env({**base, "GITHUB_TOKEN": "t", "GITHUB_API_URL": "http://x/api/"})
    assert (cfg.token, cfg.api_url, cfg.app_id) == ("t", "http://x/api", None)
    app = ForgeConfig.from_env(
        {**base, "GITHUB_TOKEN": "t", "JITCTL_APP_ID": "7", "JITCTL_APP_PRIVATE_KEY": "k",
         "JITCTL_APP_INSTALLATION_ID": "9"}
    )  # fmt: skip
    assert (app.token, app.app_id, app.app_private_key, app.installation_id) == (None, 7, "k", 9)
    assert "k" not in repr(app) and "t" not in repr(cfg).split("token")[0][-3:]
    with pytest.raises(JitError, match="credentials"):
        ForgeConfig.from_env(base)
    with pytest.raises(JitError, match="GITHUB_REPOSITORY"):
        ForgeConfig.from_env({"GITHUB_TOKEN": "t"})


def test_expire_fetch_credentials_reach_git_but_not_config_or_argv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """git reads the token from GIT_CONFIG_* in its environment (checkout may not persist it)."""
    import base64
    import os
    import subprocess

    from controller.github.expire import git_auth_env

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = {**os.environ, **git_auth_env("ghs_secret")}
    out = subprocess.run(
        ["git", "config", "--get", "http.extraHeader"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "Authorization: Basic " + base64.b64encode(b"x-access-token:ghs_secret").decode()
    assert "ghs_secret" not in (tmp_path / ".git" / "config").read_text()
    assert git_auth_env(None) == {}
