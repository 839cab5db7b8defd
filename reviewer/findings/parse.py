"""A model's answer → a list of raw finding objects, leniently: fences, prose around JSON, truncation."""

from __future__ import annotations

import json
import re
from typing import Any

# Bounds on untrusted input: a runaway model (or a hostile server) must not cost unbounded time.
MAX_RAW_FINDINGS = 100  # items looked at per answer; the schema asks for at most 20
MAX_ANSWER_CHARS = 1_000_000


_MAX_DECODE_ATTEMPTS = 32  # start positions tried when the JSON is buried in prose


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


def answer_object(text: str) -> Any:
    """The first JSON value of a model's answer, found as leniently as ``parse_answer`` finds it;
    None when there is none. For answers other than findings (the verification verdicts)."""
    if not isinstance(text, str):
        return None
    value, found = _first_json(text[:MAX_ANSWER_CHARS].strip())
    return value if found else None


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
