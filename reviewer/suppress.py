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
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pathspec

from reviewer.config import Config
from reviewer.errors import BadInput, ConfigError
from reviewer.findings import Finding, fingerprint, normalize_cwe
from reviewer.result import ReviewResult

DEFAULT_BASELINE = ".localreview-baseline.json"
BASELINE_VERSION = 1

# A comment opener somewhere before the marker, so the words in a string or in prose elsewhere
# on the line do not count: #, //, /*, --, ;, %, <!--, a block comment's leading *, REM.
_MARKER = re.compile(
    r"(?:#|//|/\*|--|;|%|<!--|^\s*\*|\bREM\b).*?\blocalreview:\s*ignore\b(?:\[(?P<rules>[^\]]*)\])?",
    re.IGNORECASE,
)
# A line that holds nothing but a comment: only such a line suppresses the line below it. A
# trailing comment belongs to the code on its own line.
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//|/\*|--|;|%|<!--|\*|REM\b)", re.IGNORECASE)


# --- ignore globs ------------------------------------------------------------------------------


def _ignore_spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


# --- inline suppressions ----------------------------------------------------------------------


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
                self._files[path] = (self.root / path).read_text(encoding="utf-8", errors="replace").splitlines()
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


# --- the baseline -------------------------------------------------------------------------------


def _loose_key(f: Finding, code_line: str | None) -> str | None:
    """A second key for findings with a CWE: same file, kind of issue and code line. A model's
    titles vary between runs; the CWE it names on the same line is steadier."""
    if not f.cwe or not code_line or not code_line.strip():
        return None
    key = "\x00".join(("v1", f.path, f.category, f.cwe, " ".join(code_line.split())))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def baseline_path(config: Config, root: Path) -> Path:
    """The configured baseline (relative to the repository root), else the default file."""
    return root / (config.baseline or DEFAULT_BASELINE)


def _entries(result: ReviewResult) -> list[dict[str, Any]]:
    out = []
    for f in result.findings:
        code = result.code_line(f.path, f.line)
        out.append({
            "fingerprint": fingerprint(f, code),
            "loose": _loose_key(f, code),
            # For people reading the file in review; matching uses the keys above only.
            "path": f.path,
            "line": f.line,
            "severity": f.severity,
            "category": f.category,
            "cwe": f.cwe,
            "title": f.title,
        })
    return sorted(out, key=lambda e: (e["path"], e["line"], e["fingerprint"]))


def baseline_text(result: ReviewResult) -> str:
    """The baseline file for ``result``'s findings: stable, sorted JSON that diffs well
    (no timestamps, so re-running on the same findings changes nothing)."""
    data = {"version": BASELINE_VERSION, "tool": "localreview", "findings": _entries(result)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_baseline(result: ReviewResult, path: Path) -> int:
    """Write the baseline of ``result``'s findings to ``path``; returns how many it holds."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(baseline_text(result), encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write the baseline {path}: {exc.strerror}",
                       hint="choose a writable path with --output") from exc
    return len(result.findings)


class Baseline:
    """The accepted findings of a baseline file. Each entry accepts one finding: a second copy
    of accepted code is a new finding."""

    def __init__(self, entries: Sequence[tuple[str, str | None]]) -> None:
        self._by_exact: dict[str, list[int]] = {}
        self._by_loose: dict[str, list[int]] = {}
        for i, (exact, loose) in enumerate(entries):
            self._by_exact.setdefault(exact, []).append(i)
            if loose:
                self._by_loose.setdefault(loose, []).append(i)
        self._used: set[int] = set()
        self.size = len(entries)

    def _take(self, index: dict[str, list[int]], key: str | None) -> bool:
        for i in index.get(key or "", ()):
            if i not in self._used:
                self._used.add(i)
                return True
        return False

    def accepts(self, f: Finding, code_line: str | None) -> bool:
        """True (and the entry used up) when ``f`` is an accepted finding."""
        return self._take(self._by_exact, fingerprint(f, code_line)) or self._take(
            self._by_loose, _loose_key(f, code_line)
        )


def read_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the baseline {path}: {exc.strerror}",
                          hint="create it with `localreview baseline`, or fix `baseline` in the config") from exc
    except ValueError as exc:
        raise ConfigError(f"the baseline {path} is not valid JSON: {exc}",
                          hint="re-create it with `localreview baseline`") from exc
    items = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(items, list) or data.get("version") != BASELINE_VERSION:
        raise ConfigError(f"{path} is not a localreview baseline (version {BASELINE_VERSION})",
                          hint="re-create it with `localreview baseline`")
    entries: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("fingerprint"), str):
            loose = item.get("loose")
            entries.append((item["fingerprint"], loose if isinstance(loose, str) else None))
    return Baseline(entries)


# --- the filter ---------------------------------------------------------------------------------


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


__all__ = [
    "DEFAULT_BASELINE",
    "Baseline",
    "baseline_path",
    "baseline_text",
    "filter_findings",
    "read_baseline",
    "write_baseline",
]
