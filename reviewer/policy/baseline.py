"""The baseline: findings a team accepted once, so later reviews report only new ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reviewer.config import Config
from reviewer.errors import BadInput, ConfigError
from reviewer.findings.model import Finding, fingerprint
from reviewer.result import ReviewResult

DEFAULT_BASELINE = ".localreview-baseline.json"


BASELINE_VERSION = 1


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
