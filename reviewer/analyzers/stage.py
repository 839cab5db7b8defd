"""The analyzer stage: bandit, detect-secrets and the rule pack over the changed files.

Each analyzer is optional: a missing package is reported in ``available`` (for ``doctor``) and
the others still run. Whatever an analyzer returns, a finding leaves this stage only when it
points at a line the diff adds or changes, or at a removal point.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from reviewer.analyzers.bandit_run import run_bandit
from reviewer.analyzers.inventory import available_analyzers
from reviewer.analyzers.records import AnalyzerInput, AnalyzerOptions, AnalyzerReport, Hint, Hit
from reviewer.analyzers.rule_run import run_rules
from reviewer.analyzers.rules import load_rules
from reviewer.analyzers.secrets_run import run_secrets
from reviewer.diff.records import text_lines
from reviewer.findings.model import SEVERITY_ORDER, Finding

MAX_HINT = 160
# Which analyzer wins when two report the same line and CWE: ours carry the most specific text.
_SOURCE_RANK = {"rule": 0, "bandit": 1, "secrets": 2}


def run_analyzers(inputs: Sequence[AnalyzerInput], options: AnalyzerOptions | None = None) -> AnalyzerReport:
    """Run every available analyzer on ``inputs``. Raises ConfigError for a bad user rule file."""
    options = options or AnalyzerOptions()
    inputs = [_clean(item) for item in inputs]
    report = AnalyzerReport(available=available_analyzers(options))
    start = time.perf_counter()
    hits: list[Hit] = []
    if report.available["rules"].startswith("ok"):
        t = time.perf_counter()
        rules = load_rules(options.rules_dir)
        lost = 0
        for item in inputs:
            got, dropped = run_rules(item, rules)
            hits.extend(got)
            lost += dropped
        report.dropped["rules"] = lost
        report.timings["rules"] = time.perf_counter() - t
    if report.available["bandit"].startswith("ok"):
        t = time.perf_counter()
        got, dropped, warnings = run_bandit(inputs)
        hits.extend(got)
        report.dropped["bandit"] = dropped
        report.warnings.extend(warnings)
        report.timings["bandit"] = time.perf_counter() - t
    if report.available["secrets"].startswith("ok"):
        t = time.perf_counter()
        hits.extend(run_secrets(inputs))
        report.timings["secrets"] = time.perf_counter() - t
    _collect(report, hits, inputs)
    report.timings["total"] = time.perf_counter() - start
    return report


def _clean(item: AnalyzerInput) -> AnalyzerInput:
    """Only lines that exist in the new text count as changed lines or anchors: a caller's
    off-by-one must not let a finding point past the end of a file (or wrap around to it)."""
    total = max(len(text_lines(item.new_text)), 1)
    added = frozenset(n for n in item.added if isinstance(n, int) and 1 <= n <= total)
    removals = tuple(r for r in item.removals if 1 <= r.anchor_line <= total)
    if added == item.added and removals == item.removals:
        return item
    return replace(item, added=added, removals=removals)


def _collect(report: AnalyzerReport, hits: list[Hit], inputs: Sequence[AnalyzerInput]) -> None:
    allowed = {item.path: item.added | item.anchors for item in inputs}
    best: dict[tuple[str, int, str], Hit] = {}
    for hit in hits:
        if hit.secret:
            report.secrets.setdefault((hit.path, hit.line), []).append(hit.secret)
        name = hit.source.split(":", 1)[0].replace("rule", "rules")
        report.counts[name] = report.counts.get(name, 0) + 1
        lines = allowed.get(hit.path, frozenset())
        # The last gate: whatever an analyzer did, nothing leaves pointing off the change.
        if hit.line not in lines or hit.end_line not in lines or not 1 <= hit.line <= hit.end_line:
            report.dropped["off_the_change"] = report.dropped.get("off_the_change", 0) + 1
            continue
        key = (hit.path, hit.line, hit.rule.cwe or hit.rule.id)
        if key not in best or _strength(hit) > _strength(best[key]):
            best[key] = hit
    for hit in sorted(best.values(), key=lambda h: (h.path, h.line, -SEVERITY_ORDER[h.rule.severity], h.rule.id)):
        finding = Finding(path=hit.path, line=hit.line, end_line=hit.end_line, severity=hit.rule.severity,
                          category=hit.rule.category, title=hit.rule.title, message=hit.message,
                          cwe=hit.rule.cwe, suggestion=hit.suggestion, source=hit.source)
        report.findings.append(finding)
        report.rule_of[finding] = hit.rule.id
        report.rules[hit.rule.id] = hit.rule
        short = " ".join(f"{hit.rule.title}: {hit.message}".split())
        short = short if len(short) <= MAX_HINT else short[: MAX_HINT - 1] + "…"
        report.hints.append(Hint(hit.path, hit.line, hit.rule.id, hit.rule.cwe, short))


def _strength(hit: Hit) -> tuple[int, int]:
    return SEVERITY_ORDER[hit.rule.severity], -_SOURCE_RANK.get(hit.source.split(":", 1)[0], 9)
