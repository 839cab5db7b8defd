"""Which definitions a bare name can mean from a given line, by the nesting of definitions alone
(module level, the enclosing function, the class body), for the resolver's same-file look-ups and
the by-name fallback."""

from __future__ import annotations

from index.model import Definition, FileAnalysis

CLASS_KINDS = frozenset({"class", "interface", "struct", "type", "enum", "trait"})


def parent_of(a: FileAnalysis, d: Definition) -> Definition | None:
    """The innermost other definition of the file whose lines hold ``d``'s."""
    best: Definition | None = None
    for o in a.definitions:
        holds = o.start_line <= d.start_line and d.end_line <= o.end_line
        if holds and (o.start_line, o.end_line) != (d.start_line, d.end_line) and (
                best is None or o.end_line - o.start_line < best.end_line - best.start_line):
            best = o
    return best


def visible_from(a: FileAnalysis, d: Definition, line: int) -> bool:
    """Can a bare name at ``line`` of the file mean ``d``? A module-level definition, yes; one
    nested in a function only inside that function; one in a class body only from that body
    itself (a method does not see its class's names unqualified). Test files define a class
    ``C`` in one test after another: without this rule every ``C`` of the file was "used"."""
    parent = parent_of(a, d)
    if parent is None:
        return True
    if not parent.start_line <= line <= parent.end_line:
        return False
    return parent.kind not in CLASS_KINDS or a.enclosing(line) == parent


def function_local(a: FileAnalysis | None, d: Definition) -> bool:
    """Is ``d`` nested in a function or method, so that no other file can name it?"""
    if a is None:
        return False
    parent = parent_of(a, d)
    while parent is not None:
        if parent.kind not in CLASS_KINDS:
            return True
        parent = parent_of(a, parent)
    return False
