"""The review end to end: plan → model → validated findings → reports → exit code.

The embedded model (real SmolLM2 through llama.cpp) and a loopback server speaking Ollama's
REST API are the models; a fake backend appears only where the model's answer must be
chosen (garbage, adversarial output, truncation), as a real implementation of the protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reviewer.config import Config
from reviewer.diff.args import parse_diff_args
from reviewer.diff.revisions import open_repo
from reviewer.errors import ServerTruncatedPrompt
from reviewer.pipeline import review
from reviewer.report import render
from tests.conftest import make_repo
from tests.helpers import ScriptedBackend, run_cli, sarif_schema
from tests.reviewer.ollama_fake import FakeOllama, free_port

APP = '''import sqlite3


def connect(path):
    return sqlite3.connect(path)


def find_user(db, name):
    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
'''

CHANGE = '''

def delete_user(db, request):
    name = request.args["name"]
    db.execute("DELETE FROM users WHERE name = '%s'" % name)
    for row in db.execute("SELECT id FROM users").fetchall():
        for other in db.execute("SELECT id FROM users").fetchall():
            print(row, other)
    return find_user(db, name)
'''


def repo_with_commit(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "r", {"app/db.py": APP, "app/__init__.py": ""})
    (root / "app/db.py").write_text(APP + CHANGE)
    subprocess.run(["git", "commit", "-qam", "delete users"], cwd=root, check=True)
    return root


def added_lines(root: Path) -> set[int]:
    return {n for n, line in enumerate((root / "app/db.py").read_text().split("\n"), 1)
            if n > len(APP.split("\n")) - 1 and line.strip()}




def run_review(root: Path, backend: ScriptedBackend, **cfg: Any) -> Any:
    """The model's side of a review (the analyzer stage has tests of its own)."""
    return review(open_repo(root), root, parse_diff_args(["HEAD~1"]), Config(**{"analyzers": False, **cfg}), backend)


def finding(line: int, **kw: Any) -> dict[str, Any]:
    base = {"path": "app/db.py", "line": line, "end_line": line, "severity": "high", "category": "security",
            "cwe": "CWE-89", "title": "SQL injection", "message": "string formatting builds SQL",
            "suggestion": "use a parameter"}
    return {**base, **kw}


