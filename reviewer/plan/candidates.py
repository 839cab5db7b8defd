"""Context candidates for a batch: the code the change depends on, ranked from the changed
symbols outward.

Reasons, most important first: the whole enclosing definition of each changed region; the
definitions of what the changed lines call or use (same file and other files); callers of
the changed definitions; the module's imports; semantically similar chunks. Each candidate
is scored by its reason, by how specific its name is (a name defined once beats one defined
in forty places), by how often the change uses it, and by closeness in the tree — a small
personalised ranking of the definition/reference graph around the diff.

Line numbers are always taken from the file's current content, never from the index.
"""

from __future__ import annotations

import math
import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from index.model import Definition, FileAnalysis
from index.resolve import Resolver, handles
from reviewer.plan.candidate import REASON_WEIGHT, Candidate, ChangedFile

MAX_DEFINITIONS_PER_NAME = 6  # beyond this a name is too common to say which one is meant


MAX_CALLERS = 8


SIGNATURE_CALLER_BOOST = 1.5  # a changed signature makes its callers worth more


SIGNATURE_LINES = 1  # lines after a definition's first taken as its signature (roughly)


class SymbolSource(Protocol):
    """Where definitions and references are looked up: the index's symbol table, or one built
    in memory when there is no index yet."""

    def definitions_named(self, name: str) -> list[Definition]: ...

    def reference_sites(self, name: str, limit: int) -> list[tuple[str, int]]: ...


def _specificity(n_defs: int) -> float:
    return 1.0 / (1.0 + math.log(max(n_defs, 1)))


def _closeness(a: str, b: str) -> float:
    """1.0 in the same directory, less the further apart the two paths are."""
    da, db = posixpath.dirname(a).split("/"), posixpath.dirname(b).split("/")
    common = 0
    for x, y in zip(da, db, strict=False):
        if x != y:
            break
        common += 1
    distance = (len(da) - common) + (len(db) - common)
    return 1.0 / (1.0 + 0.25 * distance)


def _imported(changed: ChangedFile, text_of_imports: str, d: Definition) -> bool:
    stem = posixpath.splitext(posixpath.basename(d.path))[0]
    return bool(stem) and stem in text_of_imports


