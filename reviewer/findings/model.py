"""The Finding record, its JSON schema (sent to the model), severities and the exit code they give."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reviewer.config import FAIL_ON, SEVERITIES

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


CATEGORIES = ("security", "performance", "correctness")


JSON_KEYS = (
    "path",
    "line",
    "end_line",
    "severity",
    "category",
    "cwe",
    "title",
    "message",
    "suggestion",
    "source",
)


MAX_TITLE = 200


MAX_MESSAGE = 4_000


MAX_SUGGESTION = 4_000


MAX_PATH = 1_000


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    end_line: int
    severity: str  # low | medium | high | critical
    category: str  # security | performance | correctness
    title: str
    message: str
    cwe: str | None = None  # "CWE-<n>" or None
    suggestion: str | None = None
    source: str = "llm"
    rule: str | None = None  # the analyzer rule that found it ("bandit.B602", "python.pickle-load")

    def to_json(self) -> dict[str, Any]:
        """The finding in DESIGN.md's key order (cwe before title, unlike the fields); an
        analyzer's finding adds the id of its rule."""
        out = {key: getattr(self, key) for key in JSON_KEYS}
        if self.rule is not None:
            out["rule"] = self.rule
        return out


_FINDING_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    # Key order matters: grammar-constrained decoders emit keys in this order, so locating the
    # issue (path, line) comes before the model writes prose about it.
    "properties": {
        "path": {"type": "string"},
        "line": {"type": "integer"},
        "end_line": {"type": "integer"},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "cwe": {"type": "string"},  # "" when none: nullable unions trip some grammar converters
        "title": {"type": "string"},
        "message": {"type": "string"},
        "suggestion": {"type": "string"},  # "" when none
    },
    "required": ["path", "line", "end_line", "severity", "category", "cwe", "title", "message", "suggestion"],
    "additionalProperties": False,
}


# Sent to the model for structured output. Plain types only (no $ref / oneOf / null unions) so
# llama.cpp's schema-to-grammar converter and Ollama's ``format`` both accept it unchanged.
FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {"type": "array", "maxItems": 20, "items": _FINDING_ITEM_SCHEMA},
    },
    "required": ["findings"],
    "additionalProperties": False,
}


def fingerprint(f: Finding, code_line: str | None = None) -> str:
    """A stable id for baselines and SARIF ``partialFingerprints``.

    Built from path, category and normalised title, plus the whitespace-normalised text of the
    code line when given, never from line numbers: code that moves keeps its fingerprint.
    """
    title = " ".join(sorted(_title_words(f.title)))
    code = " ".join(code_line.split()) if code_line else ""
    key = "\x00".join(("v1", f.path, f.category, title, code))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` reaches ``threshold``; the threshold "none" is never reached."""
    if threshold not in FAIL_ON:
        raise ValueError(f"unknown threshold {threshold!r}; expected one of {', '.join(FAIL_ON)}")
    if threshold == "none":
        return False
    return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[threshold]


def exit_code_for(findings: Iterable[Finding], fail_on: str) -> int:
    """1 when any finding is at or above ``fail_on``, else 0 (DESIGN.md's exit codes)."""
    return 1 if any(severity_at_least(f.severity, fail_on) for f in findings) else 0

def _title_words(title: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", title.lower()))