def test_findings_are_validated_anchored_and_counted(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    sql_line = next(n for n, t in enumerate((root / "app/db.py").read_text().split("\n"), 1) if "DELETE" in t)
    answer = json.dumps({"findings": [
        finding(sql_line),
        finding(3, title="old code"),  # an unchanged line: dropped
        finding(sql_line, path="elsewhere.py"),  # not in the diff: dropped
        finding(sql_line, severity="apocalyptic"),  # out of range: dropped
    ]})
    _plan, result = run_review(root, ScriptedBackend([answer]))
    assert [(f.path, f.line, f.cwe) for f in result.findings] == [("app/db.py", sql_line, "CWE-89")]
    assert sum(result.stats.dropped.values()) == 3
    assert result.code["app/db.py"][sql_line].strip().startswith("db.execute(\"DELETE")
    assert result.coverage.hunks_reviewed == result.coverage.hunks_total == 1


def test_garbage_is_retried_once_then_a_warning(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    backend = ScriptedBackend(["I think this code is fine!", "```json\n{\"findings\": [oops"])
    _plan, result = run_review(root, backend)
    assert len(backend.requests) == 2
    assert result.findings == ()
    assert any("not usable" in w for w in result.stats.warnings)

    backend = ScriptedBackend(["no json here", json.dumps({"findings": []})])
    _plan, result = run_review(root, backend)
    assert len(backend.requests) == 2 and not any("not usable" in w for w in result.stats.warnings)


def test_backend_warnings_reach_the_report(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    backend = ScriptedBackend([json.dumps({"findings": []})],
                              warnings=["num_ctx 32768 clamped to the model's 8192", "schema fell back to JSON"])
    _plan, result = run_review(root, backend)
    assert "num_ctx 32768 clamped to the model's 8192" in result.stats.warnings
    assert "schema fell back to JSON" in result.stats.warnings
    text = render(result, "text", color=False)
    assert "clamped to the model's 8192" in text


def test_truncated_prompt_is_replanned_not_accepted(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    cut = ServerTruncatedPrompt("the server kept 300 of 900 tokens", hint=None, sent_estimate=900,
                                server_count=300, num_ctx=8192)
    backend = ScriptedBackend([cut, json.dumps({"findings": []})])
    plan, result = run_review(root, backend)
    assert any("truncated" in w and "re-planned" in w for w in result.stats.warnings)
    assert plan.token_count.startswith("estimate (2.25")  # a tighter estimate than the default 3
    assert backend.requests[1].expected_prompt_tokens is not None
    assert backend.requests[1].expected_prompt_tokens > backend.requests[0].expected_prompt_tokens  # type: ignore[operator]


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(root, "diff", *args, env=env)


def test_ollama_review_through_the_cli_and_exit_codes(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    sql_line = next(n for n, t in enumerate((root / "app/db.py").read_text().split("\n"), 1) if "DELETE" in t)
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        fake.reply = json.dumps({"findings": [finding(sql_line, severity="medium")]})
        base = ["HEAD~1", "--backend", "ollama", "--host", fake.url, "--no-analyzers"]
        proc = cli(root, *base, "--format", "json", "--fail-on", "medium")
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        assert [f["line"] for f in doc["findings"]] == [sql_line]
        assert doc["stats"]["batches"] == 1 and doc["stats"]["prompt_tokens"] > 0
        body = fake.review_bodies()[-1]
        assert body["options"]["num_ctx"] == 8192 and body["options"]["temperature"] == 0
        assert body["format"]["type"] == "object"
        assert cli(root, *base, "--fail-on", "high").returncode == 0
        assert cli(root, *base, "--fail-on", "none").returncode == 0
        text = cli(root, *base, "--fail-on", "none").stdout
        assert "app/db.py" in text and "Reviewed 1 file, 1 of 1 hunks" in text and "Cost: 1 batch" in text
        missing = cli(root, "HEAD~1", "--backend", "ollama", "--host", fake.url, "--model", "nope:1b")
        assert missing.returncode == 3 and "ollama pull nope:1b" in missing.stderr
    down = cli(root, "HEAD~1", "--backend", "ollama", "--host", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 3 and "Traceback" not in down.stderr
    assert cli(root, "HEAD~1", "--format", "yaml").returncode == 2
    assert cli(root, "nope-rev", "--backend", "ollama").returncode == 2


@pytest.mark.slow
def test_embedded_end_to_end_text_and_sarif(tmp_path: Path) -> None:
    """`localreview diff HEAD~1` with no backend configured: no Ollama answers here, so the real
    embedded smoke-test model reviews the last commit."""
    root = repo_with_commit(tmp_path)
    proc = cli(root, "HEAD~1", "--num-ctx", "4096", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    assert "embedded smoke-test model" in proc.stderr  # the one line saying what was chosen and why
    out = proc.stdout.lower()
    assert "smoke-test" in out and "reviewed 1 file, 1 of 1 hunks" in out and "completion tokens" in out

    sarif_path = tmp_path / "out.sarif"
    proc = cli(root, "HEAD~1", "--num-ctx", "4096", "--fail-on", "none", "--format", "sarif",
               "--output", str(sarif_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(sarif_path.read_text())
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    for res in doc["runs"][0]["results"]:
        # whatever the tiny model said, only lines the commit added survive validation
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] in added_lines(root)


def test_readme_python_example_reviews_a_commit(tmp_path: Path) -> None:
    """The README's "From Python" block, run as written, against a repository and an Ollama
    (the REST fake) found through OLLAMA_HOST, in a fresh process."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    root = repo_with_commit(tmp_path)
    sql_line = next(n for n, t in enumerate((root / "app/db.py").read_text().split("\n"), 1) if "DELETE" in t)
    code = block.replace("path/to/repo", str(root))
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        fake.reply = json.dumps({"findings": [finding(sql_line)]})
        env = {**os.environ, "OLLAMA_HOST": fake.url}
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # The model and the rule pack saw the same SQL injection: one finding, the rule's, in the output.
    assert any(line.startswith(f"app/db.py:{sql_line} high CWE-89 ") for line in lines), lines
    assert lines[-1] == "blocks the commit"
