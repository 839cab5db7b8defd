"""The one way to run git: hardened ``-c`` settings so the user's configuration cannot change
what we parse, and git's failures translated into this tool's errors."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.errors import BadInput, ConfigError, EnvironmentFailure, NotARepository

# Config that would change what git prints; -c beats every config file, so the user's
# settings cannot break parsing. quotepath=off keeps non-ASCII names readable in headers.
HARDENED_CONFIG = (
    "core.quotepath=off",
    "diff.suppressBlankEmpty=false",
    "diff.mnemonicPrefix=false",
    "diff.noprefix=false",
    "color.ui=never",
    "color.diff=never",
)

if TYPE_CHECKING:
    import git


def _overrides() -> list[str]:
    return [arg for item in HARDENED_CONFIG for arg in ("-c", item)]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """git in ``cwd`` through a plain subprocess, with the hardened settings; the caller reads
    ``returncode``. No gitpython here: the hook's empty path and the file walk stay light."""
    return subprocess.run(["git", *_overrides(), *args], cwd=cwd, capture_output=True, check=False)


def run_git(
    repo: git.Repo, argv: Sequence[str], *, cwd: str | Path | None = None, stdin: int | None = None
) -> bytes:
    out = try_git(repo, argv, cwd=cwd, stdin=stdin, expect_failure=False)
    assert out is not None
    return out


def try_git(
    repo: git.Repo,
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    stdin: int | None = None,
    expect_failure: bool = True,
) -> bytes | None:
    """Run git; None when it fails and ``expect_failure`` (a query whose "no" is an exit code).
    Failures that no query expects (git missing, unsafe repository) are raised regardless."""
    import git

    overrides = _overrides()
    runner = repo.git if cwd is None else git.Git(str(cwd))
    try:
        out = runner.execute(
            [runner.GIT_PYTHON_GIT_EXECUTABLE or "git", *overrides, *argv],
            istream=stdin,
            stdout_as_string=False,
            strip_newline_in_stdout=False,  # a stripped final "\n" would truncate the last diff line
        )
    except git.exc.GitError as exc:
        error = translate_error(exc, f"run `git {argv[0]}`")
        if expect_failure and type(error) is BadInput:
            return None
        raise error from exc
    assert isinstance(out, bytes)
    return out


def stderr_of(exc: git.exc.GitError) -> str:
    # gitpython stores stderr pre-formatted as "\n  stderr: '...'"; keep only git's words.
    text = str(getattr(exc, "stderr", "") or "")
    match = re.search(r"stderr: '(.*)'\s*$", text, re.DOTALL)
    return (match.group(1) if match else text).strip()


def translate_error(exc: git.exc.GitError, doing: str) -> BadInput | EnvironmentFailure:
    import git

    if isinstance(exc, git.exc.GitCommandNotFound):
        return EnvironmentFailure("git is not installed or not on PATH", hint="install git and retry")
    stderr = stderr_of(exc)
    detail = stderr or str(exc)
    if "dubious ownership" in stderr:
        return ConfigError(
            f"git refuses to work in this repository: {detail}",
            hint="if you trust it: `git config --global --add safe.directory <path>`",
        )
    if "not a git repository" in stderr:
        return NotARepository(f"not a git repository: {detail}", hint="run localreview inside a git checkout")
    if "outside repository" in stderr:
        return BadInput(detail, hint="paths after -- must lie inside the repository being reviewed")
    if isinstance(exc, git.exc.GitCommandError):
        # A failing git command here is almost always caused by what was asked of it
        # (a pathspec outside the repository, a missing object), so it is bad input.
        return BadInput(
            f"could not {doing}: {detail}",
            hint="check the revisions and paths; `git diff` with the same arguments shows the same error",
        )
    return EnvironmentFailure(f"could not {doing}: {detail}", hint="check that the repository is readable")
