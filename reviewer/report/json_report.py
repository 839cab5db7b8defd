"""DESIGN.md's findings JSON: ``{"findings": [...], "stats": {...}}``, extra stats keys allowed."""

from __future__ import annotations

import json
from typing import Any

from reviewer.result import ReviewResult


def report_dict(result: ReviewResult) -> dict[str, Any]:
    stats, cov = result.stats, result.coverage
    return {
        "findings": [f.to_json() for f in result.findings],
        "stats": {
            "batches": stats.batches,
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "seconds": round(stats.seconds, 3),
            "dropped": dict(sorted(stats.dropped.items())),
            "warnings": list(stats.warnings),
            "coverage": {
                "files_reviewed": list(cov.files_reviewed),
                "hunks_reviewed": cov.hunks_reviewed,
                "hunks_total": cov.hunks_total,
                "skipped": [{"path": s.path, "why": s.why} for s in cov.skipped],
            },
            "backend": result.backend,
            "model": result.model,
            "smoke_test_model": result.smoke_test_model,
            "redacted_secrets": result.redacted_secrets,
        },
    }


def render_json(result: ReviewResult) -> str:
    return json.dumps(report_dict(result), indent=2, ensure_ascii=False) + "\n"
