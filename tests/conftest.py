from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitutil import Repo, new_access_repo

pytest_plugins = ["tests.github_emulator.fixtures", "tests.webhook"]


@pytest.fixture
def access_repo(tmp_path: Path) -> Repo:
    """A real access repository (example catalog, empty grants/) with a bare origin."""
    return new_access_repo(tmp_path)
