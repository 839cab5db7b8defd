"""Ignore globs, inline suppressions and the baseline, on hand-built results and on a review
through the `localreview baseline` command against a loopback Ollama."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.config import Config
from reviewer.errors import ConfigError
from reviewer.findings.model import Finding
from reviewer.policy.baseline import DEFAULT_BASELINE, baseline_text, write_baseline
from reviewer.policy.suppress import filter_findings
from reviewer.result import Coverage, ReviewResult, Stats
from tests.conftest import git, make_repo
from tests.reviewer.ollama_fake import FakeOllama


def finding(path: str = "app/db.py", line: int = 3, *, category: str = "security", cwe: str | None = "CWE-89",
            title: str = "SQL built from user input") -> Finding:
    return Finding(path=path, line=line, end_line=line, severity="high", category=category, cwe=cwe,
                   title=title, message="The query concatenates input.")


def result_of(findings: list[Finding], code: dict[str, dict[int, str]], dropped: dict[str, int] | None = None
              ) -> ReviewResult:
    return ReviewResult(
        findings=tuple(findings),
        stats=Stats(1, 100, 10, 1.0, dict(dropped or {})),
        coverage=Coverage(tuple(sorted({f.path for f in findings})), 1, 1),
        backend="ollama",
        model="m",
        code=code,
    )


SQL_LINE = '    cur.execute("SELECT * FROM t WHERE n = " + name)'


# --- ignore globs -------------------------------------------------------------------------------


def test_ignore_globs_are_gitignore_style(tmp_path: Path) -> None:
    findings = [finding("vendor/lib/x.py"), finding("app/db.py"), finding("web/static/app.min.js"),
                finding("tests/test_db.py")]
    config = Config(ignore=("vendor/", "*.min.js", "/tests/"))
    out = filter_findings(result_of(findings, {}), config, tmp_path)
    assert [f.path for f in out.findings] == ["app/db.py"]
    assert out.stats.dropped["ignored"] == 3


def test_no_rules_returns_the_result_unchanged(tmp_path: Path) -> None:
    result = result_of([finding()], {"app/db.py": {3: SQL_LINE}})
    assert filter_findings(result, Config(), tmp_path) is result


# --- inline suppressions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # localreview: ignore", True),
        ("  # localreview: ignore[]", True),
        ("  # localreview: ignore[security]", True),
        ("  # localreview: ignore[CWE-89]", True),
        ("  # localreview: ignore[cwe-89]", True),
        ("  # localreview: ignore[security/CWE-89]", True),
        ("  # localreview: ignore[performance, CWE-89]", True),
        ("  // LocalReview: Ignore[89]", True),
        ("  /* localreview: ignore[security] */", True),
        ("  # localreview: ignore[performance]", False),
        ("  # localreview: ignore[CWE-79]", False),
        ("  # localreview: ignore[performance/CWE-89]", False),
        ('  x = "localreview: ignore"', False),  # in a string, not a comment
        ("  # localreview ignore", False),
    ],
)
def test_inline_suppression_on_the_line(tmp_path: Path, comment: str, suppressed: bool) -> None:
    code = {"app/db.py": {2: "def q(cur, name):", 3: SQL_LINE + comment}}
    out = filter_findings(result_of([finding()], code), Config(), tmp_path)
    assert (not out.findings) is suppressed
    assert out.stats.dropped.get("suppressed", 0) == (1 if suppressed else 0)


def test_a_comment_line_above_suppresses_the_line_below(tmp_path: Path) -> None:
    code = {"app/db.py": {2: "    # localreview: ignore[CWE-89] reviewed: name is an enum", 3: SQL_LINE}}
    out = filter_findings(result_of([finding()], code), Config(), tmp_path)
    assert not out.findings and out.stats.dropped["suppressed"] == 1


def test_a_trailing_comment_above_belongs_to_its_own_line(tmp_path: Path) -> None:
    code = {"app/db.py": {2: "    name = clean(name)  # localreview: ignore", 3: SQL_LINE}}
    out = filter_findings(result_of([finding()], code), Config(), tmp_path)
    assert len(out.findings) == 1


def test_a_finding_without_cwe_matches_by_category_only(tmp_path: Path) -> None:
    loop = finding(category="performance", cwe=None, title="Quadratic loop")
    code = {"app/db.py": {3: "    for x in xs:  # localreview: ignore[performance]"}}
    assert not filter_findings(result_of([loop], code), Config(), tmp_path).findings
    code = {"app/db.py": {3: "    for x in xs:  # localreview: ignore[CWE-89]"}}
    assert filter_findings(result_of([loop], code), Config(), tmp_path).findings


def test_lines_missing_from_the_snippets_are_read_from_the_work_tree(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text("import x\n# localreview: ignore\n" + SQL_LINE + "\n")
    out = filter_findings(result_of([finding()], {}), Config(), tmp_path)
    assert not out.findings


def test_counts_add_to_the_validation_drops(tmp_path: Path) -> None:
    code = {"app/db.py": {3: SQL_LINE + "  # localreview: ignore"}}
    out = filter_findings(result_of([finding()], code, {"not_in_diff": 2}), Config(), tmp_path)
    assert out.stats.dropped == {"not_in_diff": 2, "suppressed": 1}


# --- the baseline -------------------------------------------------------------------------------


def test_baseline_accepts_old_findings_and_reports_new_ones(tmp_path: Path) -> None:
    old = finding()
    write_baseline(result_of([old], {"app/db.py": {3: SQL_LINE}}), tmp_path / DEFAULT_BASELINE)
    # The code moved down 40 lines (same text, other whitespace); a new issue appeared elsewhere.
    moved = replace(old, line=43, end_line=43)
    new = finding(line=50, title="Command built from user input", cwe="CWE-78")
    code = {"app/db.py": {43: "  " + SQL_LINE.strip(), 50: "    os.system('ls ' + d)"}}
    out = filter_findings(result_of([moved, new], code), Config(), tmp_path)
    assert out.findings == (new,)
    assert out.stats.dropped["baseline"] == 1


def test_baseline_entry_accepts_one_copy_only(tmp_path: Path) -> None:
    write_baseline(result_of([finding()], {"app/db.py": {3: SQL_LINE}}), tmp_path / DEFAULT_BASELINE)
    copies = [finding(line=3), finding(line=30)]  # the same bad line, pasted a second time
    out = filter_findings(result_of(copies, {"app/db.py": {3: SQL_LINE, 30: SQL_LINE}}), Config(), tmp_path)
    assert len(out.findings) == 1 and out.stats.dropped["baseline"] == 1


def test_baseline_tolerates_a_reworded_title_with_the_same_cwe(tmp_path: Path) -> None:
    write_baseline(result_of([finding()], {"app/db.py": {3: SQL_LINE}}), tmp_path / DEFAULT_BASELINE)
    reworded = finding(title="Possible SQL injection via string concatenation")
    out = filter_findings(result_of([reworded], {"app/db.py": {3: SQL_LINE}}), Config(), tmp_path)
    assert not out.findings
    other_code = {"app/db.py": {3: '    cur.execute("DELETE FROM t WHERE n = " + name)'}}
    assert filter_findings(result_of([reworded], other_code), Config(), tmp_path).findings


def test_configured_baseline_path_and_a_missing_file(tmp_path: Path) -> None:
    config = Config(baseline="ci/accepted.json", sources={"baseline": ".localreview.toml"})
    result = result_of([finding()], {"app/db.py": {3: SQL_LINE}})
    out = filter_findings(result, config, tmp_path)
    assert out.findings == result.findings
    assert any("ci/accepted.json" in w and "localreview baseline" in w for w in out.stats.warnings)
    write_baseline(result, tmp_path / "ci" / "accepted.json")
    assert not filter_findings(result, config, tmp_path).findings
    # baseline=False (writing a new baseline) never reads the old one.
    assert filter_findings(result, config, tmp_path, baseline=False).findings == result.findings


def test_baseline_file_is_stable_and_readable(tmp_path: Path) -> None:
    result = result_of([finding(line=9), finding("a.py", 1)], {"app/db.py": {9: SQL_LINE}, "a.py": {1: "x"}})
    text = baseline_text(result)
    assert text == baseline_text(result)
    data = json.loads(text)
    assert data["version"] == 1
    assert [e["path"] for e in data["findings"]] == ["a.py", "app/db.py"]
    assert {"fingerprint", "path", "line", "category", "cwe", "title"} <= set(data["findings"][0])


@pytest.mark.parametrize("text", ["not json", '{"findings": "x"}', '{"version": 9, "findings": []}'])
def test_a_broken_baseline_is_a_clear_error(tmp_path: Path, text: str) -> None:
    (tmp_path / DEFAULT_BASELINE).write_text(text)
    with pytest.raises(ConfigError) as err:
        filter_findings(result_of([finding()], {}), Config(), tmp_path)
    assert DEFAULT_BASELINE in err.value.message and "localreview baseline" in (err.value.hint or "")


# --- `localreview baseline` end to end, with a loopback Ollama -------------------------------------

APP = "import sqlite3\n\n\ndef find(cur, name):\n    return cur.fetchone()\n"
CHANGED = 'import sqlite3\n\n\ndef find(cur, name):\n    cur.execute("SELECT * FROM t WHERE n = " + name)\n' \
          "    return cur.fetchone()\n"


def _answer(line: int) -> str:
    item: dict[str, Any] = {"path": "app/db.py", "line": line, "end_line": line, "severity": "high",
                            "category": "security", "cwe": "CWE-89", "title": "SQL built from user input",
                            "message": "name reaches the query.", "suggestion": ""}
    return json.dumps({"findings": [item]})


def test_baseline_command_writes_what_later_reviews_accept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "r", {"app/db.py": APP})
    (root / "app" / "db.py").write_text(CHANGED)
    git(root, "commit", "-qam", "query")
    monkeypatch.chdir(root)
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        fake.reply = _answer(5)
        args = ["--backend", "ollama", "--host", fake.url, "--model", "qwen2.5-coder:7b"]
        out = CliRunner().invoke(cli, ["baseline", "HEAD~1", *args])
        assert out.exit_code == 0, out.output
        assert f"wrote 1 accepted finding to {root / DEFAULT_BASELINE}" in out.output
        data = json.loads((root / DEFAULT_BASELINE).read_text())
        assert [(e["path"], e["line"], e["cwe"]) for e in data["findings"]] == [("app/db.py", 5, "CWE-89")]

        # --output elsewhere, and a path filter after "--" reaches git.
        other = tmp_path / "elsewhere.json"
        out = CliRunner().invoke(cli, ["baseline", "HEAD~1", "--output", str(other), *args,
                                       "--localreview-paths-follow", "app/"])
        assert out.exit_code == 0, out.output
        assert other.is_file() and "baseline = " in out.output

    # A later review of the same change, filtered: the accepted finding is dropped as "baseline".
    from reviewer.backends.ollama import OllamaBackend
    from reviewer.config import load_config
    from reviewer.diff.args import parse_diff_args
    from reviewer.diff.revisions import open_repo
    from reviewer.pipeline import review

    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        fake.reply = _answer(5)
        config = load_config(root, {"backend": "ollama", "host": fake.url, "model": "qwen2.5-coder:7b"})
        backend = OllamaBackend(fake.url, "qwen2.5-coder:7b", 30)
        _plan, result = review(open_repo(root), root, parse_diff_args(["HEAD~1"]), config, backend, cwd=root)
    assert len(result.findings) == 1
    filtered = filter_findings(result, config, root)
    assert not filtered.findings and filtered.stats.dropped["baseline"] == 1
