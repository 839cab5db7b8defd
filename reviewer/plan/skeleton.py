"""Skeletons: a definition too big for its share of the window, sent as its outline.

A skeleton keeps, in this order while it fits: the header (up to the end of the signature), the
first line of the docstring, the lines the change needs (the changed region, the members the
change uses, in full), the signatures of the other members, then the class's own field lines.
Elided runs are shown as one ``...`` line, so the model sees the shape and the line numbers stay
true. A module outline is the skeleton of a whole file: its top-level definitions' signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.model import Definition
from reviewer.plan.prompt import number_lines

GAP = "   ...   ..."
MAX_HEADER_LINES = 12


@dataclass(frozen=True)
class Skeleton:
    ranges: tuple[tuple[int, int], ...]  # 1-based inclusive, sorted, disjoint
    text: str
    tokens: int


def header_end(lines: Sequence[str], start: int, end: int) -> int:
    """The last line of a definition's header: its signature (after any decorators)."""
    first = None
    for n in range(start, min(end, start + MAX_HEADER_LINES) + 1):
        s = lines[n - 1].strip()
        if s.startswith("@") or not s:
            continue
        first = first or n
        code = s.split("#", 1)[0].split("//", 1)[0].rstrip()
        if code.endswith((":", "{", "=>")):
            return n
    return first or start


def signature(lines: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """The definition's own header lines, decorators left out: its first code line to its end."""
    last = header_end(lines, start, end)
    first = next((n for n in range(start, last + 1) if (t := lines[n - 1].strip()) and not t.startswith("@")),
                 start)
    return first, last


def docstring_line(lines: Sequence[str], after: int, end: int) -> int | None:
    for n in range(after + 1, min(end, after + 3) + 1):
        s = lines[n - 1].strip()
        if not s:
            continue
        if s[:4].lstrip("rRbBuUfF").startswith(('"""', "'''", '"', "'")):
            return n
        return None
    return None


def members_of(d: Definition, definitions: Sequence[Definition]) -> list[Definition]:
    """The definitions directly inside ``d`` (not inside one of its members)."""
    inner = [m for m in definitions if m is not d and d.start_line <= m.start_line and m.end_line <= d.end_line
             and (m.start_line, m.end_line) != (d.start_line, d.end_line)]
    inner.sort(key=lambda m: (m.start_line, -m.end_line))
    out: list[Definition] = []
    for m in inner:
        if out and out[-1].start_line <= m.start_line and m.end_line <= out[-1].end_line:
            continue
        out.append(m)
    return out


def _merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def render(lines: Sequence[str], ranges: Sequence[tuple[int, int]]) -> str:
    parts: list[str] = []
    merged = _merge(ranges)
    for i, (s, e) in enumerate(merged):
        if i and s > merged[i - 1][1] + 1:
            parts.append(GAP)
        parts.append(number_lines(lines[s - 1:e], s))
    return "\n".join(parts)


def build(lines: Sequence[str], d: Definition, definitions: Sequence[Definition], count: Callable[[str], int],
          max_tokens: int, *, focus: Sequence[tuple[int, int]] = (), used: frozenset[str] = frozenset(),
          module: bool = False, exclude: Sequence[tuple[int, int]] = ()) -> Skeleton | None:
    """The skeleton of ``d`` within ``max_tokens``, or None when not even its header fits.

    ``focus``: line ranges that must be kept (the changed region); ``used``: qualified names of
    members to send in full; ``module``: ``d`` stands for the whole file (an outline); ``exclude``: lines
    sent elsewhere, left out."""
    start, end = max(1, d.start_line), min(d.end_line, len(lines))
    if start > end:
        return None
    members = members_of(d, definitions)
    chosen: list[tuple[int, int]] = []
    if not module:
        h = header_end(lines, start, end)
        chosen.append((start, h))
        doc = docstring_line(lines, h, end)
        if doc is not None:
            chosen.append((doc, doc))
    wanted: list[tuple[int, int]] = [(max(start, s), min(end, e)) for s, e in focus if s <= end and e >= start]
    for m in members:
        if m.qualified_name in used:
            wanted.append((m.start_line, m.end_line))
    wanted += [(m.start_line, header_end(lines, m.start_line, m.end_line)) for m in members]
    if not module:
        wanted += _field_lines(lines, start, end, members)

    if exclude:
        def clear(r: tuple[int, int]) -> bool:
            return not any(r[0] <= e and s <= r[1] for s, e in exclude)

        chosen = [r for r in chosen if clear(r)]
        wanted = [r for r in wanted if clear(r)]
        if not chosen and not wanted:
            return None

    def cost(rs: Sequence[tuple[int, int]]) -> int:
        return count(render(lines, rs))

    if chosen and cost(chosen) > max_tokens:
        return None
    for r in wanted:
        trial = [*chosen, r]
        if cost(trial) <= max_tokens:
            chosen = trial
        elif r[1] > r[0]:  # too big whole: its first lines, as many as fit
            lo, hi = r[0], r[1]
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if cost([*chosen, (r[0], mid)]) <= max_tokens:
                    lo = mid
                else:
                    hi = mid - 1
            if cost([*chosen, (r[0], lo)]) <= max_tokens:
                chosen.append((r[0], lo))
    if not chosen:
        return None
    merged = tuple(_merge(chosen))
    text = render(lines, merged)
    return Skeleton(merged, text, count(text))


def _field_lines(lines: Sequence[str], start: int, end: int, members: Sequence[Definition]) -> list[tuple[int, int]]:
    """Single-line statements of a class body outside its members (fields, constants)."""
    if not members:
        return []
    indent = len(lines[members[0].start_line - 1]) - len(lines[members[0].start_line - 1].lstrip())
    inside = {n for m in members for n in range(m.start_line, m.end_line + 1)}
    out: list[tuple[int, int]] = []
    for n in range(start + 1, end + 1):
        text = lines[n - 1]
        if n in inside or not text.strip() or text.strip().startswith(("#", "//", '"""', "'''")):
            continue
        if len(text) - len(text.lstrip()) == indent:
            out.append((n, n))
        if len(out) >= 40:
            break
    return out
