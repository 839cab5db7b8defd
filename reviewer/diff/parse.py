"""git diff → files and hunks, with the new-side line numbers that findings are anchored to.

``localreview diff ARGS`` reviews what ``git diff ARGS`` shows, with two deliberate
differences: no argument means *working tree against HEAD* (plain ``git diff`` compares
against the index, which would hide staged edits from the review), and ``MERGE^!`` reviews
a merge against its first parent (git would print a combined diff, which has no single
"new side" to anchor findings to).

git is run with explicit options so the user's configuration (``diff.noprefix``,
``color.ui=always``, ``diff.external``, ``diff.relative``, textconv drivers …) cannot
change the shape of the output we parse. File metadata comes from the NUL-separated raw
section (exact paths, modes, status), hunks from the patch section parsed by ``unidiff``.
No ``git.exc`` or ``unidiff`` exception leaves this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import git
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as _PatchHunk
from unidiff.patch import PatchedFile, PatchSet

from reviewer.diff.records import _ABSENT_MODE, _KINDS, DiffLine, DiffSpec, FileDiff, Hunk, Status
from reviewer.diff.revisions import resolve_sides
from reviewer.errors import EnvironmentFailure
from reviewer.git import run_git

_DIFF_OPTIONS = (
    "--patch-with-raw",  # one run gives both sections: no race with a changing working tree
    "-z",  # raw section: verbatim paths, NUL-terminated (the patch section is unaffected)
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",  # line numbers must be those of the file, not of a converted view
    "--no-relative",
    "--submodule=short",  # diff.submodule=log would print entries without a "diff --git" header
    "-M",
    "--unified=3",  # diff.context in the user's config must not change the hunks we budget
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


def collect_diff(repo: git.Repo, spec: DiffSpec, *, cwd: str | Path | None = None) -> tuple[FileDiff, ...]:
    """The files and hunks of the diff ``spec`` describes; () when nothing changed.

    ``cwd`` is the directory pathspecs are relative to, as for git itself (default: the
    repository root). Output paths are always relative to the root.
    """
    old, new = resolve_sides(repo, spec)
    argv = ["diff", *_DIFF_OPTIONS]
    if spec.staged:
        argv.append("--cached")
    argv.append(old)
    if new is not None:
        argv.append(new)
    argv += ["--", *spec.paths]
    out = run_git(repo, argv, cwd=cwd)
    entries, patch = _split_raw(out)
    try:
        # Decode ourselves: diff bodies may be in any encoding; "replace" keeps every line
        # break (ASCII) in place, so line numbers survive. StringIO splits on "\n" only.
        patched = list(PatchSet(patch.decode("utf-8", errors="replace")))
    except (UnidiffParseError, ValueError) as exc:
        raise EnvironmentFailure(
            f"could not parse the output of git diff: {exc}",
            hint="run `git diff` with the same arguments to check it; report the output if it looks normal",
        ) from exc
    return _assemble(entries, patched)


@dataclass(frozen=True)
class _RawEntry:
    status: str  # one letter: A C D M R T U X
    old_mode: str
    new_mode: str
    old_path: str
    new_path: str


def _split_raw(out: bytes) -> tuple[list[_RawEntry], bytes]:
    """Split ``--patch-with-raw -z`` output into raw entries and the patch text.

    Raw records are ``:oldmode newmode oldsha newsha STATUS\\0path\\0[path2\\0]``; an empty
    field ends the raw section.
    """
    entries: list[_RawEntry] = []
    pos = 0
    while pos < len(out) and out[pos : pos + 1] == b":":
        end = out.index(b"\0", pos)
        fields = out[pos + 1 : end].decode("ascii").split()
        old_mode, new_mode, status = fields[0], fields[1], fields[4][:1]
        pos = end + 1
        paths = []
        for _ in range(2 if status in "RC" else 1):
            end = out.index(b"\0", pos)
            paths.append(os.fsdecode(out[pos:end]))
            pos = end + 1
        entries.append(_RawEntry(status, old_mode, new_mode, paths[0], paths[-1]))
    if out[pos : pos + 1] == b"\0":
        pos += 1
    return entries, out[pos:]


def _assemble(entries: Sequence[_RawEntry], patched: Sequence[PatchedFile]) -> tuple[FileDiff, ...]:
    """Pair raw entries with patch entries. Both come from the same git run, in the same
    order; an unmerged path has no patch entry, and a type change (file ↔ symlink) has
    two: the deletion of the old and the creation of the new."""
    files: list[FileDiff] = []
    i = 0
    for entry in entries:
        if entry.status == "U":
            continue
        if i >= len(patched):
            break
        parts = [patched[i]]
        i += 1
        if (
            entry.status == "T"
            and i < len(patched)
            and parts[0].is_removed_file
            and patched[i].is_added_file
        ):
            parts.append(patched[i])
            i += 1
        files.append(_file_diff(entry, parts))
    if i != len(patched) or len(files) != sum(1 for e in entries if e.status != "U"):
        raise EnvironmentFailure(
            "git diff printed a file list and a patch that do not match",
            hint="run `git diff` with the same arguments to check it; report it if it looks normal",
        )
    return tuple(files)


def _file_diff(entry: _RawEntry, parts: Iterable[PatchedFile]) -> FileDiff:
    parts = list(parts)
    hunks = tuple(_hunk(h) for p in parts for h in p)
    is_binary = any(p.is_binary_file for p in parts)
    old_mode = None if entry.old_mode == _ABSENT_MODE else entry.old_mode
    new_mode = None if entry.new_mode == _ABSENT_MODE else entry.new_mode
    status: Status
    if entry.status == "D":
        status = "deleted"
    elif is_binary:
        status = "binary"
    elif entry.status in "AC":
        status = "added"
    elif entry.status == "R":
        status = "renamed"
    elif not hunks and old_mode != new_mode:
        status = "mode"
    else:
        status = "modified"
    return FileDiff(
        path=entry.old_path if entry.status == "D" else entry.new_path,
        old_path=None if entry.status in "AC" else entry.old_path,
        status=status,
        is_binary=is_binary,
        hunks=hunks,
        old_mode=old_mode,
        new_mode=new_mode,
    )


def _hunk(h: _PatchHunk) -> Hunk:
    lines: list[DiffLine] = []
    for ln in h:
        kind = _KINDS.get(ln.line_type)
        if kind is None:
            continue  # "\ No newline at end of file" and blank separators are not file lines
        text = ln.value
        if text.endswith("\n"):
            text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
        lines.append(DiffLine(kind, ln.source_line_no, ln.target_line_no, text))
    return Hunk(
        old_start=h.source_start,
        old_len=h.source_length,
        new_start=h.target_start,
        new_len=h.target_length,
        header=h.section_header.rstrip("\r"),
        lines=tuple(lines),
    )
