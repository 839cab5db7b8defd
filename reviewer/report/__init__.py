"""Report renderers: each turns a ``ReviewResult`` into one output format, and reads nothing else."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from reviewer.errors import BadInput

if TYPE_CHECKING:
    from reviewer.result import ReviewResult

# Format -> (module, function): only the chosen renderer is imported.
_RENDERERS = {
    "text": ("reviewer.report.text", "render_text"),
    "json": ("reviewer.report.json_report", "render_json"),
    "sarif": ("reviewer.report.sarif", "render_sarif"),
    "markdown": ("reviewer.report.markdown", "render_markdown"),
    "codequality": ("reviewer.report.codequality", "render_codequality"),
}
FORMATS = tuple(_RENDERERS)


def render(result: ReviewResult, fmt: str, *, color: bool) -> str:
    """The report as text; ``color`` only affects the text format (the CLI decides it)."""
    if fmt not in _RENDERERS:
        hint = f"use --format with one of: {', '.join(FORMATS)}"
        raise BadInput(f"unknown report format {fmt!r}", hint=hint)
    module, name = _RENDERERS[fmt]
    renderer = getattr(importlib.import_module(module), name)
    text: str = renderer(result, color=color) if fmt == "text" else renderer(result)
    return text


__all__ = ["FORMATS", "render"]
