"""Build analyzer inputs the way the pipeline does: from a real git diff in a tmp repository."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from index.languages import language_for
from reviewer.analyzers import AnalyzerInput, input_from_hunks
from tests.conftest import git, make_repo, write_files


def diff_api(name: str) -> Any:
    """A function of the diff stage, from ``reviewer.diff`` or, after the package split of issue 8,
    from the submodule that defines it."""
    for module in ("reviewer.diff", "reviewer.diff.parse", "reviewer.diff.blobs", "reviewer.diff.revisions",
                   "reviewer.diff.args"):
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise ImportError(f"reviewer.diff has no {name}")

EXTENSIONS = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "java": "java"}


def inputs_from_change(root: Path, before: Mapping[str, str], after: Mapping[str, str | None]) -> list[AnalyzerInput]:
    """Commit ``before``, write ``after`` into the working tree (None deletes a file), and build one
    input per changed file from ``git diff`` against HEAD."""
    make_repo(root, dict(before) or {".keep": ""})
    write_files(root, {k: v for k, v in after.items() if v is not None})
    for rel, text in after.items():
        if text is None:
            git(root, "rm", "-q", rel)
    git(root, "add", "-N", ".")  # new files show in the working-tree diff, as after `git add -N`
    repo = diff_api("open_repo")(root)
    spec = diff_api("parse_diff_args")([])
    out: list[AnalyzerInput] = []
    for f in diff_api("collect_diff")(repo, spec):
        if f.status == "deleted" or f.is_binary:
            continue
        text = diff_api("new_side_text")(repo, spec, f.path)
        if text is None:
            continue
        out.append(input_from_hunks(f.path, language_for(f.path, text), text, f.hunks))
    return out
