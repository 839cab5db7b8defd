"""Model answers are untrusted: parsing, validation, anchoring, dedupe, order and exit codes."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest

from reviewer.config import FAIL_ON
from reviewer.findings.dedupe import dedupe_and_sort
from reviewer.findings.model import (
    FINDINGS_SCHEMA,
    MAX_MESSAGE,
    MAX_TITLE,
    Finding,
    exit_code_for,
    fingerprint,
    severity_at_least,
)
from reviewer.findings.parse import parse_answer
from reviewer.findings.validate import MAX_FINDINGS_PER_BATCH, normalize_cwe, validate

# pkg/a.py changes lines 10-12 and 20; pkg/b.py changes line 5 only.
ALLOWED: Mapping[str, frozenset[int]] = {
    "pkg/a.py": frozenset({10, 11, 12, 20}),
    "pkg/b.py": frozenset({5}),
}


def raw(**over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": "pkg/a.py",
        "line": 11,
        "end_line": 11,
        "severity": "high",
        "category": "security",
        "cwe": "CWE-89",
        "title": "SQL built from user input",
        "message": "The query concatenates `name`.",
        "suggestion": "Use a parameterised query.",
    }
    item.update(over)
    return item


def finding(**over: Any) -> Finding:
    values: dict[str, Any] = {
        "path": "pkg/a.py",
        "line": 11,
        "end_line": 11,
        "severity": "high",
        "category": "security",
        "title": "SQL built from user input",
        "message": "m",
        "cwe": "CWE-89",
    }
    values.update(over)
    return Finding(**values)


def one(item: dict[str, Any]) -> Finding:
    kept, dropped = validate([item], ALLOWED)
    assert not dropped, dropped
    assert len(kept) == 1
    return kept[0]


def dropped_as(item: Any) -> str:
    kept, dropped = validate([item], ALLOWED)
    assert kept == []
    assert sum(dropped.values()) == 1
    return next(iter(dropped))


# --- the schema sent to the model -------------------------------------------------------------


def test_schema_is_plain_enough_for_grammar_converters() -> None:
    text = json.dumps(FINDINGS_SCHEMA)
    for construct in ("$ref", "oneOf", "anyOf", "allOf"):
        assert construct not in text
    item = FINDINGS_SCHEMA["properties"]["findings"]["items"]
    assert set(item["required"]) == set(item["properties"])
    assert item["properties"]["severity"]["enum"] == ["low", "medium", "high", "critical"]
    assert item["properties"]["category"]["enum"] == ["security", "performance", "correctness"]
    assert FINDINGS_SCHEMA["properties"]["findings"]["maxItems"] <= 20


def test_schema_accepts_a_conforming_answer_and_validate_keeps_it() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    answer = {"findings": [raw(cwe="", suggestion="")]}
    jsonschema.validate(answer, FINDINGS_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"findings": [raw(severity="info")]}, FINDINGS_SCHEMA)
    kept, _ = validate(answer["findings"], ALLOWED)
    assert kept[0].cwe is None and kept[0].suggestion is None


# --- parse_answer ------------------------------------------------------------------------------


def test_parse_plain_object() -> None:
    items, error = parse_answer(json.dumps({"findings": [raw()]}))
    assert error is None
    assert items == [raw()]


def test_parse_empty_findings_is_not_an_error() -> None:
    assert parse_answer('{"findings": []}') == ([], None)


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps({"findings": [raw()]}) + "\n```",
        "```\n" + json.dumps({"findings": [raw()]}) + "\n```\nHope this helps!",
        "Here are my findings:\n" + json.dumps({"findings": [raw()]}) + "\nThanks.",
        json.dumps([raw()]),  # a bare list
        json.dumps(raw()),  # a bare finding
        json.dumps({"issues": [raw()]}),  # the wrong key
        "Sure! {not json} and then " + json.dumps({"findings": [raw()]}),
    ],
)
def test_parse_is_lenient_about_wrapping(text: str) -> None:
    items, error = parse_answer(text)
    assert error is None
    assert items == [raw()]


def test_parse_takes_the_first_complete_object() -> None:
    text = json.dumps({"findings": [raw(line=10)]}) + "\n" + json.dumps({"findings": [raw(line=12)]})
    items, error = parse_answer(text)
    assert error is None
    assert [i["line"] for i in items] == [10]


def test_parse_salvages_complete_items_of_a_truncated_answer() -> None:
    full = json.dumps({"findings": [raw(line=10), raw(line=12)]})
    cut = full[: full.index('"line": 12') + 5]  # cut inside the second finding
    items, error = parse_answer(cut)
    assert error is None
    assert [i["line"] for i in items] == [10]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "I found no problems.",
        '{"findings": [{"path": "pkg/a.py", "li',  # truncated before any complete item
        "42",
        '"findings"',
        '{"verdict": "looks good"}',
        '{"findings": "none"}',
        '{"findings": [1, "two", null]}',
        "[" * 100_000,  # deeper than the JSON parser's recursion limit
        "{" * 50_000 + "}" * 50_000,
    ],
)
def test_parse_reports_unusable_answers_without_raising(text: str) -> None:
    items, error = parse_answer(text)
    assert items == []
    assert error


def test_parse_rejects_non_text() -> None:
    items, error = parse_answer(None)  # type: ignore[arg-type]
    assert items == [] and error


def test_parse_drops_non_object_items_but_keeps_the_rest() -> None:
    items, error = parse_answer(json.dumps({"findings": [raw(), "junk", 3]}))
    assert error is None
    assert items == [raw()]


def test_parse_is_bounded_on_huge_answers() -> None:
    huge_garbage = "{" + "x" * 10_000_000
    huge_valid = json.dumps({"findings": [raw(message="m" * 10_000_000)]})
    start = time.perf_counter()
    items, error = parse_answer(huge_garbage)
    assert items == [] and error
    items, error = parse_answer(huge_valid)
    assert items == [] and error is not None and "1 MB" in error
    assert time.perf_counter() - start < 5


def test_parse_keeps_a_valid_answer_followed_by_a_huge_tail() -> None:
    text = json.dumps({"findings": [raw()]}) + " " + "x" * 10_000_000
    items, error = parse_answer(text)
    assert error is None and items == [raw()]


# --- validate: paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["pkg/a.py", "./pkg/a.py", "b/pkg/a.py", "a/pkg/a.py", "pkg\\a.py", " pkg/a.py "]
)
def test_paths_are_normalised_to_the_batch_key(path: str) -> None:
    assert one(raw(path=path)).path == "pkg/a.py"


@pytest.mark.parametrize(
    "path",
    [
        "pkg/c.py",
        "/pkg/a.py",
        "/home/user/repo/pkg/a.py",
        "../pkg/a.py",
        "../../etc/passwd",
        "",
        None,
        42,
        ["pkg/a.py"],
        "a" * 5000,
    ],
)
def test_unknown_paths_are_dropped(path: Any) -> None:
    assert dropped_as(raw(path=path)) == "unknown_path"


# --- validate: lines and anchoring -------------------------------------------------------------


def test_line_in_unchanged_context_is_dropped() -> None:
    assert dropped_as(raw(line=15, end_line=15)) == "not_in_diff"
    assert dropped_as(raw(line=9, end_line=9)) == "not_in_diff"
    assert dropped_as(raw(path="pkg/b.py", line=11, end_line=11)) == "not_in_diff"


def test_range_overlapping_changes_is_reanchored_to_first_changed_line() -> None:
    f = one(raw(line=8, end_line=11))
    assert (f.line, f.end_line) == (10, 11)


def test_end_line_beyond_changes_is_pulled_back_to_last_changed_line() -> None:
    f = one(raw(line=11, end_line=17))
    assert (f.line, f.end_line) == (11, 12)
    f = one(raw(line=10, end_line=999))
    assert (f.line, f.end_line) == (10, 20)


@pytest.mark.parametrize("end", [None, "x", 3, True, -1])
def test_missing_or_backwards_end_line_becomes_line(end: Any) -> None:
    f = one(raw(line=12, end_line=end))
    assert (f.line, f.end_line) == (12, 12)


@pytest.mark.parametrize("line", [None, "eleven", 0, -11, True, 11.5, [11], {"n": 11}])
def test_bad_lines_are_dropped(line: Any) -> None:
    assert dropped_as(raw(line=line)) == "bad_line"


@pytest.mark.parametrize("line", ["11", 11.0, " 11 "])
def test_numeric_lines_of_the_wrong_type_are_accepted(line: Any) -> None:
    assert one(raw(line=line, end_line=line)).line == 11


# --- validate: enums and text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HIGH", "high"),
        (" Critical ", "critical"),
        ("info", "low"),
        ("Informational", "low"),
        ("moderate", "medium"),
        ("warning", "medium"),
        ("major", "high"),
        ("blocker", "critical"),
    ],
)
def test_severity_synonyms(given: str, expected: str) -> None:
    assert one(raw(severity=given)).severity == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("perf", "performance"),
        ("Optimization", "performance"),
        ("optimisation", "performance"),
        ("SECURITY", "security"),
        ("vulnerability", "security"),
        ("bug", "correctness"),
        ("Bug_Risk", "correctness"),
    ],
)
def test_category_synonyms(given: str, expected: str) -> None:
    assert one(raw(category=given)).category == expected


@pytest.mark.parametrize(
    "over",
    [
        {"severity": "apocalyptic"},
        {"severity": 3},
        {"severity": None},
        {"category": "style"},
        {"category": ["security"]},
        {"title": 12},
        {"message": {"text": "x"}},
    ],
)
def test_wrong_types_and_unknown_enums_are_dropped(over: dict[str, Any]) -> None:
    assert dropped_as(raw(**over)) == "bad_field"


@pytest.mark.parametrize("over", [{"title": ""}, {"title": "   "}, {"message": ""}, {"message": None}])
def test_empty_text_is_dropped(over: dict[str, Any]) -> None:
    assert dropped_as(raw(**over)) == "empty_text"


def test_non_objects_are_dropped() -> None:
    kept, dropped = validate(["x", 3, None, raw()], ALLOWED)
    assert len(kept) == 1
    assert dropped == {"not_an_object": 3}


def test_long_text_is_truncated_not_dropped() -> None:
    f = one(raw(title="t" * 10_000, message="m" * 100_000, suggestion="s" * 100_000))
    assert len(f.title) == MAX_TITLE and f.title.endswith("…")
    assert len(f.message) == MAX_MESSAGE
    assert f.suggestion is not None and len(f.suggestion) <= MAX_MESSAGE


def test_titles_are_one_line_and_control_characters_are_stripped() -> None:
    f = one(raw(title="SQL\ninjection\x1b[31m here\x07", message="a\x1b]0;pwned\x07\nb\x00c"))
    assert f.title == "SQL injection here"
    assert "\x1b" not in f.message and "\x00" not in f.message and "\x07" not in f.message
    assert f.message.splitlines()[-1] == "bc"


def test_lone_surrogates_are_removed() -> None:
    f = one(raw(message=json.loads('"bad \\ud800 text"')))
    f.message.encode("utf-8")  # would raise on a lone surrogate


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CWE-89", "CWE-89"),
        ("cwe 89", "CWE-89"),
        ("89", "CWE-89"),
        (89, "CWE-89"),
        ("CWE-079: Cross-site scripting", "CWE-79"),
        ("", None),
        (None, None),
        ("N/A", None),
        ("none", None),
        ("CWE-0", None),
        (True, None),
        (["CWE-89"], None),
    ],
)
def test_cwe_is_normalised(given: Any, expected: str | None) -> None:
    assert normalize_cwe(given) == expected
    assert one(raw(cwe=given)).cwe == expected


def test_suggestion_forms() -> None:
    assert one(raw(suggestion="")).suggestion is None
    assert one(raw(suggestion=None)).suggestion is None
    assert one(raw(suggestion=["a", "b"])).suggestion == "a\nb"
    assert one(raw(suggestion={"x": 1})).suggestion is None


def test_injected_extra_keys_are_ignored() -> None:
    f = one(raw(source="human", fixed=True, severity_override="low", path_override="/etc/passwd"))
    assert f.source == "llm"
    assert f.path == "pkg/a.py"
    assert f.severity == "high"
    assert one(raw()).to_json().keys() == {
        "path", "line", "end_line", "severity", "category", "cwe", "title", "message", "suggestion", "source",
    }  # fmt: skip


def test_source_is_the_callers() -> None:
    kept, _ = validate([raw()], ALLOWED, source="rule")
    assert kept[0].source == "rule"


def test_drops_are_counted_by_reason() -> None:
    items = [raw(), raw(path="x.py"), raw(line=99), raw(severity="?"), raw(title=""), raw(line="x")]
    kept, dropped = validate(items, ALLOWED)
    assert len(kept) == 1
    assert dropped == {"unknown_path": 1, "not_in_diff": 1, "bad_field": 1, "empty_text": 1, "bad_line": 1}


def test_findings_per_batch_are_capped() -> None:
    kept, dropped = validate([raw()] * (MAX_FINDINGS_PER_BATCH + 7), ALLOWED)
    assert len(kept) == MAX_FINDINGS_PER_BATCH
    assert dropped == {"too_many": 7}


# --- dedupe and order --------------------------------------------------------------------------


def test_dedupe_across_batches_keeps_the_most_severe() -> None:
    batch1 = finding(severity="medium", title="SQL injection via string formatting", line=10, end_line=11)
    batch2 = finding(severity="critical", title="Possible SQL injection: string formatting", line=11)
    out = dedupe_and_sort([batch1, batch2])
    assert out == [batch2]


def test_dedupe_uses_same_cwe_as_same_issue() -> None:
    a = finding(title="Injection", severity="low")
    b = finding(title="Query built unsafely", severity="high")
    assert dedupe_and_sort([a, b]) == [b]


def test_dedupe_keeps_different_issues() -> None:
    base = finding(cwe=None, title="SQL injection in query")
    others = [
        finding(cwe=None, title="SQL injection in query", path="pkg/b.py", line=5, end_line=5),
        finding(cwe=None, title="SQL injection in query", line=20, end_line=20),  # no overlap
        finding(cwe=None, title="SQL injection in query", category="performance"),
        finding(cwe=None, title="Quadratic loop over rows"),  # dissimilar title
    ]
    assert len(dedupe_and_sort([base, *others])) == 5


def test_exact_duplicates_collapse() -> None:
    assert dedupe_and_sort([finding(), finding(), finding()]) == [finding()]


def test_order_is_deterministic() -> None:
    items = [
        finding(path="z.py", line=1, end_line=1, title="b", cwe=None),
        finding(path="a.py", line=9, end_line=9, severity="low", title="x", cwe=None, category="performance"),
        finding(path="a.py", line=9, end_line=9, severity="critical", title="y", cwe=None),
        finding(path="a.py", line=3, end_line=3, severity="low", title="z", cwe=None),
        finding(
            path="a.py", line=9, end_line=9, severity="critical", title="a", cwe=None, category="correctness"
        ),
    ]
    expected = [("a.py", 3, "z"), ("a.py", 9, "a"), ("a.py", 9, "y"), ("a.py", 9, "x"), ("z.py", 1, "b")]
    for order in (items, list(reversed(items)), items[2:] + items[:2]):
        assert [(f.path, f.line, f.title) for f in dedupe_and_sort(order)] == expected


# --- fingerprint -------------------------------------------------------------------------------


def test_fingerprint_survives_moving_code_and_whitespace() -> None:
    here = finding(line=11, end_line=11)
    moved = finding(line=40, end_line=42, severity="low", message="other words")
    code = 'cur.execute("SELECT " + name)'
    assert fingerprint(here, code) == fingerprint(moved, "    " + code.replace(" + ", "  +  "))
    assert fingerprint(here) == fingerprint(moved)


def test_fingerprint_tells_issues_apart() -> None:
    base = fingerprint(finding(), "x = 1")
    assert base != fingerprint(finding(), "x = 2")
    assert base != fingerprint(finding(path="pkg/b.py"), "x = 1")
    assert base != fingerprint(finding(category="performance"), "x = 1")
    assert base != fingerprint(finding(title="Something else"), "x = 1")
    assert len(base) == 32 and int(base, 16) >= 0


# --- severity and exit codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        ("none", [0, 0, 0, 0]),
        ("low", [1, 1, 1, 1]),
        ("medium", [0, 1, 1, 1]),
        ("high", [0, 0, 1, 1]),
        ("critical", [0, 0, 0, 1]),
    ],
)
def test_exit_code_for_every_fail_on_level(fail_on: str, expected: list[int]) -> None:
    got = [exit_code_for([finding(severity=s)], fail_on) for s in ("low", "medium", "high", "critical")]
    assert got == expected
    assert exit_code_for([], fail_on) == 0


def test_exit_code_covers_every_fail_on_value() -> None:
    assert set(FAIL_ON) == {"none", "low", "medium", "high", "critical"}


def test_exit_code_uses_the_worst_finding() -> None:
    findings = [finding(severity="low"), finding(severity="critical"), finding(severity="medium")]
    assert exit_code_for(findings, "high") == 1
    assert exit_code_for(iter(findings), "critical") == 1


def test_severity_at_least() -> None:
    assert severity_at_least("high", "medium")
    assert severity_at_least("medium", "medium")
    assert not severity_at_least("low", "medium")
    assert not severity_at_least("critical", "none")
    with pytest.raises(ValueError):
        severity_at_least("high", "severe")
