"""The SQLite book and the files SQLite keeps beside it (-wal, -shm, -journal) hold patient data:
git never offers to commit them and the Docker build context never carries them."""

from __future__ import annotations

import fnmatch
import subprocess

import pytest

from receptionist.paths import REPO_ROOT

BOOK_FILES = [
    f"{folder}{name}{end}"
    for folder in ("", "data/")
    for name in ("receptionist.db", "book.sqlite", "book.sqlite3")
    for end in ("", "-wal", "-shm", "-journal")
]


@pytest.mark.parametrize("path", BOOK_FILES)
def test_git_ignores_the_book_and_its_companions(path: str):
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--quiet", path],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


def _docker_ignores(path: str, patterns: list[str]) -> bool:
    """Docker's rules for the patterns used here: `**/` is any depth (root included), a plain
    pattern matches from the root of the build context, and `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("**/"):
            hit = fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern[3:])
        else:
            hit = fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
        if hit:
            ignored = not negate
    return ignored


@pytest.mark.parametrize("path", BOOK_FILES)
def test_the_docker_build_context_leaves_out_the_book_and_its_companions(path: str):
    lines = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert _docker_ignores(path, patterns), f"{path} would be sent to the Docker build"


def test_the_docker_matcher_here_is_not_trivially_true():
    patterns = ["**/*.db", "outbox", "!.env.example", ".env.*"]
    assert not _docker_ignores("agent.py", patterns)
    assert _docker_ignores("outbox/message-1.json", patterns)
    assert not _docker_ignores(".env.example", patterns[:3])
