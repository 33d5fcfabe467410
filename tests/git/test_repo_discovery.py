"""GitRepo finds the repository with one ``git rev-parse`` (no GitPython on a read): it must find
the same repository, spelt the same way, as GitPython's ``Repo(path,
search_parent_directories=True)`` did (the oracle here), and refuse what it refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from controller.core.errors import JitError
from controller.git.repo import GitRepo
from tests.gitutil import Repo, git_env


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=git_env(), check=True, capture_output=True)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work clone (with a sub-folder, a linked work tree, a submodule), its bare origin, a
    symlink to the clone, and a folder and a file that are in no repository."""
    root = tmp_path_factory.mktemp("layouts")
    repo = Repo(root)
    repo.commit({"sub/deep/file.txt": "x"})
    _git(repo.path, "push", "-q", "origin", "HEAD:main")
    _git(repo.path, "worktree", "add", "-q", str(root / "linked"), "-b", "linked")
    (root / "linked" / "sub").mkdir(exist_ok=True)
    (root / "link").symlink_to(repo.path)
    super_ = root / "super"
    _git(root, "init", "-q", str(super_))
    _git(super_, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(repo.path), "m")
    _git(super_, "commit", "-q", "-m", "a submodule")
    (root / "plain").mkdir()
    (root / "plain" / "file").write_text("x")
    return root


@pytest.mark.parametrize(
    "where",
    [
        "work",
        "work/sub/deep",
        "work/.git",  # inside the git directory: GitPython's own answer
        "work/.git/refs",
        "linked",
        "linked/sub",
        "origin.git",
        "origin.git/refs",
        "link",
        "link/sub",
        "super",
        "super/m",
    ],
)
def test_finds_what_gitpython_found(
    layouts: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(k)
    path = layouts / where
    theirs = git.Repo(path, search_parent_directories=True)
    with GitRepo(path) as mine:
        assert mine.path == Path(theirs.working_tree_dir or theirs.git_dir)
        assert mine.git_dir == Path(theirs.git_dir)
        assert mine.common_dir.resolve() == Path(theirs.common_dir).resolve()
        assert mine.bare == theirs.bare
        assert mine.rev("HEAD") == theirs.head.commit.hexsha


def test_a_relative_path_is_taken_from_the_current_folder(
    layouts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(layouts / "work" / "sub")
    with GitRepo(".") as mine:
        assert mine.path == layouts / "work"
        assert mine.git_dir == layouts / "work" / ".git"


@pytest.mark.parametrize("where", ["plain", "plain/file", "missing"])
def test_no_repository_is_refused_as_before(layouts: Path, where: str) -> None:
    path = layouts / where
    with pytest.raises(JitError, match="not a git repository \\(give --repo\\)"):
        GitRepo(path)
    oracle = (git.InvalidGitRepositoryError, git.NoSuchPathError)
    with pytest.raises(oracle):
        git.Repo(path, search_parent_directories=True)


def test_a_git_error_keeps_gits_reason(layouts: Path) -> None:
    with GitRepo(layouts / "work") as repo, pytest.raises(JitError) as raised:
        repo.git("cat-file", "-p", "no-such-object")
    assert str(raised.value) == (
        "git cat-file -p no-such-object: fatal: Not a valid object name no-such-object [git]"
    )
    with pytest.raises(JitError, match=r"^unknown git ref 'nope' \[git\]$"):
        GitRepo(layouts / "work").rev("nope")


def test_a_read_imports_no_gitpython(layouts: Path) -> None:
    code = (
        "import sys\n"
        "from controller.git.repo import GitRepo\n"
        f"r = GitRepo({str(layouts / 'work' / 'sub')!r})\n"
        "r.entries('HEAD', 'sub'); r.default_branch(); r.current_branch(); r.rev('HEAD')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('git', 'gitdb')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_is_clean_judges_as_gitpython_did(tmp_path: Path) -> None:
    """Clean unless a tracked file changed (staged or not); untracked files do not count."""
    repo = Repo(tmp_path)

    def both() -> tuple[bool, bool]:
        with GitRepo(repo.path) as mine:
            theirs = git.Repo(repo.path).is_dirty(index=True, working_tree=True)
            return mine.is_clean(), not theirs

    (repo.path / "staged").write_text("x")  # no commit yet: staged against nothing
    repo.git("add", "staged")
    assert both() == (False, False)
    repo.git("commit", "-q", "-m", "one")
    assert both() == (True, True)
    (repo.path / "untracked").write_text("x")
    assert both() == (True, True)
    (repo.path / "staged").write_text("y")  # changed, not staged
    assert both() == (False, False)
    repo.git("add", "staged")  # staged
    assert both() == (False, False)
    repo.git("commit", "-q", "-m", "two")
    (repo.path / "staged").unlink()  # deleted
    assert both() == (False, False)
    repo.git("checkout", "-q", "--", "staged")
    assert both() == (True, True)
    with GitRepo(repo.origin) as bare:
        assert bare.bare and bare.is_clean()
