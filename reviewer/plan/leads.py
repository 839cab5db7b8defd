"""The header of a hunk's enclosing definitions, shown inside the diff above the hunk.

A hunk deep in a function shows neither the function's name nor its parameters. The rule is
that every hunk's enclosing definition is present, at least as its header (and the docstring's
first line) beside the changed region; shown as unchanged context lines of the diff itself, they
cost their text only, where a context item of its own costs its data markers too. A class's
other members' signatures stay a context item (``reviewer.plan.packing``).
"""

from __future__ import annotations

import dataclasses

from index.model import FileAnalysis
from reviewer.diff.records import removal_runs
from reviewer.plan import skeleton
from reviewer.plan.prompt import DiffPart


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
            # An outer definition named by git's own hunk header need not be repeated; the innermost
            # is always shown, with its line numbers, as the enclosing definition of the hunk.
            if i == len(chain) - 1 or first != last or lines[first - 1].strip() != h.header.strip():
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
