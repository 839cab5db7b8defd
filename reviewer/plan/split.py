"""Splitting the diff into parts that fit one prompt, and grouping the parts into batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reviewer.diff.records import DiffLine, FileDiff, Hunk
from reviewer.plan.prompt import DiffPart, render_hunks

MARKER_TOKENS = 40  # the data markers around one block, counted generously


def _sub_hunk(h: Hunk, lines: Sequence[DiffLine]) -> Hunk:
    olds = [ln.old_lineno for ln in lines if ln.old_lineno is not None]
    news = [ln.new_lineno for ln in lines if ln.new_lineno is not None]
    return Hunk(
        old_start=olds[0] if olds else h.old_start, old_len=len(olds),
        new_start=news[0] if news else h.new_start, new_len=len(news),
        header=h.header, lines=tuple(lines),
    )


def _split_hunk(h: Hunk, cap: int, count: Callable[[str], int]) -> list[Hunk]:
    """A hunk too big for one prompt becomes consecutive windows of its lines."""
    out: list[Hunk] = []
    current: list[DiffLine] = []
    size = 0
    for ln in h.lines:
        cost = count(f"{ln.new_lineno or '':>6} {ln.kind} {ln.text}\n")
        if current and size + cost > cap:
            out.append(_sub_hunk(h, current))
            current, size = [], 0
        current.append(ln)
        size += cost
    if current:
        out.append(_sub_hunk(h, current))
    return [p for p in out if p.added_lines or any(ln.kind == "-" for ln in p.lines)] or out[:1]


def split_parts(f: FileDiff, cap: int, count: Callable[[str], int]) -> list[DiffPart]:
    """The file whole when it fits; else groups of hunks; a hunk too big, in windows."""
    whole = DiffPart(f.path, f.old_path, f.status, f.hunks)
    if count(whole.text) + MARKER_TOKENS <= cap:
        return [whole]
    hunks: list[Hunk] = []
    for h in f.hunks:
        if count(render_hunks([h])) + MARKER_TOKENS <= cap:
            hunks.append(h)
        else:
            hunks.extend(_split_hunk(h, cap - MARKER_TOKENS, count))
    parts: list[DiffPart] = []
    group: list[Hunk] = []
    for h in hunks:
        trial = [*group, h]
        if group and count(render_hunks(trial)) + MARKER_TOKENS > cap:
            parts.append(DiffPart(f.path, f.old_path, f.status, tuple(group)))
            group = [h]
        else:
            group = trial
    if group:
        parts.append(DiffPart(f.path, f.old_path, f.status, tuple(group)))
    return [p for p in parts if p.added or p.anchors]


def group_batches(parts: Sequence[DiffPart], cap: int, count: Callable[[str], int]) -> list[list[DiffPart]]:
    batches: list[list[DiffPart]] = []
    current: list[DiffPart] = []
    size = 0
    for p in parts:
        cost = count(p.text) + MARKER_TOKENS
        if current and size + cost > cap:
            batches.append(current)
            current, size = [], 0
        current.append(p)
        size += cost
    if current:
        batches.append(current)
    return batches


def planned_hunks(files: Sequence[FileDiff], parts: Sequence[DiffPart]) -> int:
    """How many of the files' hunks have a part planned: the windows of a split hunk lie inside
    its new-side range and count once."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for p in parts:
        ranges.setdefault(p.path, []).extend(h.new_range for h in p.hunks)
    return sum(1 for f in files for h in f.hunks
               if any(h.new_range[0] <= a and b <= h.new_range[1] for a, b in ranges.get(f.path, ())))
