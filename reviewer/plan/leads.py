"""The header of a hunk's enclosing definitions, shown inside the diff above the hunk.

A hunk deep in a function shows neither the function's name nor its parameters. The rule is
that every hunk's enclosing definition is present, at least as its header (and the docstring's
first line) beside the changed region; shown as unchanged context lines of the diff itself, they
cost their text only, where a context item of its own costs its data markers too. A class's
other members' signatures stay a context item (``reviewer.plan.packing``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from index.model import FileAnalysis
from reviewer.diff.records import removal_runs
from reviewer.plan import skeleton
from reviewer.plan.prompt import DiffPart
from reviewer.plan.records import ContextItem


def with_leads(part: DiffPart, text: str | None, analysis: FileAnalysis | None) -> DiffPart:
    """``part`` with, above each hunk, the header lines of the definitions around its first changed
    line (outermost first, the innermost's docstring line too) that no hunk of the part shows."""
    if not text or analysis is None or not analysis.definitions:
        return part
    lines = text.splitlines()
    shown = {n for h in part.hunks for n in range(h.new_range[0], h.new_range[1] + 1)}
    leads: list[tuple[tuple[int, str], ...]] = []
    for h in part.hunks:
        changed = min((*h.added_lines, *(a for a, _ in removal_runs(h))), default=h.new_start)
        chain = sorted((d for d in analysis.definitions if d.kind != "module"
                        and d.start_line <= changed <= d.end_line and d.start_line < h.new_start),
                       key=lambda d: (d.start_line, -d.end_line))
        wanted: list[int] = []
        for i, d in enumerate(chain):
            end = min(d.end_line, len(lines))
            first, last = skeleton.signature(lines, max(1, d.start_line), end)
            wanted += range(first, last + 1)
            doc = skeleton.docstring_line(lines, last, end) if i == len(chain) - 1 else None
            if doc is not None:
                wanted.append(doc)
        rows = tuple((n, lines[n - 1]) for n in sorted(set(wanted)) if n < h.new_start and n not in shown)
        shown.update(n for n, _ in rows)
        leads.append(rows)
    return part if not any(leads) else dataclasses.replace(part, leads=tuple(leads))


def lead_spans(part: DiffPart) -> list[tuple[int, int]]:
    """The lead lines as runs of consecutive lines, to count as shown by the diff."""
    out: list[tuple[int, int]] = []
    for n in sorted(n for rows in part.leads for n, _ in rows):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def lead_items(part: DiffPart, count: Callable[[str], int]) -> list[ContextItem]:
    """The part's lead lines as the plan's records (``leads`` of a batch in the plan JSON), one per
    run of consecutive lines: what each shows and costs, though they are sent inside the diff."""
    text_of = {n: line for rows in part.leads for n, line in rows}
    starts = {h.new_start for h in part.hunks}
    out: list[ContextItem] = []
    for s, e in lead_spans(part):
        # as rendered: the numbered lines, and a gap line unless the hunk follows (``render_hunks``)
        gap = "" if e + 1 in starts else f"\n{'...':>6}"
        text = "\n".join(f"{n:>6}   {text_of[n]}" for n in range(s, e + 1)) + gap
        out.append(ContextItem(part.path, s, e, f"{part.path}:{s} enclosing header", "enclosing", count(text), text,
                               "lead", ((s, e),)))
    return out
