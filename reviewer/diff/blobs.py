"""Reading the new side of a file: working tree, index or commit."""

from __future__ import annotations

import os
from pathlib import Path

import git

from reviewer.diff.records import _UNREVIEWABLE_MODES, DiffSpec
from reviewer.diff.revisions import repo_root, resolve_sides
from reviewer.errors import EnvironmentFailure
from reviewer.git import run_git, translate_error

_BINARY_SNIFF = 8000  # git's own heuristic: a NUL in the first 8000 bytes means binary


def new_side_text(
    repo: git.Repo,
    spec: DiffSpec,
    path: str,
    *,
    cwd: str | Path | None = None,
    sides: tuple[str, str | None] | None = None,
) -> str | None:
    """Text of the new side of ``path`` (repo-relative): the working-tree file, the staged
    blob for --staged, or the blob in the newer commit. None when it does not exist there,
    is binary, or is a symlink or submodule (nothing to read as source)."""
    _, new = sides if sides is not None else resolve_sides(repo, spec)
    data: bytes | None
    if new is not None:
        data = _commit_blob(repo, new, path)
    elif spec.staged:
        data = _index_blob(repo, path)
    else:
        data = _worktree_file(repo_root(repo), path)
    if data is None or b"\0" in data[:_BINARY_SNIFF]:
        return None
    return data.decode("utf-8", errors="replace")


def _commit_blob(repo: git.Repo, commit: str, path: str) -> bytes | None:
    try:
        obj = repo.commit(commit).tree.join(path)
    except KeyError:
        return None  # not in that commit: the file was deleted
    except git.exc.GitError as exc:
        raise translate_error(exc, f"read {path} at {commit}") from exc
    except ValueError as exc:  # gitpython's word for an object it cannot read
        raise EnvironmentFailure(f"could not read {path} at {commit}: {exc}", hint="run `git fsck`") from exc
    if obj.type != "blob" or f"{obj.mode:o}" in _UNREVIEWABLE_MODES:
        return None
    data: bytes = obj.data_stream.read()
    return data


def _index_blob(repo: git.Repo, path: str) -> bytes | None:
    # :(literal) so a name with glob characters matches only itself.
    out = run_git(repo, ["ls-files", "--stage", "-z", "--", f":(literal){path}"])
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        if os.fsdecode(name) != path:
            continue
        mode, sha, stage = meta.decode("ascii").split()
        if stage != "0" or mode in _UNREVIEWABLE_MODES:
            return None  # a conflicted path has no single staged version
        return run_git(repo, ["cat-file", "blob", sha])
    return None


def _worktree_file(root: Path, path: str) -> bytes | None:
    target = root / path
    if target.is_symlink() or not target.is_file():
        return None
    try:
        return target.read_bytes()
    except OSError:
        return None
