"""The analyzer stage's typed records: what goes in, what comes out.

Inputs are built from the diff (``lines.input_from_hunks``); outputs are ``Finding`` records
of ``reviewer.findings`` plus a compact form of the same hits for the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.findings.model import Finding

ANALYZERS = ("bandit", "secrets", "rules")


@dataclass(frozen=True)
class Removal:
    """One run of removed lines. ``anchor_line`` is the new-side line that now stands where
    they were (the first line after them, or the last line of the file when they were at its
    end; 1 for a file left empty)."""

    anchor_line: int
    old_lines: tuple[str, ...]
    old_start: int  # old-side number of the first removed line


@dataclass(frozen=True)
class AnalyzerInput:
    path: str  # repository-relative POSIX path, as in the diff
    language: str | None  # index.languages name ("python", "tsx", ...); None: secrets only
    new_text: str  # the whole new side of the file
    added: frozenset[int]  # new-side lines the diff adds or changes
    removals: tuple[Removal, ...] = ()

    @property
    def anchors(self) -> frozenset[int]:
        return frozenset(r.anchor_line for r in self.removals)


@dataclass(frozen=True)
class AnalyzerOptions:
    bandit: bool = True
    secrets: bool = True
    rules: bool = True
    rules_dir: Path | None = None  # the user's own rules, loaded beside the built-in pack


@dataclass(frozen=True)
class RuleInfo:
    """What SARIF needs to describe a rule: every finding's ``rule_id`` names one of these."""

    id: str  # "python.subprocess-shell-true", "bandit.B602", "secrets.AWSKeyDetector"
    title: str
    help: str
    cwe: str | None
    severity: str
    category: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "help": self.help, "cwe": self.cwe,
                "severity": self.severity, "category": self.category}


@dataclass(frozen=True)
class Hint:
    """One hit in the compact form the prompt shows the model (as untrusted data)."""

    path: str
    line: int
    rule_id: str
    cwe: str | None
    message: str  # one short line; secrets are already masked

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "rule": self.rule_id, "cwe": self.cwe,
                "message": self.message}


@dataclass(frozen=True)
class Hit:
    """An analyzer's raw result before it becomes a Finding: already anchored on a changed line."""

    path: str
    line: int
    end_line: int
    rule: RuleInfo
    source: str  # "bandit" | "secrets" | "rule:<id>"
    message: str
    suggestion: str | None = None
    secret: str | None = field(default=None, repr=False)  # the value found, for masking; never reported


@dataclass
class AnalyzerReport:
    findings: list[Finding] = field(default_factory=list)
    # (path, line) -> secret values found there: reports mask them wherever the line is shown.
    secrets: dict[tuple[str, int], list[str]] = field(default_factory=dict, repr=False)
    hints: list[Hint] = field(default_factory=list)
    available: dict[str, str] = field(default_factory=dict)  # analyzer -> "ok" or why not
    timings: dict[str, float] = field(default_factory=dict)  # seconds: bandit, secrets, rules, total
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # rule id -> description (for SARIF)
    rule_of: dict[Finding, str] = field(default_factory=dict)  # finding -> its rule id
    counts: dict[str, int] = field(default_factory=dict)  # hits per analyzer, before one-per-line-and-CWE
    dropped: dict[str, int] = field(default_factory=dict)  # hits off the changed lines, by analyzer
    warnings: list[str] = field(default_factory=list)  # e.g. a file bandit could not parse
