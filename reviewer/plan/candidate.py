"""The records of context gathering: a candidate item, the changed file it serves, and the
weight of each reason. Apart from the gathering itself, so the scope-aware part can share them."""

from __future__ import annotations

from dataclasses import dataclass

from index.model import FileAnalysis

# "similar" is scaled by the cosine similarity: a chunk at >= 0.63 clears the packer's MIN_SCORE
# (25), so a near-copy elsewhere in the repository is shown and a loose resemblance is not.
REASON_WEIGHT = {"enclosing": 100.0, "callee": 60.0, "type": 55.0, "imports": 45.0, "caller": 35.0, "outline": 30.0,
                 "similar": 40.0}


@dataclass(frozen=True)
class Candidate:
    path: str
    reason: str
    score: float
    qualified_name: str | None  # re-located by name in the current content; None: fixed lines
    start_line: int
    end_line: int
    focus: tuple[int, int] | None = None  # lines to keep when the item must be trimmed


@dataclass(frozen=True)
class ChangedFile:
    path: str
    analysis: FileAnalysis  # of the new side, parsed now
    added: frozenset[int]  # new-side line numbers the diff adds or changes
    spans: tuple[tuple[int, int], ...]  # new-side spans of the hunks
