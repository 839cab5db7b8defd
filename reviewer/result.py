"""What one review produced: the only input of the report renderers.

Plain frozen records, so a renderer cannot reach back into the diff, the index or the model,
and a test can build a result by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from index.walk import Skip
from reviewer.findings.model import Finding

# A file left out of a review is the same record as one left out of the index: path and why.
Skipped = Skip


@dataclass(frozen=True)
class Coverage:
    files_reviewed: tuple[str, ...]
    hunks_reviewed: int
    hunks_total: int
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class Stats:
    batches: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    dropped: Mapping[str, int] = field(default_factory=dict)  # validation drops, by reason
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewResult:
    findings: tuple[Finding, ...]
    stats: Stats
    coverage: Coverage
    backend: str
    model: str
    smoke_test_model: bool = False
    redacted_secrets: int = 0
    # path -> new-side line number -> text, for the lines findings point at (and a couple around
    # them): renderers show code without reading the working tree, which may have changed since.
    code: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    # rule id -> {"title", "help", "cwe", "severity", "category"}: what SARIF says of analyzer rules.
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def code_line(self, path: str, line: int) -> str | None:
        return self.code.get(path, {}).get(line)
