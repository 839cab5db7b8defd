"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers: one run, one rule per
category + CWE, results anchored to repository-relative URIs under ``%SRCROOT%``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from reviewer.findings.model import SEVERITY_ORDER, Finding
from reviewer.report._common import (
    TOOL_NAME,
    cwe_url,
    excerpt,
    finding_fingerprint,
    rule_id,
    smoke_test_warning,
    tool_version,
)
from reviewer.report.json_report import report_dict
from reviewer.result import ReviewResult

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = f"{TOOL_NAME}/v1"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning ranks security alerts by this CVSS-like score on the rule.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def render_sarif(result: ReviewResult) -> str:
    return json.dumps(sarif_log(result), indent=2, ensure_ascii=False) + "\n"


def sarif_log(result: ReviewResult) -> dict[str, Any]:
    rules, index = _rules(result.findings, result.rules)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL_NAME, "version": tool_version(), "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository's root."}}},
        "results": [_result(result, f, index[rule_id(f)]) for f in result.findings],
        "invocations": [_invocation(result)],
        "properties": report_dict(result)["stats"],
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules(findings: tuple[Finding, ...], docs: Mapping[str, Mapping[str, Any]]
           ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    worst: dict[str, Finding] = {}
    for f in findings:
        rid = rule_id(f)
        if rid not in worst or SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[worst[rid].severity]:
            worst[rid] = f
    rules: list[dict[str, Any]] = []
    for rid in sorted(worst):
        rules.append(_rule(rid, worst[rid], docs.get(rid)))
    return rules, {rule["id"]: i for i, rule in enumerate(rules)}


def _rule(rid: str, worst: Finding, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    category = worst.category
    tags = [category]
    text = f"{category.capitalize()} issue"
    rule: dict[str, Any] = {"id": rid, "name": rid.replace("/", "-")}
    cwe = (doc or {}).get("cwe") or worst.cwe
    if cwe:
        text += f" ({cwe})"
        tags.append(f"external/cwe/{str(cwe).lower()}")
        rule["helpUri"] = cwe_url(str(cwe))
    if doc:  # an analyzer's rule: its own title and help text
        text = str(doc.get("title") or text)
        help_text = str(doc.get("help") or "")
        if help_text:
            rule["fullDescription"] = {"text": help_text}
            rule["help"] = {"text": help_text}
        tags.append(f"localreview/{worst.source.split(':', 1)[0]}")
    properties: dict[str, Any] = {"tags": tags}
    if category == "security":
        properties["security-severity"] = _SECURITY_SEVERITY[worst.severity]
    rule["shortDescription"] = {"text": text}
    rule["defaultConfiguration"] = {"level": _LEVEL[worst.severity]}
    rule["properties"] = properties
    return rule


def _result(result: ReviewResult, f: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.line, "endLine": f.end_line}
    snippet = [text for _n, text, inside in excerpt(result, f) if inside]
    if snippet:
        region["snippet"] = {"text": "\n".join(snippet) + "\n"}
    message = f"{f.title}\n\n{f.message}"
    if f.suggestion:
        message += f"\n\nSuggestion: {f.suggestion}"
    properties: dict[str, Any] = {"severity": f.severity, "category": f.category, "source": f.source}
    if f.cwe:
        properties["cwe"] = f.cwe
    return {
        "ruleId": rule_id(f),
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(f.path, safe="/"), "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding_fingerprint(result, f)},
        "properties": properties,
    }


def _invocation(result: ReviewResult) -> dict[str, Any]:
    notes = list(result.stats.warnings)
    if result.smoke_test_model:
        notes.insert(0, smoke_test_warning(result))
    return {
        "executionSuccessful": True,
        "toolExecutionNotifications": [{"level": "warning", "message": {"text": note}} for note in notes],
    }
