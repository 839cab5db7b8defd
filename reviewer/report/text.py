"""The terminal report: findings grouped by file with the code they point at, then coverage
and cost. Colour is plain ANSI, added only when the caller asks (a terminal, no NO_COLOR)."""

from __future__ import annotations

from reviewer.findings.model import Finding
from reviewer.findings.validate import sanitize_text
from reviewer.report._common import coverage_lines, excerpt, severity_counts, smoke_test_warning
from reviewer.result import ReviewResult

_SEVERITY_STYLE = {"critical": "1;37;41", "high": "1;31", "medium": "33", "low": "36"}
_BOLD, _DIM, _WARN = "1", "2", "1;33"


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if self.color else text


def render_text(result: ReviewResult, *, color: bool) -> str:
    paint = _Painter(color)
    out: list[str] = []
    if result.smoke_test_model:
        out += [paint("WARNING: " + smoke_test_warning(result), _WARN), ""]
    by_path: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_path.setdefault(finding.path, []).append(finding)
    for path, group in by_path.items():
        out.append(paint(_clean(path), _BOLD))
        for f in group:
            out += _finding(result, f, paint)
        out.append("")
    out.append(paint(severity_counts(result.findings).capitalize() + ".", _BOLD))
    out += coverage_lines(result)
    for skipped in result.coverage.skipped:
        out.append(f"Skipped {_clean(skipped.path)}: {_clean(skipped.why)}")
    for warning in result.stats.warnings:
        out.append(paint("warning: ", _WARN) + _clean(warning))
    if result.smoke_test_model:
        out.append(paint("WARNING: " + smoke_test_warning(result), _WARN))
    return "\n".join(out) + "\n"


def _finding(result: ReviewResult, f: Finding, paint: _Painter) -> list[str]:
    where = f"{f.line}" if f.end_line == f.line else f"{f.line}-{f.end_line}"
    label = " ".join(x for x in (f.category, f.cwe or "") if x)
    head = f"  {paint(f.severity.upper(), _SEVERITY_STYLE[f.severity])} {label} line {where}: "
    out = [head + paint(_clean(f.title), _BOLD)]
    out += [f"    {line}" for line in _clean(f.message).splitlines()]
    if f.suggestion:
        lines = _clean(f.suggestion).splitlines() or [""]
        out.append(f"    suggestion: {lines[0]}")
        out += [f"      {line}" for line in lines[1:]]
    code = excerpt(result, f)
    width = len(str(code[-1][0])) if code else 0
    for number, text, inside in code:
        marker = ">" if inside else " "
        row = f"    {marker} {number:>{width}} | {_clean(text).rstrip()}"
        out.append(row if inside else paint(row, _DIM))
    return out


def _clean(text: str) -> str:
    # Model text and file contents are untrusted: no escape sequence may reach the terminal.
    return sanitize_text(text)
