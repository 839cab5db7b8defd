"""The order in which changed files are reviewed: source first, then tests, then documentation.

Documentation (Markdown, reST, plain text) goes to the model only when nothing else is left to
review, or when the user asks for it (``--include-docs``, config ``include_docs``); otherwise it
is listed in the plan's ``skipped`` with why.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Protocol, TypeVar

from index.test_paths import is_test_path
from reviewer.result import Skipped

DOC_EXTENSIONS = frozenset({".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc", ".asciidoc", ".text"})
DOCS_WHY = ("documentation: sent to the model only when nothing else is left to review"
            " (pass --include-docs or set include_docs = true to review it too)")

class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


T = TypeVar("T", bound=_HasPath)


def kind_of(path: str) -> str:
    """"doc", "test" or "source"."""
    name = posixpath.basename(path)
    ext = posixpath.splitext(name)[1].lower()
    if ext in DOC_EXTENSIONS or name.upper() in ("README", "CHANGELOG", "LICENSE", "AUTHORS"):
        return "doc"
    if is_test_path(path):
        return "test"
    return "source"


def order_for_review(files: Sequence[tuple[T, str]], include_docs: bool) -> tuple[list[tuple[T, str]], list[Skipped]]:
    """``files`` (each with its text) ordered source, tests, docs; docs held back (as skipped)
    unless asked for or nothing else changed."""
    rank = {"source": 0, "test": 1, "doc": 2}
    ordered = sorted(files, key=lambda f: rank[kind_of(f[0].path)])
    docs = [f for f in ordered if kind_of(f[0].path) == "doc"]
    if include_docs or len(docs) == len(ordered):
        return ordered, []
    return ordered[: len(ordered) - len(docs)], [Skipped(f[0].path, DOCS_WHY) for f in docs]
