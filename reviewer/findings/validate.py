"""The Finding record, its JSON schema (sent to the model), validation and ordering.

A model's answer is untrusted text. It goes through three gates before anyone sees it:
``parse_answer`` (is there JSON at all?), ``validate`` (does each finding point at a line this
diff adds or changes, with known enums?) and ``dedupe_and_sort`` (one finding per issue, in a
stable order). Every finding dropped on the way is counted by reason, so the report can say so.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reviewer.findings.model import MAX_MESSAGE, MAX_PATH, MAX_SUGGESTION, MAX_TITLE, Finding

MAX_FINDINGS_PER_BATCH = 50  # valid findings kept per answer, the rest counted as "too_many"


# Synonyms seen in model output. "info"-like words map to "low" rather than being dropped: the
# model did point at a changed line, low never fails a build under the default --fail-on, and
# the user can still see it. Unknown words are dropped as "bad_field".
_SEVERITY_SYNONYMS = {
    "low": "low", "info": "low", "informational": "low", "information": "low", "note": "low",
    "minor": "low", "trivial": "low", "lowest": "low", "negligible": "low",
    "medium": "medium", "med": "medium", "moderate": "medium", "warning": "medium", "warn": "medium",
    "high": "high", "major": "high", "severe": "high", "important": "high", "error": "high",
    "critical": "critical", "crit": "critical", "blocker": "critical", "fatal": "critical",
    "urgent": "critical",
}  # fmt: skip


_CATEGORY_SYNONYMS = {
    "security": "security", "sec": "security", "vulnerability": "security", "vuln": "security",
    "performance": "performance", "perf": "performance", "optimization": "performance",
    "optimisation": "performance", "optimize": "performance", "efficiency": "performance",
    "speed": "performance",
    "correctness": "correctness", "bug": "correctness", "bug risk": "correctness",
    "bug-risk": "correctness", "logic": "correctness", "reliability": "correctness",
}  # fmt: skip


_CWE = re.compile(r"^\s*(?:cwe)?[\s:_#-]*(\d{1,5})\b", re.IGNORECASE)


# C0/C1 control characters and DEL (except tab and newline), since model text reaches terminals;
# and lone surrogates, which JSON can carry but UTF-8 output cannot encode.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class _Drop(Exception):
    """One finding is unusable; ``reason`` is the counter key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validate(
    raw: Sequence[Any],
    allowed: Mapping[str, frozenset[int]],
    source: str = "llm",
) -> tuple[list[Finding], Counter[str]]:
    """Keep the findings that point at this batch's changed lines; count the others by reason.

    ``allowed`` maps each path of the batch to the new-side lines its diff adds or changes.

    Anchoring: a finding whose ``line`` is a changed line stays as it is. When ``line`` is not,
    but the range [line, end_line] overlaps changed lines, ``line`` moves to the first changed
    line in the range (the model often points at the enclosing ``def`` above the change).
    Otherwise the finding is dropped as "not_in_diff". ``end_line`` is then pulled back to the
    last changed line at or before it, so both ends of the range are changed lines.

    Reasons: not_an_object, unknown_path, bad_line, not_in_diff, bad_field, empty_text, too_many.
    """
    kept: list[Finding] = []
    dropped: Counter[str] = Counter()
    for item in raw:
        try:
            finding = _one(item, allowed, source)
        except _Drop as drop:
            dropped[drop.reason] += 1
            continue
        if len(kept) >= MAX_FINDINGS_PER_BATCH:
            dropped["too_many"] += 1
            continue
        kept.append(finding)
    return kept, dropped


def _one(item: Any, allowed: Mapping[str, frozenset[int]], source: str) -> Finding:
    if not isinstance(item, dict):
        raise _Drop("not_an_object")
    path = _match_path(item.get("path"), allowed)
    lines = allowed[path]
    line = _as_int(item.get("line"))
    if line is None or line < 1:
        raise _Drop("bad_line")
    end = _as_int(item.get("end_line"))
    if end is None or end < line:
        end = line
    line, end = _anchor(line, end, lines)
    severity = _enum(item.get("severity"), _SEVERITY_SYNONYMS)
    category = _enum(item.get("category"), _CATEGORY_SYNONYMS)
    title = _text(item.get("title"), MAX_TITLE, one_line=True)
    message = _text(item.get("message"), MAX_MESSAGE)
    if not title or not message:
        raise _Drop("empty_text")
    suggestion = _optional_text(item.get("suggestion"), MAX_SUGGESTION)
    return Finding(
        path=path,
        line=line,
        end_line=end,
        severity=severity,
        category=category,
        title=title,
        message=message,
        cwe=normalize_cwe(item.get("cwe")),
        suggestion=suggestion,
        source=source,
    )


def normalize_path(path: str) -> str:
    """Repository-relative POSIX form: no ``./``, no backslashes, ``..`` resolved where it can be."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    if not path:
        return path
    normal = posixpath.normpath(path)
    return path if normal.startswith("../") or normal == ".." else normal


def _match_path(value: Any, allowed: Mapping[str, frozenset[int]]) -> str:
    """The key of ``allowed`` the model meant, or drop. The result is always an exact key, so a
    hostile path (absolute, ``../``) can never name a file outside the batch."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATH:
        raise _Drop("unknown_path")
    path = normalize_path(value)
    if path in allowed:
        return path
    # git's diff prefixes, copied from the prompt's diff header.
    for prefix in ("a/", "b/"):
        if path.startswith(prefix) and path[2:] in allowed:
            return path[2:]
    raise _Drop("unknown_path")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


def _anchor(line: int, end: int, lines: frozenset[int]) -> tuple[int, int]:
    if line not in lines:
        inside = [n for n in lines if line <= n <= end]
        if not inside:
            raise _Drop("not_in_diff")
        line = min(inside)
    if end not in lines:
        end = max(n for n in lines if line <= n <= end)
    return line, end


def _enum(value: Any, synonyms: Mapping[str, str]) -> str:
    if not isinstance(value, str):
        raise _Drop("bad_field")
    word = " ".join(value.strip().lower().replace("_", " ").split())
    if word not in synonyms:
        raise _Drop("bad_field")
    return synonyms[word]


def sanitize_text(text: str) -> str:
    """Strip ANSI escapes and control characters: model text reaches terminals and markup."""
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def _text(value: Any, cap: int, *, one_line: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Drop("bad_field")
    text = sanitize_text(value[: cap * 4])
    text = " ".join(text.split()) if one_line else text.strip()
    # Too long is truncated, not dropped: the start of a long message is still useful.
    return text if len(text) <= cap else text[: cap - 1].rstrip() + "…"


def _optional_text(value: Any, cap: int) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(value)
    if not isinstance(value, str):
        return None  # a malformed suggestion is not worth losing the finding over
    text = _text(value, cap)
    return text or None


def normalize_cwe(value: Any) -> str | None:
    """``CWE-<n>`` from "CWE-89", "cwe 89", "89", 89 or "CWE-89: SQL Injection"; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"CWE-{value}" if 0 < value < 100_000 else None
    if not isinstance(value, str):
        return None
    match = _CWE.match(value[:100])
    if match is None or int(match.group(1)) == 0:
        return None
    return f"CWE-{int(match.group(1))}"