def candidates_for(
    changed: ChangedFile,
    symbols: SymbolSource,
    imports_text: str,
    enclosing_of: Callable[[str, int], Definition | None],
    resolver: Resolver | None = None,
    used: set[str] | None = None,
) -> list[Candidate]:
    """Every candidate for one changed file (similar chunks are added by the caller).

    With a ``resolver`` for the file's language, what the change uses is resolved by scope
    (``reviewer.plan.resolved``) and ``used`` collects the qualified names found; else by name."""
    out: list[Candidate] = []
    a = changed.analysis
    own: dict[str, list[Definition]] = {}
    for d in a.definitions:
        own.setdefault(d.name, []).append(d)

    # 1. The whole enclosing definition of each changed region.
    enclosing: dict[str, Definition] = {}
    for line in sorted(changed.added):
        inner = a.enclosing(line)
        if inner is not None:
            enclosing.setdefault(inner.qualified_name, inner)
    for d in enclosing.values():
        focus = _focus(changed, d)
        out.append(Candidate(a.path, "enclosing", REASON_WEIGHT["enclosing"], d.qualified_name,
                             d.start_line, d.end_line, focus))

    # 2. What the changed lines call or use; the rest of the enclosing bodies count less.
    if resolver is not None and handles(a.language):
        from reviewer.plan.resolved import resolved_candidates

        found, names = resolved_candidates(changed, resolver, enclosing)
        out += found
        if used is not None:
            used.update(names)
    uses: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for r in a.references if resolver is None or not handles(a.language) else ():
        if r.line in changed.added:
            uses[r.name] += 3
        elif any(d.start_line <= r.line <= d.end_line for d in enclosing.values()):
            uses[r.name] += 1
        else:
            continue
        kinds.setdefault(r.name, r.kind)
    for name, weight in uses.items():
        defs = [d for d in own.get(name, []) if d.qualified_name not in enclosing]
        defs += [d for d in symbols.definitions_named(name) if d.path != a.path]
        if not defs or len(defs) > MAX_DEFINITIONS_PER_NAME * 4:
            continue
        spec = _specificity(len(defs))
        ranked = sorted(
            defs,
            key=lambda d: (-(2.0 if _imported(changed, imports_text, d) else 1.0) * _closeness(a.path, d.path),
                           d.path, d.start_line),
        )[:MAX_DEFINITIONS_PER_NAME]
        reason = "type" if kinds.get(name) == "type" else "callee"
        for d in ranked:
            bonus = (2.0 if _imported(changed, imports_text, d) else 1.0) * _closeness(a.path, d.path)
            score = REASON_WEIGHT[reason] * spec * bonus * (1.0 + math.log(weight))
            out.append(Candidate(d.path, reason, score, d.qualified_name, d.start_line, d.end_line))

    # 3. Callers of the changed definitions.
    changed_defs = [d for d in a.definitions if any(d.start_line <= n <= d.end_line for n in changed.added)]
    for d in changed_defs:
        if d.kind in ("module",):
            continue
        if resolver is not None and handles(a.language) and not _signature_changed(changed, d):
            continue  # callers matter when the definition's signature changes, not its body
        boost = SIGNATURE_CALLER_BOOST if resolver is not None and handles(a.language) else 1.0
        sites = [s for s in symbols.reference_sites(d.name, 200) if s[0] != a.path or not (
            d.start_line <= s[1] <= d.end_line)]
        if not sites or len(sites) > 200:
            continue
        spec = _specificity(len(sites))
        seen: set[tuple[str, str]] = set()
        for path, line in sites:
            caller = enclosing_of(path, line)
            if caller is None or (path, caller.qualified_name) in seen:
                continue
            seen.add((path, caller.qualified_name))
            score = REASON_WEIGHT["caller"] * spec * _closeness(a.path, path) * boost
            out.append(Candidate(path, "caller", score, caller.qualified_name, caller.start_line,
                                 caller.end_line, (line, line)))
            if len(seen) >= MAX_CALLERS:
                break

    # 4. The module's imports, so the model knows where names come from.
    # Only the module-level block: imports inside functions would stretch it across the file.
    first_def = min((d.start_line for d in a.definitions), default=None)
    top = [r for r in a.import_ranges if first_def is None or r[1] < first_def] or list(a.import_ranges[:1])
    if top:
        start = min(r[0] for r in top)
        end = max(r[1] for r in top)
        out.append(Candidate(a.path, "imports", REASON_WEIGHT["imports"], None, start, end))
    return out


def _signature_changed(changed: ChangedFile, d: Definition) -> bool:
    """A changed line among the definition's first lines (its decorators and signature)."""
    return any(d.start_line <= n <= d.start_line + SIGNATURE_LINES for n in changed.added)


def _focus(changed: ChangedFile, d: Definition) -> tuple[int, int]:
    # Only the lines whose innermost definition is ``d``: a changed method inside a class is
    # its own candidate, so the class's focus need not stretch over it.
    inside = [n for n in changed.added if changed.analysis.enclosing(n) == d]
    return (min(inside), max(inside)) if inside else (d.start_line, d.start_line)


def rank(cands: Iterable[Candidate]) -> list[Candidate]:
    """Best first; one candidate per (path, symbol/lines), keeping the best-scored reason."""
    best: dict[tuple[str, str], Candidate] = {}
    for c in cands:
        key = (c.path, c.qualified_name or f"{c.start_line}-{c.end_line}")
        if key not in best or c.score > best[key].score:
            best[key] = c
    return sorted(best.values(), key=lambda c: (-c.score, c.path, c.start_line))


class MemorySymbols:
    """A symbol table built in memory from parsed files, for a repository not indexed yet."""

    def __init__(self, analyses: Mapping[str, FileAnalysis]) -> None:
        self._defs: dict[str, list[Definition]] = {}
        self._refs: dict[str, list[tuple[str, int]]] = {}
        for a in analyses.values():
            for d in a.definitions:
                self._defs.setdefault(d.name, []).append(d)
            for r in a.references:
                self._refs.setdefault(r.name, []).append((a.path, r.line))

        self.paths = frozenset(analyses)

    def definitions_named(self, name: str) -> list[Definition]:
        return list(self._defs.get(name, ()))

    def reference_sites(self, name: str, limit: int) -> list[tuple[str, int]]:
        return self._refs.get(name, [])[:limit]


def overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(a[0] <= s[1] and s[0] <= a[1] for s in spans)
