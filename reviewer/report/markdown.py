"""A pull-request comment: a summary, a table of findings, one collapsible section per finding,
and a coverage and cost footer.

Model text and file names are untrusted: table cells get every Markdown punctuation character
backslash-escaped and HTML escaped; longer text goes into raw HTML blocks (``<p>``, ``<pre>``)
that Markdown does not parse, with HTML escaped, so no title or message can break the layout,
inject a link, or close a tag it did not open.
"""

from __future__ import annotations

import html
import re

from reviewer.findings.model import Finding
from reviewer.findings.validate import sanitize_text
from reviewer.report._common import (
    TOOL_NAME,
    coverage_lines,
    cwe_url,
    severity_counts,
    smoke_test_warning,
)
from reviewer.result import ReviewResult

_ICON = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦"}
# What can start inline markup (code, emphasis, links, tables, strikethrough, GitHub's emoji
# and math). CommonMark lets a backslash escape any ASCII punctuation; '<', '>', '&' and '"' go
# through html.escape instead, because a backslash before '&' does not stop an entity. Block
# markers ('#', '-', '1.') never start a line here: every line begins with '|' or a tag.
_CWE = re.compile(r"^CWE-[0-9]{1,5}$")
_MD_PUNCT = re.compile(r"([\\`*_\[\]()|~!:$])")


def escape_inline(text: str) -> str:
    """Text for one line of Markdown (a table cell, a summary): inert and on one line."""
    one_line = " ".join(sanitize_text(text).split())
    return html.escape(_MD_PUNCT.sub(r"\\\1", one_line), quote=True)


def escape_html(text: str) -> str:
    """Text for inside a raw HTML block. Markdown punctuation becomes character references too,
    so the text stays inert even in a renderer that parses Markdown inside HTML."""
    escaped = html.escape(sanitize_text(text), quote=True)
    return _MD_PUNCT.sub(lambda m: f"&#{ord(m.group(1))};", escaped)


def escape_block(text: str) -> str:
    """A paragraph for a raw HTML block, on one line: a blank line would end the block."""
    return "<br>".join(escape_html(text.strip()).splitlines())


def render_markdown(result: ReviewResult) -> str:
    out: list[str] = []
    if result.smoke_test_model:
        out += [f"> **Warning:** {escape_inline(smoke_test_warning(result))}", ""]
    out += [f"### {TOOL_NAME}: {severity_counts(result.findings)}", ""]
    if result.findings:
        out += ["| Severity | Category | Location | Title |", "| --- | --- | --- | --- |"]
        out += [_row(f) for f in result.findings]
        out.append("")
        for f in result.findings:
            out += _details(f)
    out += ["---", ""]
    out += [f"<sub>{escape_inline(line)}</sub><br>" for line in coverage_lines(result)]
    for skipped in result.coverage.skipped:
        out.append(f"<sub>Skipped {escape_inline(skipped.path)}: {escape_inline(skipped.why)}</sub><br>")
    for warning in result.stats.warnings:
        out.append(f"<sub>Warning: {escape_inline(warning)}</sub><br>")
    if result.smoke_test_model:
        out += ["", f"> **Warning:** {escape_inline(smoke_test_warning(result))}"]
    return "\n".join(out) + "\n"


def _location(f: Finding) -> str:
    where = f"{f.line}" if f.line == f.end_line else f"{f.line}-{f.end_line}"
    return f"{f.path}:{where}"


def _row(f: Finding) -> str:
    category = f.category
    if f.cwe and _CWE.match(f.cwe):
        category += f" ([{f.cwe}]({cwe_url(f.cwe)}))"
    elif f.cwe:
        category += f" ({escape_inline(f.cwe)})"
    cells = (
        f"{_ICON[f.severity]} {f.severity}",
        category,
        escape_inline(_location(f)),
        escape_inline(f.title),
    )
    return "| " + " | ".join(cells) + " |"


def _details(f: Finding) -> list[str]:
    summary = escape_html(" ".join(f"{f.severity}: {_location(f)}: {f.title}".split()))
    out = ["<details>", f"<summary>{summary}</summary>", ""]
    out.append(f"<p>{escape_block(f.message)}</p>")
    if f.suggestion:
        out += ["", "<p><b>Suggestion</b></p>", ""]
        # <pre> keeps the suggestion's code layout; escaped, so "</pre>" inside it is inert.
        out.append("<pre>" + html.escape(sanitize_text(f.suggestion).strip("\n"), quote=True) + "</pre>")
    out += ["", "</details>", ""]
    return out
