"""Report renderers: each turns a ``ReviewResult`` into one output format, and reads nothing else."""

from __future__ import annotations

from collections.abc import Callable

from reviewer.errors import BadInput
from reviewer.report.codequality import render_codequality
from reviewer.report.json_report import render_json
from reviewer.report.markdown import render_markdown
from reviewer.report.sarif import render_sarif
from reviewer.report.text import render_text
from reviewer.result import ReviewResult

_RENDERERS: dict[str, Callable[[ReviewResult], str]] = {
    "json": render_json,
    "sarif": render_sarif,
    "markdown": render_markdown,
    "codequality": render_codequality,
}
FORMATS = ("text", *_RENDERERS)


def render(result: ReviewResult, fmt: str, *, color: bool) -> str:
    """The report as text; ``color`` only affects the text format (the CLI decides it)."""
    if fmt == "text":
        return render_text(result, color=color)
    if fmt not in _RENDERERS:
        hint = f"use --format with one of: {', '.join(FORMATS)}"
        raise BadInput(f"unknown report format {fmt!r}", hint=hint)
    return _RENDERERS[fmt](result)


__all__ = ["FORMATS", "render"]
