"""The analyzer stage inside a review: hints in the prompt, findings merged with the model's,
deletions reviewed, every finding on the change, secrets never shown, SARIF rules described."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reviewer.api import ReviewRequest, open_session
from reviewer.config import Config
from reviewer.findings.model import Finding
from reviewer.report import render
from reviewer.result import ReviewResult
from tests.conftest import git, make_repo, write_files
from tests.helpers import ScriptedBackend, sarif_schema

BASE = '''import json


def load(data):
    return json.loads(data)
'''
PICKLED = '''import json
import pickle


def load(data):
    return pickle.loads(data)
'''
VIEWS = '''from django.contrib.auth.decorators import login_required


@login_required
def account(request):
    return render(request, "account.html")


def about(request):
    return render(request, "about.html")
'''
AWS_KEY = "AKIAIOSFODNN7EXAMPLEX"


def _review(root: Path, backend: ScriptedBackend, *args: str,
            analyzers: bool | None = None) -> tuple[ReviewResult, ScriptedBackend]:
    session = open_session(ReviewRequest(diff_args=args, cwd=root, backend_factory=lambda _c: backend,
                                         analyzers=analyzers))
    return session.review(), backend


def _pickle_repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"app/store.py": BASE})
    write_files(root, {"app/store.py": PICKLED})
    return root


def test_hits_reach_the_prompt_and_merge_with_the_models_finding(tmp_path: Path) -> None:
    root = _pickle_repo(tmp_path)
    line = PICKLED.split("\n").index("    return pickle.loads(data)") + 1
    model_says = {"findings": [{"path": "app/store.py", "line": line, "end_line": line, "severity": "critical",
                                "category": "security", "cwe": "CWE-502", "title": "pickle on input",
                                "message": "Untrusted bytes are unpickled.", "suggestion": ""}]}
    result, backend = _review(root, ScriptedBackend([json.dumps(model_says)]))
    prompt = backend.requests[0].user
    assert "analyzer-hints" in prompt and f"app/store.py:{line} [python.pickle-load CWE-502]" in prompt
    at_line = [f for f in result.findings if f.line == line and f.cwe == "CWE-502"]
    assert len(at_line) == 1  # one finding per line and CWE
    merged = at_line[0]
    assert merged.source == "rule:python.pickle-load" and merged.rule == "python.pickle-load"
    assert merged.severity == "critical"  # the stronger of the two
    assert "The model agrees: Untrusted bytes are unpickled." in merged.message


def test_no_analyzers_and_analyzers_only(tmp_path: Path) -> None:
    root = _pickle_repo(tmp_path)
    result, backend = _review(root, ScriptedBackend(), analyzers=False)
    assert backend.calls == 1 and result.findings == ()
    assert "analyzer-hints" not in backend.requests[0].user

    def no_model(_config: Config) -> ScriptedBackend:
        raise AssertionError("an analyzers-only review seeks no model")

    session = open_session(ReviewRequest(cwd=root, analyzers_only=True, backend_factory=no_model))
    only = session.review()
    assert [f.source for f in only.findings] == ["rule:python.pickle-load"]
    assert only.backend == "none" and only.stats.batches == 0
    assert "by the analyzers alone (no model)" in render(only, "text", color=False)


def test_a_removed_guard_is_reviewed_and_anchored_at_the_removal(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"shop/views.py": VIEWS})
    write_files(root, {"shop/views.py": VIEWS.replace("@login_required\n", "")})
    after = VIEWS.replace("@login_required\n", "").split("\n")
    anchor = after.index("def account(request):") + 1
    model_says = {"findings": [{"path": "shop/views.py", "line": anchor, "end_line": anchor, "severity": "high",
                                "category": "security", "cwe": "CWE-862", "title": "login check removed",
                                "message": "account() no longer requires a login.", "suggestion": ""}]}
    result, backend = _review(root, ScriptedBackend([json.dumps(model_says)]))
    assert backend.calls == 1  # a change that only removes lines is no longer skipped
    prompt = backend.requests[0].user
    assert "- @login_required" in prompt
    assert all(f.line == anchor for f in result.findings)
    sources = {f.source for f in result.findings}
    assert any(s.startswith("rule:") for s in sources), sources
    assert result.coverage.hunks_reviewed == 1


def test_no_finding_from_any_source_points_off_the_change(tmp_path: Path) -> None:
    """Adversarial: the model names unchanged lines, lines past the end and other files, while
    the analyzers see the whole of a file full of flaws of which one line changed."""
    flawed = "import pickle, yaml, subprocess\n" + "".join(
        f"def f{i}(x):\n    subprocess.run(x, shell=True)\n    return pickle.loads(yaml.load(x))\n" for i in range(6))
    root = make_repo(tmp_path / "repo", {"lib/bad.py": flawed})
    changed = flawed.replace("def f3(x):\n", "def f3(x):\n    eval(x)\n")
    write_files(root, {"lib/bad.py": changed})
    added = {changed.split("\n").index("    eval(x)") + 1}
    lying = {"findings": [{"path": p, "line": n, "end_line": n, "severity": "high", "category": "security",
                           "cwe": "CWE-78", "title": "t", "message": "m", "suggestion": ""}
                          for p, n in [("lib/bad.py", 2), ("lib/bad.py", 999), ("lib/bad.py", -1),
                                       ("other.py", 1), ("lib/bad.py", next(iter(added)))]]}
    result, _backend = _review(root, ScriptedBackend([json.dumps(lying)]))
    findings: tuple[Finding, ...] = result.findings
    assert findings, "the added eval must be found"
    for f in findings:
        assert f.path == "lib/bad.py" and {f.line, f.end_line} <= added, f
    assert any(f.source != "llm" for f in findings)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown", "codequality"])
def test_a_secret_is_never_shown_whole(tmp_path: Path, fmt: str) -> None:
    root = make_repo(tmp_path / "repo", {"conf.py": "DEBUG = False\n"})
    write_files(root, {"conf.py": f'DEBUG = False\nAWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'})
    session = open_session(ReviewRequest(cwd=root, analyzers_only=True))
    result = session.review()
    assert any(f.source == "secrets" or f.cwe == "CWE-798" for f in result.findings)
    assert AWS_KEY not in render(result, fmt, color=False)


def test_sarif_describes_each_analyzer_rule(tmp_path: Path) -> None:
    root = _pickle_repo(tmp_path)
    result = open_session(ReviewRequest(cwd=root, analyzers_only=True)).review()
    doc = json.loads(render(result, "sarif", color=False))
    jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).validate(doc)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["python.pickle-load"]
    assert rule["help"]["text"] and "external/cwe/cwe-502" in rule["properties"]["tags"]
    assert doc["runs"][0]["results"][0]["ruleId"] == "python.pickle-load"


def test_fail_on_applies_to_analyzer_findings(tmp_path: Path) -> None:
    from reviewer.api import exit_code

    root = _pickle_repo(tmp_path)
    result = open_session(ReviewRequest(cwd=root, analyzers_only=True)).review()
    assert exit_code(result, "high") == 1 and exit_code(result, "critical") == 0 and exit_code(result, "none") == 0


def test_the_stage_is_in_the_dry_run_plan(tmp_path: Path) -> None:
    root = _pickle_repo(tmp_path)
    plan = open_session(ReviewRequest(cwd=root, backend_factory=lambda _c: ScriptedBackend())).plan()
    data = plan.to_json()
    assert [h["rule"] for h in data["analyzers"]["hits"]] == ["python.pickle-load"]
    assert "analyzer-hints" in plan.batches[0].user  # what --show-prompt prints is what is sent
    git(root, "add", "-A")


def test_a_file_in_several_batches_gets_each_hint_in_its_own_batch(tmp_path: Path) -> None:
    # Two far-apart changes in one file, each with a hit, planned into a 2k window: one batch per
    # change, each carrying its own hint, each prompt within the window.
    filler = "".join(f"def f{i}(data):\n    \"\"\"Step {i}.\"\"\"\n    return json.loads(data) + {i}\n\n\n"
                     for i in range(60))
    before = "import json\nimport pickle\n\n\n" + filler + "def last(data):\n    return json.loads(data)\n"
    after = before.replace("def f0(data):\n    \"\"\"Step 0.\"\"\"\n    return json.loads(data) + 0\n",
                           "def f0(data):\n    \"\"\"Step 0.\"\"\"\n    return pickle.loads(data) + 0\n" +
                           "".join(f"    # note {k}: {'x' * 60}\n" for k in range(25)))
    notes = "".join(f"    # note {k}: {'y' * 60}\n" for k in range(25))
    after = after.replace("def last(data):\n    return json.loads(data)\n",
                          "def last(data):\n" + notes + "    return pickle.loads(data)\n")
    root = make_repo(tmp_path / "repo", {"app/steps.py": before})
    write_files(root, {"app/steps.py": after})
    plan = open_session(ReviewRequest(cwd=root, num_ctx=2048, backend_factory=lambda _c: ScriptedBackend())).plan()
    assert len(plan.batches) >= 2
    lines = [n for n, text in enumerate(after.split("\n"), 1) if "pickle.loads" in text]
    for batch in plan.batches:
        assert batch.prompt_tokens <= plan.num_ctx - plan.output_reserve
        held = [n for n in lines if f"app/steps.py:{n} [python.pickle-load" in batch.user]
        assert held == [n for n in lines if n in batch.allowed.get("app/steps.py", frozenset())]
    assert sum(f"app/steps.py:{n} [python.pickle-load" in b.user for b in plan.batches for n in lines) == 2


def test_hints_never_push_a_prompt_past_the_window(tmp_path: Path) -> None:
    # A batch whose diff (with its enclosing headers) all but fills the window: the context goes
    # first, then the hints, rather than a prompt the server would cut unseen.
    import dataclasses

    from reviewer.analyzers.apply import _with_hints
    from reviewer.analyzers.records import Hint
    from reviewer.plan.prompt import compact_prompt
    from reviewer.plan.tokens import EstimateCounter

    root = _pickle_repo(tmp_path)
    plan = open_session(ReviewRequest(cwd=root, analyzers=False, backend_factory=lambda _c: ScriptedBackend())).plan()
    batch = plan.batches[0]
    line = PICKLED.split("\n").index("    return pickle.loads(data)") + 1
    hints = [Hint("app/store.py", line, f"rule-{k}", "CWE-502", "x" * 200) for k in range(3)]
    counter, compact = EstimateCounter(), compact_prompt(plan.num_ctx)
    roomy = _with_hints(batch, hints, counter, 100_000, compact)
    assert roomy.prompt_tokens > batch.prompt_tokens and "rule-2" in roomy.user
    assert _with_hints(batch, hints, counter, batch.prompt_tokens + 5, compact) == batch  # no hint fits
    bare = _with_hints(dataclasses.replace(batch, context=()), hints, counter, 100_000, compact)
    one = bare.prompt_tokens - (roomy.prompt_tokens - _with_hints(batch, hints[:2], counter, 100_000,
                                                                  compact).prompt_tokens)
    got = _with_hints(batch, hints, counter, one, compact)  # room for the diff and two hints alone
    assert got.prompt_tokens <= one and got.context == () and "rule-1" in got.user and "rule-2" not in got.user
