"""One finding per place and problem, in a stable order."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from reviewer.findings.model import SEVERITY_ORDER, Finding, _title_words


def _similar_titles(a: Finding, b: Finding) -> bool:
    if a.cwe is not None and a.cwe == b.cwe:
        return True
    wa, wb = _title_words(a.title), _title_words(b.title)
    if wa and wb and len(wa & wb) / len(wa | wb) >= 0.5:
        return True
    return difflib.SequenceMatcher(None, a.title.lower(), b.title.lower()).ratio() >= 0.75


def _duplicates(a: Finding, b: Finding) -> bool:
    return (
        a.path == b.path
        and a.category == b.category
        and a.line <= b.end_line
        and b.line <= a.end_line
        and _similar_titles(a, b)
    )


def _order_key(f: Finding) -> tuple[str, int, int, str, int, str, str]:
    return (f.path, f.line, -SEVERITY_ORDER[f.severity], f.title, f.end_line, f.category, f.message)


def dedupe_and_sort(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per issue across batches, most severe kept; order: path, line, severity
    (most severe first), title, then the remaining fields so equal inputs give equal output."""
    by_severity = sorted(findings, key=lambda f: (-SEVERITY_ORDER[f.severity], *_order_key(f)))
    kept: list[Finding] = []
    for finding in by_severity:
        if not any(_duplicates(finding, other) for other in kept):
            kept.append(finding)
    return sorted(kept, key=_order_key)
