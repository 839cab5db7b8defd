"""The Finding record, its JSON schema (sent to the model), validation and ordering.

A model's answer is untrusted text. It goes through three gates before anyone sees it:
``parse_answer`` (is there JSON at all?), ``validate`` (does each finding point at a line this
diff adds or changes, with known enums?) and ``dedupe_and_sort`` (one finding per issue, in a
stable order). Every finding dropped on the way is counted by reason, so the report can say so.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reviewer.config import FAIL_ON, SEVERITIES

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
CATEGORIES = ("security", "performance", "correctness")
JSON_KEYS = (
    "path",
    "line",
    "end_line",
    "severity",
    "category",
    "cwe",
    "title",
    "message",
    "suggestion",
    "source",
)

# Bounds on untrusted input: a runaway model (or a hostile server) must not cost unbounded time.
MAX_ANSWER_CHARS = 1_000_000
MAX_RAW_FINDINGS = 100  # items looked at per answer; the schema asks for at most 20
MAX_FINDINGS_PER_BATCH = 50  # valid findings kept per answer, the rest counted as "too_many"
_MAX_DECODE_ATTEMPTS = 32  # start positions tried when the JSON is buried in prose

MAX_TITLE = 200
MAX_MESSAGE = 4_000
MAX_SUGGESTION = 4_000
MAX_PATH = 1_000


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    end_line: int
    severity: str  # low | medium | high | critical
    category: str  # security | performance | correctness
    title: str
    message: str
    cwe: str | None = None  # "CWE-<n>" or None
    suggestion: str | None = None
    source: str = "llm"

    def to_json(self) -> dict[str, Any]:
        """The finding in DESIGN.md's key order (cwe before title, unlike the fields)."""
        return {key: getattr(self, key) for key in JSON_KEYS}


_FINDING_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    # Key order matters: grammar-constrained decoders emit keys in this order, so locating the
    # issue (path, line) comes before the model writes prose about it.
    "properties": {
        "path": {"type": "string"},
        "line": {"type": "integer"},
        "end_line": {"type": "integer"},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "cwe": {"type": "string"},  # "" when none: nullable unions trip some grammar converters
        "title": {"type": "string"},
        "message": {"type": "string"},
        "suggestion": {"type": "string"},  # "" when none
    },
    "required": ["path", "line", "end_line", "severity", "category", "cwe", "title", "message", "suggestion"],
    "additionalProperties": False,
}

# Sent to the model for structured output. Plain types only (no $ref / oneOf / null unions) so
# llama.cpp's schema-to-grammar converter and Ollama's ``format`` both accept it unchanged.
FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {"type": "array", "maxItems": 20, "items": _FINDING_ITEM_SCHEMA},
    },
    "required": ["findings"],
    "additionalProperties": False,
}


# ---------------------------------------------------------------------------------------------
# parse_answer
# ---------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|javascript|js)?[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
# Keys a model may use instead of "findings" when it ignores the schema.
_LIST_KEYS = ("findings", "issues", "results", "problems", "vulnerabilities")
_OPENER = re.compile(r"[{\[]")


