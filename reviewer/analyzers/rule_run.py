"""Run the rule pack with ast-grep-py, in-process: added rules on the new side, removed-guard
rules on the rebuilt old side. Every hit is anchored on a changed line or a removal point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reviewer.analyzers.lines import anchor_span, old_side
from reviewer.analyzers.records import AnalyzerInput, Hit
from reviewer.analyzers.rules import Rule, rules_for

if TYPE_CHECKING:
    from ast_grep_py import SgNode

# Nodes that define something: a guard inside a definition that was deleted whole was not
# "removed from" code that still runs, so it is not reported.
_DEFINITIONS = frozenset({
    "function_definition", "decorated_definition", "class_definition",  # python
    "function_declaration", "method_definition", "class_declaration", "generator_function_declaration",
    "method_declaration", "constructor_declaration", "interface_declaration",  # js/ts, go, java
})  # fmt: skip


def run_rules(item: AnalyzerInput, rules: Sequence[Rule]) -> tuple[list[Hit], int]:
    """Hits of ``rules`` on one file, and how many matches fell off the changed lines."""
    lang = item.language
    if lang is None:
        return [], 0
    added_rules = rules_for(rules, lang, "added")
    removed_rules = rules_for(rules, lang, "removed") if item.removals else []
    if not added_rules and not removed_rules:
        return [], 0
    from ast_grep_py import SgRoot

    new_root = SgRoot(item.new_text, lang).root()
    hits: list[Hit] = []
    dropped = 0
    if item.added:
        regions = _regions(new_root, item.added)
        text = "\n".join(r.text() for r in regions)
        for rule in added_rules:
            if rule.needle is not None and not rule.needle.search(text):
                continue
            for node in _find_in(regions, rule):
                span = anchor_span(*_lines(_focus(node, rule)), item.added)
                if span is None:
                    dropped += 1
                    continue
                hits.append(_hit(item, rule, span))
    if removed_rules:
        got, lost = _removed(item, removed_rules, new_root)
        hits.extend(got)
        dropped += lost
    return hits, dropped


def _removed(item: AnalyzerInput, rules: Sequence[Rule], new_root: SgNode) -> tuple[list[Hit], int]:
    rebuilt = old_side(item)
    if rebuilt is None or item.language is None:
        return [], 0
    from ast_grep_py import SgRoot

    old_lines, anchor_of = rebuilt
    removed_text = "\n".join(line for r in item.removals for line in r.old_lines)
    rules = [r for r in rules if r.needle is None or r.needle.search(removed_text)]
    if not rules:
        return [], 0
    old_root = SgRoot("\n".join(old_lines) + "\n", item.language).root()
    old_regions = _regions(old_root, frozenset(anchor_of))
    near = frozenset(n for r in item.removals
                     for n in range(r.anchor_line - len(r.old_lines) - 3, r.anchor_line + len(r.old_lines) + 4))
    new_regions = _regions(new_root, item.added & near)
    hits: list[Hit] = []
    dropped = 0
    for rule in rules:
        still_there: set[tuple[int, str]] | None = None
        for node in _find_in(old_regions, rule):
            focus = _focus(node, rule)
            start, _end = _lines(focus)
            if start not in anchor_of or _deleted_whole(node, rule, anchor_of, item.added):
                dropped += 1
                continue
            anchor = anchor_of[start]
            if still_there is None:
                still_there = {(_lines(_focus(n, rule))[0], _norm(_focus(n, rule).text()))
                               for n in _find_in(new_regions, rule)}
            if _kept_nearby(_norm(focus.text()), anchor, still_there, item):
                continue
            hits.append(_hit(item, rule, (anchor, anchor)))
    return hits, dropped


def _kept_nearby(text: str, anchor: int, new_matches: set[tuple[int, str]], item: AnalyzerInput) -> bool:
    """The same guard is on a changed line near the removal: it was moved or rewrapped, not removed."""
    reach = max((len(r.old_lines) for r in item.removals if r.anchor_line == anchor), default=0) + 3
    return any(t == text and abs(line - anchor) <= reach and line in item.added for line, t in new_matches)


def _deleted_whole(node: SgNode, rule: Rule, removed: dict[int, int], added: frozenset[int]) -> bool:
    """The guard went with the whole unit it protected: every line of the unit was removed and
    nothing was written in its place (a rewritten unit that lost its guard is still reported)."""
    unit: Any = rule.unit
    for parent in node.ancestors():
        if parent.kind() in _DEFINITIONS or (unit is not None and parent.matches(**unit)):
            start, end = _lines(parent)
            lines = range(start, end + 1)
            return all(n in removed for n in lines) and not any(removed[n] in added for n in lines)
    return False


# A node longer than this is searched child by child, so a one-line change in a 2,000-line class
# costs the search of the methods it touches, not of the whole class.
_REGION_LINES = 60


def _regions(root: SgNode, lines: frozenset[int]) -> list[SgNode]:
    """The smallest whole statements (down to ``_REGION_LINES``) that overlap ``lines``: rules
    search these, not the whole file. Relational rules still see ancestors (``inside``)."""
    if not lines:
        return []
    out: list[SgNode] = []
    todo = [root]
    while todo:
        node = todo.pop()
        start, end = _lines(node)
        if not any(start <= n <= end for n in lines):
            continue
        children = node.children()
        if node is root or (end - start > _REGION_LINES and children):
            todo.extend(children)
        else:
            out.append(node)
    return out


def _find_in(regions: list[SgNode], rule: Rule) -> list[SgNode]:
    config: Any = rule.config
    found: list[SgNode] = []
    for region in regions:
        found.extend(region.find_all(config))  # the region itself included
    return found


def _focus(node: SgNode, rule: Rule) -> SgNode:
    if rule.focus:
        sub = node.get_match(rule.focus)
        if sub is not None:
            return sub
    return node


def _lines(node: SgNode) -> tuple[int, int]:
    rng = node.range()
    end = rng.end.line + 1
    if rng.end.column == 0 and rng.end.line > rng.start.line:
        end -= 1  # a node that ends at the start of a line does not cover that line
    return rng.start.line + 1, end


def _norm(text: str) -> str:
    return "".join(text.split())


def _hit(item: AnalyzerInput, rule: Rule, span: tuple[int, int]) -> Hit:
    return Hit(path=item.path, line=span[0], end_line=span[1], rule=rule.info, source=f"rule:{rule.id}",
               message=rule.message, suggestion=rule.suggestion)
