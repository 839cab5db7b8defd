"""GitLab Code Quality JSON: a list of Code Climate issues shown in merge requests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reviewer.findings.model import Finding
from reviewer.report._common import TOOL_NAME, finding_fingerprint, rule_id
from reviewer.result import ReviewResult

SEVERITY = {"low": "minor", "medium": "major", "high": "critical", "critical": "blocker"}
CATEGORY = {"security": "Security", "performance": "Performance", "correctness": "Bug Risk"}


def render_codequality(result: ReviewResult) -> str:
    return json.dumps(codequality_issues(result), indent=2, ensure_ascii=False) + "\n"


def codequality_issues(result: ReviewResult) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    seen: set[str] = set()
    for f in result.findings:
        fp = finding_fingerprint(result, f)
        # GitLab merges issues that share a fingerprint; two findings with the same title in
        # one file (and no code text to tell them apart) must stay two issues.
        occurrence = 1
        unique = fp
        while unique in seen:
            occurrence += 1
            unique = hashlib.sha256(f"{fp}:{occurrence}".encode()).hexdigest()[:32]
        seen.add(unique)
        issues.append(_issue(f, unique))
    return issues


def _issue(f: Finding, fp: str) -> dict[str, Any]:
    description = f"[{f.cwe}] {f.title}" if f.cwe else f.title
    return {
        "type": "issue",
        "description": description,
        "check_name": f"{TOOL_NAME}/{rule_id(f)}",
        "content": {"body": f.message + (f"\n\nSuggestion: {f.suggestion}" if f.suggestion else "")},
        "categories": [CATEGORY[f.category]],
        "fingerprint": fp,
        "severity": SEVERITY[f.severity],
        "location": {"path": f.path, "lines": {"begin": f.line, "end": f.end_line}},
    }
