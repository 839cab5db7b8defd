"""A ``ReviewResult`` as JSON and back, losslessly: the hook's result cache stores it this way.

This is a storage format, not a report: ``report/json_report.py`` writes what users and tools
read (DESIGN.md's findings format), this keeps every field a renderer needs to redraw the same
report later. A stored result that does not parse is rejected with ``ValueError``, so a cache
written by another version (or cut short) is treated as a miss, never half-trusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reviewer.findings.model import JSON_KEYS, Finding
from reviewer.result import Coverage, ReviewResult, Skipped, Stats

SCHEMA = 2  # 2: findings may carry their rule, results the rules' descriptions


def result_to_json(result: ReviewResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "findings": [f.to_json() for f in result.findings],
        "stats": {
            "batches": result.stats.batches,
            "prompt_tokens": result.stats.prompt_tokens,
            "completion_tokens": result.stats.completion_tokens,
            "seconds": result.stats.seconds,
            "dropped": dict(result.stats.dropped),
            "warnings": list(result.stats.warnings),
        },
        "coverage": {
            "files_reviewed": list(result.coverage.files_reviewed),
            "hunks_reviewed": result.coverage.hunks_reviewed,
            "hunks_total": result.coverage.hunks_total,
            "skipped": [{"path": s.path, "why": s.why} for s in result.coverage.skipped],
        },
        "backend": result.backend,
        "model": result.model,
        "smoke_test_model": result.smoke_test_model,
        "redacted_secrets": result.redacted_secrets,
        # JSON keys are strings: line numbers are turned back into ints on the way in.
        "code": {path: {str(n): text for n, text in lines.items()} for path, lines in result.code.items()},
        "rules": {rid: dict(doc) for rid, doc in result.rules.items()},
    }


def dumps(result: ReviewResult) -> str:
    return json.dumps(result_to_json(result), ensure_ascii=False, sort_keys=True)


def result_from_json(data: Any) -> ReviewResult:
    """The inverse of ``result_to_json``; ``ValueError`` for anything it did not write."""
    try:
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            raise ValueError("not a stored review result of this version")
        stats, coverage = data["stats"], data["coverage"]
        return ReviewResult(
            findings=tuple(_finding(f) for f in data["findings"]),
            stats=Stats(
                batches=_int(stats["batches"]),
                prompt_tokens=_int(stats["prompt_tokens"]),
                completion_tokens=_int(stats["completion_tokens"]),
                seconds=float(stats["seconds"]),
                dropped={str(k): _int(v) for k, v in stats["dropped"].items()},
                warnings=tuple(_str(w) for w in stats["warnings"]),
            ),
            coverage=Coverage(
                files_reviewed=tuple(_str(p) for p in coverage["files_reviewed"]),
                hunks_reviewed=_int(coverage["hunks_reviewed"]),
                hunks_total=_int(coverage["hunks_total"]),
                skipped=tuple(Skipped(_str(s["path"]), _str(s["why"])) for s in coverage["skipped"]),
            ),
            backend=_str(data["backend"]),
            model=_str(data["model"]),
            smoke_test_model=bool(data["smoke_test_model"]),
            redacted_secrets=_int(data["redacted_secrets"]),
            code={_str(path): {int(n): _str(text) for n, text in lines.items()}
                  for path, lines in data["code"].items()},
            rules={_str(rid): {_str(k): v for k, v in doc.items()} for rid, doc in data["rules"].items()},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed stored review result: {exc!r}") from exc


def loads(text: str) -> ReviewResult:
    return result_from_json(json.loads(text))


def _finding(data: Any) -> Finding:
    if not isinstance(data, Mapping) or not set(JSON_KEYS) <= set(data) <= {*JSON_KEYS, "rule"}:
        raise ValueError("malformed stored finding")
    return Finding(**{key: data[key] for key in JSON_KEYS}, rule=data.get("rule"))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value