def parse_answer(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Raw finding dicts from a model answer, and an error when the answer is unusable.

    Lenient about the wrapping (code fences, prose around the JSON, a bare list, a single
    finding object) and strict about nothing else: field checks are ``validate``'s job.
    An empty list with no error means the model found nothing. Never raises.
    """
    if not isinstance(text, str):
        return [], f"answer is {type(text).__name__}, not text"
    oversized = len(text) > MAX_ANSWER_CHARS
    text = text[:MAX_ANSWER_CHARS].strip()
    if not text:
        return [], "answer is empty"
    value, found = _first_json(text)
    if not found:
        why = "answer is larger than the 1 MB parse limit" if oversized else "answer contains no JSON"
        return [], why
    items = _finding_list(value)
    if items is None:
        return [], f"answer is JSON but not a findings object ({type(value).__name__})"
    dicts = [item for item in items[:MAX_RAW_FINDINGS] if isinstance(item, dict)]
    if items and not dicts:
        return [], "answer lists findings that are not JSON objects"
    return dicts, None


def _first_json(text: str) -> tuple[Any, bool]:
    """The first complete JSON value in ``text``: whole, inside a fence, embedded in prose, or
    the complete items of a list cut off by the model's token limit."""
    candidates = [text]
    fence = _FENCE.search(text)
    if fence:
        candidates.insert(0, fence.group(1).strip())
    for candidate in candidates:
        try:
            return json.loads(candidate), True
        except (ValueError, RecursionError):
            pass
        value, found = _scan(candidate)
        if found:
            return value, True
    return None, False


def _scan(text: str) -> tuple[Any, bool]:
    # Bounded: try a few '{' / '[' starts, never every position of a huge answer.
    decoder = json.JSONDecoder()
    start = 0
    for attempt in range(_MAX_DECODE_ATTEMPTS):
        match = _OPENER.search(text, start)
        if match is None:
            break
        try:
            value, _end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            # The outermost value is broken: most likely truncated, so keep what is whole
            # rather than returning its first inner object as if it were the answer.
            if attempt == 0:
                items = _salvage(text, match.start())
                if items:
                    return items, True
            start = match.start() + 1
            continue
        return value, True
    return None, False


def _salvage(text: str, start: int) -> list[Any] | None:
    """The complete items of the first findings list opened at or after ``start``."""
    key = text.find('"findings"', start)
    bracket = text.find("[", key if key >= 0 else start)
    if bracket < 0:
        return None
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = bracket + 1
    while len(items) < MAX_RAW_FINDINGS:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        items.append(item)
    return items if any(isinstance(item, dict) for item in items) else None


def _finding_list(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        return None
    for key in _LIST_KEYS:
        if isinstance(value.get(key), list):
            return list(value[key])
    # A model asked for one issue sometimes answers with the bare finding object.
    if "path" in value and ("title" in value or "message" in value):
        return [value]
    return None


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# dedupe, order, fingerprint, exit code
# ---------------------------------------------------------------------------------------------


def _title_words(title: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", title.lower()))


def _similar_titles(a: Finding, b: Finding) -> bool:
    if a.cwe is not None and a.cwe == b.cwe:
        return True
    wa, wb = _title_words(a.title), _title_words(b.title)
    if wa and wb and len(wa & wb) / len(wa | wb) >= 0.5:
        return True
    return difflib.SequenceMatcher(None, a.title.lower(), b.title.lower()).ratio() >= 0.75


def _duplicates(a: Finding, b: Finding) -> bool:
    return (
        a.path == b.path
        and a.category == b.category
        and a.line <= b.end_line
        and b.line <= a.end_line
        and _similar_titles(a, b)
    )


def _order_key(f: Finding) -> tuple[str, int, int, str, int, str, str]:
    return (f.path, f.line, -SEVERITY_ORDER[f.severity], f.title, f.end_line, f.category, f.message)


def dedupe_and_sort(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per issue across batches, most severe kept; order: path, line, severity
    (most severe first), title, then the remaining fields so equal inputs give equal output."""
    by_severity = sorted(findings, key=lambda f: (-SEVERITY_ORDER[f.severity], *_order_key(f)))
    kept: list[Finding] = []
    for finding in by_severity:
        if not any(_duplicates(finding, other) for other in kept):
            kept.append(finding)
    return sorted(kept, key=_order_key)


def fingerprint(f: Finding, code_line: str | None = None) -> str:
    """A stable id for baselines and SARIF ``partialFingerprints``.

    Built from path, category and normalised title, plus the whitespace-normalised text of the
    code line when given, never from line numbers: code that moves keeps its fingerprint.
    """
    title = " ".join(sorted(_title_words(f.title)))
    code = " ".join(code_line.split()) if code_line else ""
    key = "\x00".join(("v1", f.path, f.category, title, code))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` reaches ``threshold``; the threshold "none" is never reached."""
    if threshold not in FAIL_ON:
        raise ValueError(f"unknown threshold {threshold!r}; expected one of {', '.join(FAIL_ON)}")
    if threshold == "none":
        return False
    return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[threshold]


def exit_code_for(findings: Iterable[Finding], fail_on: str) -> int:
    """1 when any finding is at or above ``fail_on``, else 0 (DESIGN.md's exit codes)."""
    return 1 if any(severity_at_least(f.severity, fail_on) for f in findings) else 0


__all__ = [
    "CATEGORIES",
    "FINDINGS_SCHEMA",
    "SEVERITY_ORDER",
    "Finding",
    "dedupe_and_sort",
    "exit_code_for",
    "fingerprint",
    "normalize_cwe",
    "normalize_path",
    "parse_answer",
    "sanitize_text",
    "severity_at_least",
    "validate",
]
