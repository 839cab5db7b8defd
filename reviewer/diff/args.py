"""``git diff``-style arguments → a ``DiffSpec``; anything this reviewer would misread is rejected."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reviewer.diff.records import DiffSpec, _Base
from reviewer.errors import BadInput

_USAGE_HINT = "use one of: REV, A..B, A...B, A B, REV^!, --staged [REV], --cached [REV], then -- PATHS"


def parse_diff_args(argv: Sequence[str]) -> DiffSpec:
    """Read ``git diff``-style arguments; reject anything this reviewer would misread."""
    staged = False
    revs: list[str] = []
    paths: tuple[str, ...] = ()
    for i, arg in enumerate(argv):
        if arg == "--":
            paths = tuple(argv[i + 1 :])
            break
        if arg in ("--staged", "--cached"):
            staged = True
        elif arg.startswith("-"):
            raise BadInput(f"unknown option {arg!r} for diff", hint=_USAGE_HINT)
        elif not arg.strip():
            raise BadInput("an empty revision was given", hint=_USAGE_HINT)
        else:
            revs.append(arg)
    if any(not p for p in paths):
        raise BadInput("an empty path was given after --", hint="name files or directories after --")

    args = (("--cached",) if staged else ()) + tuple(revs)
    old: str | None = None
    new: str | None = None
    base: _Base = "rev"
    if len(revs) > 2:
        raise BadInput(
            f"{len(revs)} revisions given; git would show a combined diff, which has no single new side",
            hint="review a merge commit against its first parent with MERGE^!",
        )
    if len(revs) == 2:
        if any(".." in r for r in revs):
            raise BadInput(f"cannot combine a range with another revision: {' '.join(revs)}",
                           hint=_USAGE_HINT)
        old, new = revs
        what = f"{new} against {old}"
    elif len(revs) == 1:
        rev = revs[0]
        parent = re.fullmatch(r"(.+)\^-(\d*)", rev)
        if "..." in rev:
            left, _, right = rev.partition("...")
            old, new, base = left or "HEAD", right or "HEAD", "merge-base"
            what = f"{new} against its merge base with {old}"
        elif ".." in rev:
            left, _, right = rev.partition("..")
            old, new = left or "HEAD", right or "HEAD"
            what = f"{new} against {old}"
        elif rev.endswith("^!") and len(rev) > 2:
            new, base = rev[:-2], "first-parent"
            what = f"commit {new} against its first parent"
        elif parent:
            new = parent.group(1)
            old = f"{new}^{parent.group(2) or '1'}"
            what = f"commit {new} against {old}"
        else:
            old = rev
            what = f"{'staged changes' if staged else 'working tree'} against {rev}"
    else:
        what = f"{'staged changes' if staged else 'working tree'} against HEAD"
    if staged and new is not None:
        raise BadInput(
            f"--staged compares the index with one revision, not with {' '.join(revs)}",
            hint="use `localreview diff --staged REV`, or drop --staged to compare two revisions",
        )
    if paths:
        what += f", limited to {', '.join(paths)}"
    return DiffSpec(args, paths, staged, what, old_rev=old, new_rev=new, base=base)
