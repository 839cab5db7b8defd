"""The five report formats, read from hand-built ReviewResults."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reviewer.errors import BadInput
from reviewer.findings.model import Finding, fingerprint
from reviewer.report import FORMATS, render
from reviewer.report.markdown import escape_inline
from reviewer.result import Coverage, ReviewResult, Skipped, Stats
from tests.helpers import sarif_schema

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")

SQL = Finding(
    path="pkg/a.py",
    line=11,
    end_line=12,
    severity="critical",
    category="security",
    cwe="CWE-89",
    title="SQL built from user input",
    message="The query concatenates `name`.\nAn attacker controls it.",
    suggestion='cur.execute("SELECT * FROM t WHERE n = ?", (name,))',
)
LOOP = Finding(
    path="pkg/a.py",
    line=20,
    end_line=20,
    severity="medium",
    category="performance",
    title="Quadratic membership test",
    message="`x in list` inside a loop.",
)
BUG = Finding(
    path="pkg/b.py",
    line=5,
    end_line=5,
    severity="low",
    category="correctness",
    title="Off by one",
    message="range stops one early.",
    suggestion=None,
)
CODE = {
    "pkg/a.py": {
        9: "def lookup(cur, name):",
        10: "    # find the row",
        11: '    q = "SELECT * FROM t WHERE n = " + name',
        12: "    cur.execute(q)",
        13: "    return cur.fetchone()",
        20: "    if x in seen_list:",
    },
    "pkg/b.py": {5: "for i in range(len(xs) - 1):"},
}


def make(findings: tuple[Finding, ...] = (SQL, LOOP, BUG), **over: Any) -> ReviewResult:
    values: dict[str, Any] = {
        "findings": findings,
        "stats": Stats(
            batches=2,
            prompt_tokens=5120,
            completion_tokens=210,
            seconds=9.4,
            dropped={"not_in_diff": 2, "unknown_path": 1},
            warnings=("batch 2: answer was not JSON; retried once",),
        ),
        "coverage": Coverage(
            files_reviewed=("pkg/a.py", "pkg/b.py"),
            hunks_reviewed=3,
            hunks_total=4,
            skipped=(Skipped("static/app.min.js", "minified"),),
        ),
        "backend": "ollama",
        "model": "qwen2.5-coder:7b",
        "smoke_test_model": False,
        "redacted_secrets": 1,
        "code": CODE,
    }
    values.update(over)
    return ReviewResult(**values)


def test_every_format_renders() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "markdown", "codequality"}
    for fmt in FORMATS:
        assert render(make(), fmt, color=False).endswith("\n")
    with pytest.raises(BadInput):
        render(make(), "html", color=False)


# --- text --------------------------------------------------------------------------------------


def test_text_shows_findings_code_and_coverage_without_colour() -> None:
    out = render(make(), "text", color=False)
    assert not ANSI.search(out)
    assert out.index("pkg/a.py") < out.index("SQL built from user input") < out.index("pkg/b.py")
    assert "CRITICAL security CWE-89 line 11-12" in out
    assert "An attacker controls it." in out
    assert "suggestion: cur.execute(" in out
    assert '> 11 |     q = "SELECT * FROM t WHERE n = " + name' in out
    assert "  9 | def lookup(cur, name):" in out  # context above, unmarked
    assert "> 5 | for i in range(len(xs) - 1):" in out
    assert "3 findings: 1 critical, 1 medium, 1 low" in out
    assert "Reviewed 2 files, 3 of 4 hunks" in out
    assert "Skipped static/app.min.js: minified" in out
    assert "2 batches, 5120 prompt + 210 completion tokens, 9.4 s" in out
    assert "Dropped (validation, suppressions, baseline): 3 (not_in_diff 2, unknown_path 1)" in out
    assert "batch 2: answer was not JSON" in out
    assert "Secrets redacted before prompting: 1" in out
    assert "SmolLM2" not in out


def test_text_colour_only_when_asked() -> None:
    assert ANSI.search(render(make(), "text", color=True))


def test_text_strips_escape_sequences_from_untrusted_text() -> None:
    evil = Finding("pkg/b.py", 5, 5, "low", "correctness", "t\x1b[2Jitle", "m\x1b]0;x\x07sg")
    out = render(make((evil,), code={"pkg/b.py": {5: "x = 1\x1b[31m"}}), "text", color=False)
    assert "\x1b" not in out and "\x07" not in out


def test_text_smoke_test_warning_at_top_and_bottom() -> None:
    out = render(make(smoke_test_model=True, model="SmolLM2-135M-Instruct.Q4_1.gguf"), "text", color=False)
    lines = out.strip().splitlines()
    assert "SmolLM2-135M" in lines[0] and "not meaningful" in lines[0]
    assert "SmolLM2-135M" in lines[-1] and "not meaningful" in lines[-1]


def test_text_with_no_findings() -> None:
    out = render(make(()), "text", color=False)
    assert "No findings." in out and "Reviewed 2 files" in out


# --- json --------------------------------------------------------------------------------------


def test_json_has_design_shape() -> None:
    data = json.loads(render(make(), "json", color=False))
    assert list(data) == ["findings", "stats"]
    assert [list(f) for f in data["findings"]] == [
        [
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
        ]
    ] * 3
    assert data["findings"][0] == {
        "path": "pkg/a.py",
        "line": 11,
        "end_line": 12,
        "severity": "critical",
        "category": "security",
        "cwe": "CWE-89",
        "title": "SQL built from user input",
        "message": SQL.message,
        "suggestion": SQL.suggestion,
        "source": "llm",
    }
    assert data["findings"][2]["cwe"] is None and data["findings"][2]["suggestion"] is None
    stats = data["stats"]
    assert {k: stats[k] for k in ("batches", "prompt_tokens", "completion_tokens", "seconds")} == {
        "batches": 2,
        "prompt_tokens": 5120,
        "completion_tokens": 210,
        "seconds": 9.4,
    }
    assert stats["dropped"] == {"not_in_diff": 2, "unknown_path": 1}
    assert stats["coverage"]["skipped"] == [{"path": "static/app.min.js", "why": "minified"}]
    assert stats["smoke_test_model"] is False and stats["model"] == "qwen2.5-coder:7b"


def test_json_round_trips_findings() -> None:
    data = json.loads(render(make(), "json", color=False))
    assert tuple(Finding(**f) for f in data["findings"]) == (SQL, LOOP, BUG)


# --- sarif -------------------------------------------------------------------------------------




def _validate_sarif(log: dict[str, Any]) -> None:
    import jsonschema

    schema = sarif_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize(
    "findings",
    [(SQL, LOOP, BUG), (), (BUG,)],
    ids=["mixed", "no-findings", "no-cwe"],
)
def test_sarif_validates_against_the_oasis_schema(findings: tuple[Finding, ...]) -> None:
    _validate_sarif(json.loads(render(make(findings, smoke_test_model=True), "sarif", color=False)))


def test_sarif_schema_check_can_fail() -> None:
    log = json.loads(render(make(), "sarif", color=False))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        _validate_sarif(log)


def test_sarif_content() -> None:
    log = json.loads(render(make(), "sarif", color=False))
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "localreview" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["correctness", "performance", "security/CWE-89"]
    sql_rule = rules[2]
    assert sql_rule["helpUri"] == "https://cwe.mitre.org/data/definitions/89.html"
    assert "external/cwe/cwe-89" in sql_rule["properties"]["tags"]
    assert sql_rule["defaultConfiguration"]["level"] == "error"
    assert "helpUri" not in rules[0]
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    loc = results[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "pkg/a.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 11 and loc["region"]["endLine"] == 12
    assert loc["region"]["snippet"]["text"] == CODE["pkg/a.py"][11] + "\n" + CODE["pkg/a.py"][12] + "\n"
    assert results[0]["partialFingerprints"] == {"localreview/v1": fingerprint(SQL, CODE["pkg/a.py"][11])}
    assert results[0]["properties"]["severity"] == "critical"
    assert "SQL built from user input" in results[0]["message"]["text"]
    assert run["properties"]["coverage"]["hunks_total"] == 4
    assert run["properties"]["prompt_tokens"] == 5120


def test_sarif_percent_encodes_awkward_paths() -> None:
    odd = Finding("dir with space/ü#.py", 1, 1, "high", "security", "t", "m")
    log = json.loads(render(make((odd,), code={}), "sarif", color=False))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%20with%20space/%C3%BC%23.py"
    assert "snippet" not in log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    _validate_sarif(log)


def test_sarif_smoke_test_warning_is_a_notification() -> None:
    log = json.loads(render(make(smoke_test_model=True), "sarif", color=False))
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "SmolLM2-135M" in notes[0]["message"]["text"]


# --- markdown ----------------------------------------------------------------------------------


def test_markdown_summary_table_details_and_footer() -> None:
    out = render(make(), "markdown", color=False)
    assert "3 findings: 1 critical, 1 medium, 1 low" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 5  # header, delimiter row, one row per finding
    assert all(row.count(" | ") == 3 for row in table)
    assert "pkg/a.py\\:11-12" in table[2]
    assert "[CWE-89](https://cwe.mitre.org/data/definitions/89.html)" in table[2]
    assert out.count("<details>") == 3 == out.count("</details>")
    assert "<pre>cur.execute(&quot;SELECT * FROM t WHERE n = ?&quot;, (name,))</pre>" in out
    assert "3 of 4 hunks" in out and "5120 prompt + 210 completion tokens" in out
    assert "Skipped static/app.min.js: minified" in out
    assert "SmolLM2" not in out


def test_markdown_escapes_untrusted_text() -> None:
    evil = Finding(
        path="pkg/b.py",
        line=5,
        end_line=5,
        severity="high",
        category="security",
        title="<script>alert(1)</script> | [click](http://evil) **x**",
        message="</p></details><img src=x onerror=alert(1)>\n\n# heading\n| a | b |",
        suggestion="</pre><script>x</script>\n\nmore",
        cwe="CWE-79",
    )
    out = render(make((evil,)), "markdown", color=False)
    assert "<script>" not in out and "<img" not in out and "</pre><" not in out
    assert "](http://evil)" not in out
    row = next(line for line in out.splitlines() if line.startswith("| 🟧"))
    assert row.count("|") - row.count("\\|") == 5  # the title's pipe is escaped, the table intact
    assert out.count("<details>") == 1 == out.count("</details>")
    assert "\n# heading" not in out
    paragraph = next(line for line in out.splitlines() if line.startswith("<p>&lt;/p&gt;"))
    assert paragraph.endswith("</p>")  # the message stays one raw HTML line: no Markdown inside


@pytest.mark.parametrize("text", ["a|b", "<b>", "[x](y)", "`code`", "*em*", "_u_", ":smile:", "&amp;"])
def test_escape_inline_neutralises_markup(text: str) -> None:
    escaped = escape_inline(text)
    assert escaped != text
    assert "<" not in escaped and "\n" not in escaped


def test_markdown_smoke_test_warning_and_empty_result() -> None:
    out = render(make((), smoke_test_model=True), "markdown", color=False)
    assert "no findings" in out and "|" not in out.split("---")[0]
    warnings = [line for line in out.splitlines() if "SmolLM2-135M" in line]
    assert len(warnings) == 2 and "not meaningful" in warnings[0]


# --- codequality -------------------------------------------------------------------------------


def test_codequality_fields_and_severity_mapping() -> None:
    issues = json.loads(render(make(), "codequality", color=False))
    assert isinstance(issues, list) and len(issues) == 3
    for issue in issues:
        assert {"description", "check_name", "fingerprint", "severity", "location", "categories"} <= set(
            issue
        )
    assert [i["severity"] for i in issues] == ["blocker", "major", "minor"]
    assert [i["categories"] for i in issues] == [["Security"], ["Performance"], ["Bug Risk"]]
    assert issues[0]["location"] == {"path": "pkg/a.py", "lines": {"begin": 11, "end": 12}}
    assert issues[0]["check_name"] == "localreview/security/CWE-89"
    assert issues[0]["description"] == "[CWE-89] SQL built from user input"
    assert issues[2]["description"] == "Off by one"
    assert issues[0]["fingerprint"] == fingerprint(SQL, CODE["pkg/a.py"][11])


@pytest.mark.parametrize(
    ("severity", "expected"), [("low", "minor"), ("medium", "major"), ("high", "critical")]
)
def test_codequality_each_severity(severity: str, expected: str) -> None:
    f = Finding("pkg/b.py", 5, 5, severity, "correctness", "t", "m")
    assert json.loads(render(make((f,)), "codequality", color=False))[0]["severity"] == expected


def test_codequality_fingerprints_are_unique() -> None:
    twin_a = Finding("pkg/c.py", 1, 1, "low", "correctness", "Same title", "m")
    twin_b = Finding("pkg/c.py", 9, 9, "low", "correctness", "Same title", "m")
    issues = json.loads(render(make((twin_a, twin_b), code={}), "codequality", color=False))
    assert len({i["fingerprint"] for i in issues}) == 2


def test_codequality_empty() -> None:
    assert json.loads(render(make(()), "codequality", color=False)) == []


@pytest.mark.parametrize(
    ("severity", "level"), [("critical", "error"), ("high", "error"), ("medium", "warning"), ("low", "note")]
)
def test_sarif_level_for_each_severity(severity: str, level: str) -> None:
    f = Finding("pkg/b.py", 5, 5, severity, "security", "t", "m")
    log = json.loads(render(make((f,)), "sarif", color=False))
    assert log["runs"][0]["results"][0]["level"] == level
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == level
