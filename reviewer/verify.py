"""The verification pass (PR-Agent's self-reflection): after a batch, one more short call shows
the model its own findings with the same prompt and asks it to keep, correct or drop each one.

The second call starts with the batch's prompt, so a server with a prompt cache (Ollama) serves
that prefix from it; the request says how long the prefix is, so that a server which leaves
cached tokens out of its count is not taken for one that truncated the prompt. Whatever the
model answers, nothing is invented: a verdict can only keep, re-grade or move a finding within
the batch's changed lines, or drop it; an unusable answer keeps every finding, with a warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from reviewer.backends.base import Backend, ChatRequest
from reviewer.config import SEVERITIES, Config
from reviewer.findings.model import Finding
from reviewer.plan.records import Batch, Plan
from reviewer.plan.tokens import TokenCounter

VERIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {"type": "array", "maxItems": 50, "items": {
            "type": "object",
            "properties": {
                "index": {"type": "integer"},
                "verdict": {"type": "string", "enum": ["keep", "correct", "drop"]},
                "severity": {"type": "string"},
                "line": {"type": "integer"},
            },
            "required": ["index", "verdict", "severity", "line"],
            "additionalProperties": False,
        }},
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}
VERIFY_ANSWER_TOKENS = 400  # a verdict is a dozen tokens; 20 findings fit with room to spare


def wanted(config: Config, backend: Backend) -> bool:
    """On by default for real models; off for the smoke-test model, whose verdicts mean nothing."""
    if config.verify is not None:
        return config.verify
    return not backend.smoke_test_model and backend.name != "none"


@dataclasses.dataclass
class Verified:
    findings: list[Finding]
    dropped: int = 0
    corrected: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warning: str | None = None


def verify_batch(backend: Backend, plan: Plan, batch: Batch, findings: Sequence[Finding],
                 counter: TokenCounter) -> Verified:
    from reviewer.plan.prompt import render_verify

    if not findings:
        return Verified([])
    user = render_verify(batch.user, [f.to_json() for f in findings])
    tokens = counter.count_chat(batch.system, user)
    if tokens + VERIFY_ANSWER_TOKENS > plan.num_ctx:
        return Verified(list(findings), warning=f"verification skipped for {', '.join(sorted(batch.allowed))}: "
                        f"the findings do not fit the window beside the prompt ({tokens} tokens)")
    request = ChatRequest(batch.system, user, VERIFY_SCHEMA, plan.num_ctx, VERIFY_ANSWER_TOKENS,
                          expected_prompt_tokens=tokens, cacheable_prefix_tokens=batch.prompt_tokens)
    response = backend.chat(request)
    out = Verified(list(findings), prompt_tokens=response.prompt_tokens,
                   completion_tokens=response.completion_tokens)
    verdicts = _verdicts(response.text)
    if verdicts is None:
        out.warning = "the model's verification answer was not usable; its findings are kept unverified"
        return out
    kept: list[Finding] = []
    for i, f in enumerate(findings):
        v = verdicts.get(i)
        if v is None or v.get("verdict") == "keep":
            kept.append(f)
        elif v.get("verdict") == "drop":
            out.dropped += 1
        else:
            fixed = _corrected(f, v, batch.allowed.get(f.path, frozenset()))
            out.corrected += fixed != f
            kept.append(fixed)
    out.findings = kept
    return out


def _verdicts(text: str) -> dict[int, Mapping[str, Any]] | None:
    from reviewer.findings.parse import answer_object

    data = answer_object(text)
    items = data.get("verdicts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    out: dict[int, Mapping[str, Any]] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("index"), int) and item.get("verdict") in (
                "keep", "correct", "drop"):
            out.setdefault(item["index"], item)
    return out


def _corrected(f: Finding, verdict: Mapping[str, Any], allowed: frozenset[int]) -> Finding:
    severity = str(verdict.get("severity") or "").lower()
    line = verdict.get("line")
    changes: dict[str, Any] = {}
    if severity in SEVERITIES:
        changes["severity"] = severity
    if isinstance(line, int) and line in allowed and line != f.line:
        changes["line"] = changes["end_line"] = line  # a move stays on the batch's changed lines
    return dataclasses.replace(f, **changes) if changes else f


__all__ = ["VERIFY_SCHEMA", "Verified", "verify_batch", "wanted"]
