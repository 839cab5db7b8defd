"""Which changed files are reviewable, with their new-side text; the others with why not."""

from __future__ import annotations

from collections.abc import Sequence

import git

from index.walk import why_skip_content
from reviewer.config import Config
from reviewer.diff.blobs import new_side_text
from reviewer.diff.records import DiffSpec, FileDiff
from reviewer.result import Skipped


def classify(repo: git.Repo, spec: DiffSpec, files: Sequence[FileDiff], config: Config,
             sides: tuple[str, str | None]) -> tuple[list[tuple[FileDiff, str]], list[Skipped]]:
    """(reviewable files with their new-side text, skipped files with why)."""
    keep: list[tuple[FileDiff, str]] = []
    skipped: list[Skipped] = []
    for f in files:
        why: str | None = None
        text: str | None = None
        if f.is_binary or f.status == "binary":
            why = "binary"
        elif f.status == "deleted":
            why = "deleted: nothing left to review on the new side"
        elif f.is_submodule:
            why = "submodule"
        elif f.is_symlink:
            why = "symlink"
        elif f.status == "mode" or not f.hunks:
            why = "mode change only" if f.status == "mode" else "no content change"
        elif not f.added_lines and not any(ln.kind == "-" for h in f.hunks for ln in h.lines):
            why = "no content change"
        else:
            text = new_side_text(repo, spec, f.path, sides=sides)
            if text is None:
                why = "binary"
            else:
                why = why_skip_content(f.path, text.encode("utf-8", "surrogatepass"),
                                       config.max_file_bytes, config.max_line_length)
        if why is not None or text is None:
            skipped.append(Skipped(f.path, why or "unreadable"))
        else:
            keep.append((f, text))
    return keep, skipped
