"""The planner's wiring for scope-aware context: the resolver over the repository's files, and
the candidates of one diff part adjusted for its kind (tests after source, outlines of big
changed modules)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from index.resolve import Resolver
from reviewer.plan.candidate import REASON_WEIGHT, Candidate
from reviewer.plan.review_order import kind_of

TEST_WEIGHT = 0.5  # context for a test file's hunks comes after the source's
# Where names are resolved, the definitions they reach are the context; the import block is a
# fallback worth little.
RESOLVED_IMPORTS_WEIGHT = 20.0
OUTLINE_LINES = 400  # a changed module longer than this also gets its outline


def make_resolver(planner: Any, state: Any, symbols: Any, changed: Sequence[str]) -> Resolver:
    """``state`` is the index (its files are the repository's), else ``symbols`` is the
    in-memory table of every file walked."""
    paths: set[str] = set(changed)
    if state is not None:
        paths.update(state.file_digests())
    else:
        paths.update(getattr(symbols, "paths", ()))
    return Resolver(paths, planner.text_of, planner.symbols_of, symbols.definitions_named)


def for_part(path: str, found: list[Candidate], text: str | None, resolved: bool) -> list[Candidate]:
    out = found
    if resolved:
        out = [dataclasses.replace(c, score=RESOLVED_IMPORTS_WEIGHT) if c.reason == "imports" else c for c in out]
    n_lines = text.count("\n") + 1 if text else 0
    if n_lines > OUTLINE_LINES:
        out = [*out, Candidate(path, "outline", REASON_WEIGHT["outline"], None, 1, n_lines)]
    # A test file's outline too: the names of its other tests tell a reviewer little.
    if kind_of(path) == "test":
        out = [dataclasses.replace(c, score=c.score * TEST_WEIGHT) if c.reason != "enclosing" else c for c in out]
    return out
