"""Line bookkeeping: building an ``AnalyzerInput`` from diff hunks, keeping a hit only on the
lines a diff changes, and rebuilding the old side so removed guards can be matched in context."""

from __future__ import annotations

from collections.abc import Iterable

from reviewer.analyzers.records import AnalyzerInput, Removal
from reviewer.diff.records import Hunk, removal_runs, text_lines


def input_from_hunks(path: str, language: str | None, new_text: str, hunks: Iterable[Hunk]) -> AnalyzerInput:
    """The analyzer input of one file of the diff: its "+" lines, and each run of "-" lines
    anchored at the new-side line that now stands where they were."""
    total = len(text_lines(new_text))
    added = {ln.new_lineno for h in hunks for ln in h.lines if ln.kind == "+" and ln.new_lineno is not None}
    removals = [Removal(min(anchor, max(total, 1)), tuple(r.text for r in run), run[0].old_lineno or 1)
                for h in hunks for anchor, run in removal_runs(h)]
    return AnalyzerInput(path, language, new_text, frozenset(added), tuple(removals))


def anchor_span(start: int, end: int, allowed: frozenset[int]) -> tuple[int, int] | None:
    """``[start, end]`` pulled in to the changed lines inside it, or None when it has none.
    Both ends of the result are lines of ``allowed``."""
    end = max(start, end)
    inside = [n for n in range(start, end + 1) if n in allowed] if end - start < 400 else sorted(
        n for n in allowed if start <= n <= end)
    if not inside:
        return None
    return inside[0], inside[-1]


def old_side(item: AnalyzerInput) -> tuple[list[str], dict[int, int]] | None:
    """The old side's lines and, for each removed old line, its new-side anchor; None when
    the input is not a complete account of the file's change (then it cannot be rebuilt)."""
    new_lines = text_lines(item.new_text)
    removed: dict[int, str] = {}
    anchor_of: dict[int, int] = {}
    for r in item.removals:
        for k, text in enumerate(r.old_lines):
            removed[r.old_start + k] = text
            anchor_of[r.old_start + k] = r.anchor_line
    kept = [text for n, text in enumerate(new_lines, 1) if n not in item.added]
    total = len(kept) + len(removed)
    if any(n < 1 or n > total for n in removed):
        return None
    old: list[str] = []
    pending = iter(kept)
    for n in range(1, total + 1):
        if n in removed:
            old.append(removed[n])
        else:
            old.append(next(pending))
    return old, anchor_of
