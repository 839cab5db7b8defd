"""What several report formats say the same way: counts, the smoke-test warning, code excerpts,
rule ids and the tool's version."""

from __future__ import annotations

from collections import Counter
from functools import cache
from importlib import metadata

from reviewer.findings.model import SEVERITY_ORDER, Finding, fingerprint
from reviewer.result import ReviewResult

TOOL_NAME = "localreview"
SEVERITIES_DESC = tuple(sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.__getitem__, reverse=True))
EXCERPT_CONTEXT = 2  # lines shown around a finding's range
EXCERPT_MAX_LINES = 12  # a finding spanning a whole function shows its head only


@cache
def tool_version() -> str:
    try:
        return metadata.version(TOOL_NAME)
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0+unknown"


def smoke_test_warning(result: ReviewResult) -> str:
    return (
        "These findings come from the tiny smoke-test model SmolLM2-135M and are not meaningful: "
        "it only proves that the review pipeline runs. Use a real coder model for reviews."
    )


def severity_counts(findings: tuple[Finding, ...]) -> str:
    """ "2 findings: 1 critical, 1 low" (most severe first), or "no findings"."""
    if not findings:
        return "no findings"
    counts = Counter(f.severity for f in findings)
    parts = [f"{counts[s]} {s}" for s in SEVERITIES_DESC if counts[s]]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"{len(findings)} {noun}: {', '.join(parts)}"


def rule_id(f: Finding) -> str:
    """An analyzer's finding names its rule; the model's are grouped by category and CWE."""
    if f.rule:
        return f.rule
    return f"{f.category}/{f.cwe}" if f.cwe else f.category


def cwe_url(cwe: str) -> str:
    return f"https://cwe.mitre.org/data/definitions/{cwe.removeprefix('CWE-')}.html"


def finding_fingerprint(result: ReviewResult, f: Finding) -> str:
    return fingerprint(f, result.code_line(f.path, f.line))


def excerpt(result: ReviewResult, f: Finding) -> list[tuple[int, str, bool]]:
    """(line number, text, inside the finding's range) for the known lines around a finding."""
    lines = result.code.get(f.path, {})
    last = min(f.end_line, f.line + EXCERPT_MAX_LINES - 1)
    return [
        (n, lines[n], f.line <= n <= f.end_line)
        for n in range(f.line - EXCERPT_CONTEXT, last + EXCERPT_CONTEXT + 1)
        if n in lines
    ]


def coverage_lines(result: ReviewResult) -> list[str]:
    """Plain-text sentences on coverage and cost, shared by the text and Markdown reports."""
    cov, stats = result.coverage, result.stats
    files = len(cov.files_reviewed)
    out = [
        f"Reviewed {files} file{'s' if files != 1 else ''}, "
        f"{cov.hunks_reviewed} of {cov.hunks_total} hunks, "
        + ("by the analyzers alone (no model)." if result.backend == "none"
           else f"with {result.backend} model {result.model}."),
        f"Cost: {stats.batches} batch{'es' if stats.batches != 1 else ''}, "
        f"{stats.prompt_tokens} prompt + {stats.completion_tokens} completion tokens, "
        f"{stats.seconds:.1f} s.",
    ]
    if stats.dropped:
        reasons = ", ".join(f"{why} {n}" for why, n in sorted(stats.dropped.items()) if n)
        total = sum(stats.dropped.values())
        out.append(f"Dropped (validation, suppressions, baseline): {total} ({reasons}).")
    if result.redacted_secrets:
        out.append(f"Secrets redacted before prompting: {result.redacted_secrets}.")
    return out
