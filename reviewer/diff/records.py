"""The records of a diff: lines, hunks, files, and the spec of which two sides are compared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_ABSENT_MODE = "000000"


_UNREVIEWABLE_MODES = ("120000", "160000")  # symlink target, submodule commit: no file text


LineKind = Literal["+", "-", " "]


Status = Literal["added", "deleted", "modified", "renamed", "mode", "binary"]


_Base = Literal["rev", "merge-base", "first-parent"]


_KINDS: dict[str, LineKind] = {"+": "+", "-": "-", " ": " "}


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    old_lineno: int | None
    new_lineno: int | None
    text: str  # without the line break and without a trailing CR


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str  # the section text after "@@ ... @@" (often the enclosing function)
    lines: tuple[DiffLine, ...]

    @property
    def added_lines(self) -> tuple[int, ...]:
        return tuple(ln.new_lineno for ln in self.lines if ln.kind == "+" and ln.new_lineno is not None)

    @property
    def new_range(self) -> tuple[int, int]:
        """1-based inclusive new-side span. git numbers a pure deletion by the line before
        it (0 at the top of the file); we clamp to 1 so the span always names a real line."""
        if self.new_len == 0:
            line = max(self.new_start, 1)
            return (line, line)
        return (self.new_start, self.new_start + self.new_len - 1)


@dataclass(frozen=True)
class FileDiff:
    path: str  # new-side path, repo-relative POSIX (the old path for a deleted file)
    old_path: str | None  # None for added files
    status: Status
    is_binary: bool
    hunks: tuple[Hunk, ...]
    old_mode: str | None
    new_mode: str | None

    @property
    def added_lines(self) -> tuple[int, ...]:
        return tuple(n for h in self.hunks for n in h.added_lines)

    @property
    def is_symlink(self) -> bool:
        return self.new_mode == "120000"

    @property
    def is_submodule(self) -> bool:
        return self.new_mode == "160000"


@dataclass(frozen=True)
class DiffSpec:
    args: tuple[str, ...]  # the git-diff arguments as the user gave them (normalised)
    paths: tuple[str, ...]  # pathspecs after --
    staged: bool
    description: str
    # How the two sides are derived; collect_diff resolves them against the repository.
    old_rev: str | None = None  # None: HEAD, or the empty tree while HEAD is unborn
    new_rev: str | None = None  # None: the index (staged) or the working tree
    base: _Base = "rev"


def text_lines(text: str) -> list[str]:
    """Lines numbered as git numbers them: split on "\\n" only, CR dropped. (str.splitlines
    also splits on form feeds, U+2028 and friends, which would shift every later line.)"""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def removal_runs(hunk: Hunk) -> list[tuple[int, tuple[DiffLine, ...]]]:
    """Each run of removed lines with its anchor: the new-side line that now stands where they
    were (the first line after them; the last line before them at the end of a hunk; 1 in a file
    left empty). A finding about a removed guard points there."""
    out: list[tuple[int, tuple[DiffLine, ...]]] = []
    run: list[DiffLine] = []
    last_new = 0
    for ln in [*hunk.lines, None]:
        if ln is not None and ln.kind == "-":
            run.append(ln)
            continue
        if run:
            after = ln.new_lineno if ln is not None else None
            out.append((max(after if after is not None else last_new, 1), tuple(run)))
            run = []
        if ln is not None and ln.new_lineno is not None:
            last_new = ln.new_lineno
    return out
