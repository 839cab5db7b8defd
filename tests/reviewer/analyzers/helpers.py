"""Build analyzer inputs the way the pipeline does: from a real git diff in a tmp repository."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from index.languages import language_for
from reviewer.analyzers.lines import input_from_hunks
from reviewer.analyzers.records import AnalyzerInput
from reviewer.diff.args import parse_diff_args
from reviewer.diff.blobs import new_side_text
from reviewer.diff.parse import collect_diff
from reviewer.diff.revisions import open_repo
from tests.conftest import git, make_repo, write_files

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
    repo = open_repo(root)
    spec = parse_diff_args([])
    out: list[AnalyzerInput] = []
    for f in collect_diff(repo, spec):
        if f.status == "deleted" or f.is_binary:
            continue
        text = new_side_text(repo, spec, f.path)
        if text is None:
            continue
        out.append(input_from_hunks(f.path, language_for(f.path, text), text, f.hunks))
    return out
