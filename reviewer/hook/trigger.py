"""When the hook reviews: what pre-commit asks about, whether it adds a line, and the change's fingerprint.

Plain git through subprocess, nothing heavy imported: an empty commit must cost milliseconds."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewer import git

HOOK_IDS = frozenset({"localreview", "localreview-system"})


def skipped(environ: Mapping[str, str]) -> bool:
    """pre-commit skips the hook ids in ``SKIP`` itself; honouring it here too makes
    ``SKIP=localreview`` work for the ``localreview-system`` id and for plain git hooks."""
    return bool({s.strip() for s in environ.get("SKIP", "").split(",")} & HOOK_IDS)


def diff_args(environ: Mapping[str, str]) -> list[str]:
    """The ``git diff`` arguments of the change pre-commit is asking about."""
    for old, new in (("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"), ("PRE_COMMIT_ORIGIN", "PRE_COMMIT_SOURCE")):
        a, b = environ.get(old, "").strip(), environ.get(new, "").strip()
        if a and b:
            return [f"{a}..{b}"]
    return ["--staged"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return git.run(root, *args)


def _toplevel(cwd: Path) -> Path | None:
    try:
        proc = _git(cwd, "rev-parse", "--show-toplevel")
    except OSError:
        return None  # no git, or cwd gone: the full path says so properly
    if proc.returncode != 0:
        return None
    return Path(os.fsdecode(proc.stdout.strip()))


def changes_lines(root: Path, args: Sequence[str]) -> bool:
    """Whether the change adds or removes a line in a file that stays: git's numstat, read
    without gitpython (a removed guard is reviewed too; a deleted file is not, it has no new
    side). Binaries (counted "-") and pure mode changes change none. Any doubt (an error) says
    True, and the full path then reports the error as the diff command would."""
    if args == ["--staged"]:
        revs = ["--cached"]
    else:
        old, _, new = args[0].partition("..")
        if old.startswith("-") or new.startswith("-"):
            return True  # never let a ref reach git as an option; parse_diff_args rejects it
        revs = [old, new]
    proc = _git(root, "-c", "color.ui=never", "-c", "color.diff=never", "diff", "--numstat", "-z", "--no-renames",
                "--no-ext-diff", "--no-textconv", "--ignore-submodules=all", "--diff-filter=d", *revs, "--")
    if proc.returncode != 0:
        return True
    for record in proc.stdout.split(b"\0"):
        counts = record.split(b"\t", 2)[:2]
        if any(n.isdigit() and int(n) > 0 for n in counts):
            return True
    return False


def change_fingerprint(root: Path, args: Sequence[str]) -> dict[str, Any] | None:
    """Everything a review plan reads, as git hashes it; None when git cannot say (then no cache).

    - ``index``: ``git write-tree``, the hash of every staged file: the new side of a staged
      review, and the text the planner takes context from;
    - ``head``, ``old``/``new``: the commits a range is reviewed between;
    - ``dirty``: without an index the planner also reads the working tree (unchanged files, for
      symbols and callers), so each path that differs from the index, or is untracked, adds its
      size and mtime. Paths merely staged add nothing: their content is in ``index`` already,
      and pre-commit rewrites them (stash, restore) on every run.
    """
    tree = _git(root, "write-tree")
    if tree.returncode != 0:
        return None  # an unmerged index has no tree: review without a cache
    parts: dict[str, Any] = {"args": list(args), "index": tree.stdout.decode().strip(),
                             "head": _commit(root, "HEAD") or "unborn"}
    if args != ["--staged"]:
        old, _, new = args[0].partition("..")
        parts["old"], parts["new"] = _commit(root, old), _commit(root, new)
        if parts["old"] is None or parts["new"] is None:
            return None  # the full path reports the unknown revision
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
                  "--ignore-submodules=all")
    if status.returncode != 0:
        return None
    dirty: list[list[Any]] = []
    for record in status.stdout.split(b"\0"):
        if len(record) < 4 or record[1:2] == b" ":
            continue
        rel = os.fsdecode(record[3:])
        try:
            st = (root / rel).lstat()
            dirty.append([rel, st.st_size, st.st_mtime_ns])
        except OSError:
            dirty.append([rel, None, None])
    parts["dirty"] = sorted(dirty)
    return parts


def _commit(root: Path, rev: str) -> str | None:
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return proc.stdout.decode().strip() if proc.returncode == 0 else None
