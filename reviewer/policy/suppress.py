"""What a team has already decided about: ignored paths, inline suppressions and the baseline.

Three filters run on a finished review, in this order, each counted in ``stats.dropped``:

- ``ignored``: the finding's path matches a gitignore-style pattern of the config's ``ignore``;
- ``suppressed``: a ``localreview: ignore`` or ``localreview: ignore[<rule>, ...]`` comment on
  the finding's line, or alone on the line above, where a rule is the category (``security``),
  the CWE (``CWE-89``) or the SARIF rule id (``security/CWE-89``);
- ``baseline``: the finding was accepted in the baseline file that ``localreview baseline``
  writes, so adopting the tool on an old code base starts from zero findings.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pathspec

from reviewer.config import Config
from reviewer.diff.records import text_lines
from reviewer.findings.model import Finding
from reviewer.findings.validate import normalize_cwe
from reviewer.policy.baseline import Baseline, baseline_path, read_baseline
from reviewer.result import ReviewResult

# A comment opener somewhere before the marker, so the words in a string or in prose elsewhere
# on the line do not count: #, //, /*, --, ;, %, <!--, a block comment's leading *, REM.
_MARKER = re.compile(
    r"(?:#|//|/\*|--|;|%|<!--|^\s*\*|\bREM\b).*?\blocalreview:\s*ignore\b(?:\[(?P<rules>[^\]]*)\])?",
    re.IGNORECASE,
)


# A line that holds nothing but a comment: only such a line suppresses the line below it. A
# trailing comment belongs to the code on its own line.
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//|/\*|--|;|%|<!--|\*|REM\b)", re.IGNORECASE)


def _ignore_spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def _rules(line: str) -> frozenset[str] | None:
    """The rules a line's marker names (empty set: every rule), or None without a marker."""
    m = _MARKER.search(line)
    if m is None:
        return None
    listed = m.group("rules")
    if listed is None:
        return frozenset()
    return frozenset(r.strip().lower() for r in listed.split(",") if r.strip())


def _matches(rules: frozenset[str], f: Finding) -> bool:
    if not rules:
        return True
    names = {f.category}
    if f.cwe:
        names |= {f.cwe.lower(), f"{f.category}/{f.cwe}".lower()}
    for rule in rules:
        if rule in names:
            return True
        # "cwe 89", "89" or "security/89" mean the same CWE as "CWE-89".
        cwe = normalize_cwe(rule.rpartition("/")[2])
        if cwe and f.cwe == cwe and rule.rpartition("/")[0] in ("", f.category):
            return True
    return False


class _Lines:
    """Source lines by (path, line): from the review's snippets first (the reviewed revision),
    else from the working tree."""

    def __init__(self, result: ReviewResult, root: Path) -> None:
        self.result = result
        self.root = root
        self._files: dict[str, list[str] | None] = {}

    def get(self, path: str, line: int) -> str | None:
        if line < 1:
            return None
        known = self.result.code_line(path, line)
        if known is not None:
            return known
        if path not in self._files:
            try:
                self._files[path] = text_lines((self.root / path).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                self._files[path] = None
        lines = self._files[path]
        return lines[line - 1] if lines is not None and line <= len(lines) else None


def _suppressed(f: Finding, lines: _Lines) -> bool:
    own = lines.get(f.path, f.line)
    rules = _rules(own) if own is not None else None
    if rules is not None and _matches(rules, f):
        return True
    above = lines.get(f.path, f.line - 1)
    if above is None or not _COMMENT_ONLY.match(above):
        return False
    rules = _rules(above)
    return rules is not None and _matches(rules, f)


def filter_findings(result: ReviewResult, config: Config, root: Path, *, baseline: bool = True) -> ReviewResult:
    """``result`` without ignored, suppressed and baselined findings, each counted in
    ``stats.dropped``. ``baseline=False`` skips the baseline (when writing a new one)."""
    spec = _ignore_spec(config.ignore)
    lines = _Lines(result, root)
    warnings: list[str] = []
    accepted: Baseline | None = None
    if baseline:
        path = baseline_path(config, root)
        if path.is_file():
            accepted = read_baseline(path)
        elif config.baseline:
            # Reporting everything is the safe side of a missing file; say why the old findings are back.
            warnings.append(f"the baseline {path} (from {config.source_of('baseline')}) does not exist:"
                            " all findings are reported; create it with `localreview baseline`")
    dropped: Counter[str] = Counter()
    kept: list[Finding] = []
    for f in result.findings:
        if spec is not None and spec.match_file(f.path):
            dropped["ignored"] += 1
        elif _suppressed(f, lines):
            dropped["suppressed"] += 1
        elif accepted is not None and accepted.accepts(f, result.code_line(f.path, f.line)):
            dropped["baseline"] += 1
        else:
            kept.append(f)
    if not dropped and not warnings:
        return result
    merged = Counter(dict(result.stats.dropped))
    merged.update(dropped)
    stats = dataclasses.replace(result.stats, dropped=dict(merged),
                                warnings=(*result.stats.warnings, *warnings))
    return dataclasses.replace(result, findings=tuple(kept), stats=stats)
