"""The pre-commit hook: real git repositories, the real ``pre-commit`` tool, and a model that is
either a canned implementation of the Backend protocol (in-process, where the answer must be
known), the loopback Ollama stand-in (through pre-commit), or the real embedded SmolLM2 (one
end-to-end run and its cached repeat)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]  # pre-commit ships no types

from reviewer.config import Config
from reviewer.errors import BackendTimeout
from reviewer.findings.model import Finding
from reviewer.hook.cache import CACHE_DIR, ResultCache
from reviewer.hook.result_json import dumps, loads, result_from_json
from reviewer.hook.run import HookRequest, run_hook
from reviewer.hook.trigger import diff_args
from reviewer.report import render
from reviewer.result import Coverage, ReviewResult, Skipped, Stats
from tests.conftest import git, make_repo, write_files
from tests.helpers import ScriptedBackend
from tests.reviewer.ollama_fake import FakeOllama, free_port

PROJECT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL_LIBS = ("torch", "llama_cpp", "chromadb", "sentence_transformers", "onnxruntime", "transformers", "ollama")

BASE = '''import sqlite3


def find_user(db, name):
    cur = db.cursor()
    return cur.fetchall()
'''
# Line 6 is the one line this change adds.
CHANGED = '''import sqlite3


def find_user(db, name):
    cur = db.cursor()
    cur.execute("SELECT * FROM users WHERE name = '" + name + "'")
    return cur.fetchall()
'''
NO_FINDINGS = '{"findings": []}'
ONE_FINDING = (
    '{"findings": [{"path": "app.py", "line": 6, "end_line": 6, "severity": "medium",'
    ' "category": "security", "cwe": "CWE-89", "title": "SQL built by concatenation",'
    ' "message": "The name reaches the query unescaped.", "suggestion": "Pass it as a parameter."}]}'
)


class CannedBackend(ScriptedBackend):
    """A model that gives one fixed answer; ``hold`` makes each answer wait until released."""

    def __init__(self, answer: str = NO_FINDINGS, *, hold: float = 0.0) -> None:
        super().__init__([answer], name="canned", model="canned-1", hold=hold)


def _refuse(config: Config) -> CannedBackend:
    raise AssertionError("no backend may be built on this path")


def hook(root: Path, backend: CannedBackend | None = None, environ: Mapping[str, str] | None = None,
         **options: Any) -> tuple[int, str, list[str]]:
    """The hook's exit code, its report (rendered as the CLI renders it) and its log lines."""
    log: list[str] = []
    factory = (lambda _config: backend) if backend is not None else _refuse
    output: Path | None = options.pop("output", None)
    if "fmt" in options:
        options["format"] = options.pop("fmt")
    # The model's side of the hook: the analyzer stage is tested in test_review_analyzers.
    environ = {"LOCALREVIEW_ANALYZERS": "0", **(environ or {})}
    outcome = run_hook(root, HookRequest(**options), log=log.append, environ=dict(environ),
                       backend_factory=factory)
    text = ""
    if outcome.result is not None and outcome.config is not None:
        text = render(outcome.result, outcome.config.format, color=False)
        if output is not None:
            output.write_text(text + "\n", encoding="utf-8")
            text = ""
    return outcome.exit_code, text, log


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a one-line change to app.py staged."""
    root = make_repo(tmp_path / "repo", {"app.py": BASE, "README.md": "demo\n"})
    write_files(root, {"app.py": CHANGED})
    git(root, "add", "app.py")
    return root


# --- in-process: what to review, and when not to ---------------------------------------------------

def test_nothing_staged_passes_without_building_a_backend(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"app.py": BASE})
    write_files(root, {"app.py": CHANGED})  # changed, but not staged: not the commit's business
    code, out, log = hook(root)
    assert (code, out) == (0, "")
    assert log == ["localreview: nothing to review"]


def test_staged_deletions_and_binaries_are_not_reviewed(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"app.py": BASE, "old.py": "x = 1\n"})
    git(root, "rm", "-q", "old.py")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    git(root, "add", "logo.png")
    code, _out, log = hook(root)
    assert code == 0
    assert log == ["localreview: nothing to review"]


def test_skip_names_the_hook(repo: Path) -> None:
    for skip in ("localreview", "flake8, localreview-system"):
        code, _out, log = hook(repo, environ={"SKIP": skip})
        assert code == 0
        assert log == ["localreview: skipped (SKIP names this hook)"]


def test_diff_args_follow_pre_commit_names() -> None:
    assert diff_args({}) == ["--staged"]
    assert diff_args({"PRE_COMMIT_FROM_REF": "abc", "PRE_COMMIT_TO_REF": "def"}) == ["abc..def"]
    assert diff_args({"PRE_COMMIT_ORIGIN": "abc", "PRE_COMMIT_SOURCE": "def"}) == ["abc..def"]
    assert diff_args({"PRE_COMMIT_FROM_REF": "abc"}) == ["--staged"]  # half a range is no range


def test_push_range_reviews_exactly_that_range(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": "A = 1\n", "b.py": "B = 1\n"})
    first = git(root, "rev-parse", "HEAD").strip()
    write_files(root, {"b.py": "B = 1\nPUSHED_LINE = 2\n"})
    git(root, "commit", "-qam", "second")
    second = git(root, "rev-parse", "HEAD").strip()
    write_files(root, {"a.py": "A = 1\nSTAGED_LINE = 3\n"})
    git(root, "add", "a.py")
    for names in (("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"), ("PRE_COMMIT_ORIGIN", "PRE_COMMIT_SOURCE")):
        shutil.rmtree(root / CACHE_DIR, ignore_errors=True)  # the same range: it would be a hit
        backend = CannedBackend()
        code, _out, _log = hook(root, backend, {names[0]: first, names[1]: second})
        assert code == 0
        assert backend.calls == 1
        assert "PUSHED_LINE" in backend.prompts[0]
        assert "STAGED_LINE" not in backend.prompts[0]
    # Nothing between a commit and itself: no review, no backend.
    code, _out, log = hook(root, None, {"PRE_COMMIT_FROM_REF": second, "PRE_COMMIT_TO_REF": second})
    assert (code, log) == (0, ["localreview: nothing to review"])


# --- in-process: blocking, and the cache ------------------------------------------------------------

def test_blocks_at_fail_on_and_a_new_threshold_reuses_the_cache(repo: Path) -> None:
    backend = CannedBackend(ONE_FINDING)
    code, out, log = hook(repo, backend, fail_on="low")
    assert code == 1
    assert "SQL built by concatenation" in out
    assert not any("cache" in line for line in log)
    code, out_again, log = hook(repo, backend, fail_on="high")
    assert code == 0
    assert "SQL built by concatenation" in out_again  # the same report, judged by another bar
    assert any("answered from the cache" in line for line in log)
    assert backend.calls == 1
    code, _out, _log = hook(repo, backend, environ={"LOCALREVIEW_FAIL_ON": "medium"})
    assert (code, backend.calls) == (1, 1)
    report = repo.parent / "report.json"
    code, out, _log = hook(repo, backend, fail_on="medium", fmt="json", output=report)
    assert (code, out, backend.calls) == (1, "", 1)
    assert json.loads(report.read_text(encoding="utf-8"))["findings"][0]["cwe"] == "CWE-89"


def test_a_different_change_is_reviewed_again(repo: Path) -> None:
    backend = CannedBackend()
    assert hook(repo, backend)[0] == 0
    write_files(repo, {"app.py": CHANGED + "\nLIMIT = 10\n"})
    git(repo, "add", "app.py")
    assert hook(repo, backend)[0] == 0
    assert backend.calls == 2
    # Back to the first change: its entry is still there.
    write_files(repo, {"app.py": CHANGED})
    git(repo, "add", "app.py")
    assert hook(repo, backend)[0] == 0
    assert backend.calls == 2


def test_working_tree_files_the_planner_reads_are_in_the_key(repo: Path) -> None:
    backend = CannedBackend()
    hook(repo, backend)
    (repo / "helpers.py").write_text("def helper():\n    return 1\n", encoding="utf-8")  # untracked
    hook(repo, backend)
    assert backend.calls == 2
    hook(repo, backend)
    assert backend.calls == 2


def test_config_that_changes_the_prompt_is_in_the_key(repo: Path) -> None:
    backend = CannedBackend()
    hook(repo, backend)
    hook(repo, backend, num_ctx=4096)
    assert backend.calls == 2
    hook(repo, backend, num_ctx=4096, fmt="json")  # the report format is not
    assert backend.calls == 2


def test_cache_is_ignored_by_git_and_bounded(repo: Path) -> None:
    hook(repo, CannedBackend())
    folder = repo / CACHE_DIR
    assert len(list(folder.glob("*.json"))) == 1
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "M  app.py\n"

    cache = ResultCache(folder, keep=3)
    result = loads(next(folder.glob("*.json")).read_text(encoding="utf-8"))
    for i in range(5):
        cache.store(f"key{i}", result)
        time.sleep(0.01)  # distinct mtimes
    assert sorted(p.stem for p in folder.glob("*.json")) == ["key2", "key3", "key4"]
    assert not list(folder.glob(".tmp-*"))


def test_an_unreadable_cache_entry_is_a_miss(repo: Path) -> None:
    backend = CannedBackend()
    hook(repo, backend)
    for entry in (repo / CACHE_DIR).glob("*.json"):
        entry.write_text('{"schema": 1, "findings": "cut sh', encoding="utf-8")
    assert hook(repo, backend)[0] == 0
    assert backend.calls == 2


def test_result_json_round_trip() -> None:
    finding = Finding("pkg/a.py", 12, 14, "high", "security", "SQL injection", "Concatenated query.",
                      cwe="CWE-89", suggestion="Use parameters.")
    result = ReviewResult(
        findings=(finding, Finding("pkg/a.py", 20, 20, "low", "performance", "Loop", "Slow.")),
        stats=Stats(2, 5120, 210, 9.4, {"not_in_diff": 2}, ("a warning",)),
        coverage=Coverage(("pkg/a.py",), 3, 4, (Skipped("big.min.js", "minified"),)),
        backend="embedded", model="SmolLM2", smoke_test_model=True, redacted_secrets=1,
        code={"pkg/a.py": {12: "q = 'x' + y", 13: "run(q)"}},
    )
    assert loads(dumps(result)) == result
    for broken in ({}, {"schema": 99}, {"schema": 1, "findings": []}, [1, 2]):
        with pytest.raises(ValueError):
            result_from_json(broken)


# --- in-process: the time limit ------------------------------------------------------------------

def test_time_limit_fails_closed_or_open(repo: Path) -> None:
    backend = CannedBackend(hold=60)
    try:
        with pytest.raises(BackendTimeout) as caught:
            hook(repo, backend, timeout=0.5, fail_open=False)
        assert caught.value.exit_code == 3
        assert "hook_timeout = 0.5 s" in caught.value.message
        started = time.monotonic()
        code, out, log = hook(repo, backend, timeout=0.5)  # fail_open is the hook's default
        assert time.monotonic() - started < 10
        assert (code, out) == (0, "")
        assert len(log) == 2  # the batch line, then the one warning
        assert log[-1].startswith("localreview: warning: no review, the hook passes because fail_open is set")
        # Nothing is cached from a review that did not finish.
        assert not list((repo / CACHE_DIR).glob("*.json"))
    finally:
        backend.release.set()


def test_fail_open_from_the_environment(repo: Path) -> None:
    backend = CannedBackend(hold=60)
    try:
        code, _out, log = hook(repo, backend, environ={"LOCALREVIEW_FAIL_OPEN": "1", "LOCALREVIEW_HOOK_TIMEOUT": "0.3"})
        assert code == 0
        assert "fail_open" in log[-1]
        with pytest.raises(BackendTimeout):
            hook(repo, backend, environ={"LOCALREVIEW_FAIL_OPEN": "0", "LOCALREVIEW_HOOK_TIMEOUT": "0.3"})
    finally:
        backend.release.set()


# --- the command, in a subprocess -----------------------------------------------------------------

def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    for key in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_ORIGIN", "PRE_COMMIT_SOURCE", "SKIP"):
        env.pop(key, None)
    env.setdefault("LOCALREVIEW_ANALYZERS", "0")  # the model's side; the stage is tested on its own
    env.update(extra)
    return env


def _localreview(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "localreview"), *args], cwd=root, env=_env(**env),
                          capture_output=True, text=True, timeout=300, check=False)


def test_empty_stage_imports_no_model_library(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"app.py": BASE})
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from reviewer.cli import main; main(['hook'])"],
        cwd=root, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "reviewer" in imported  # the measurement saw our own imports
    assert imported.isdisjoint(MODEL_LIBS), sorted(imported & set(MODEL_LIBS))
    assert "localreview: nothing to review" in proc.stderr


@pytest.mark.parametrize("flag", ["--fail-open", "--fail-closed", None])
def test_unreachable_ollama(repo: Path, flag: str | None) -> None:
    fail_open = flag != "--fail-closed"  # open is the hook's default
    proc = _localreview(repo, "hook", "--backend", "ollama", "--host", f"http://127.0.0.1:{free_port()}",
                        *([flag] if flag else []))
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    if fail_open:
        assert proc.returncode == 0, proc.stderr
        assert len(warnings) == 1 and "fail_open" in warnings[0]
        assert "ollama serve" in warnings[0]  # the one line says how to get a model running
    else:
        assert proc.returncode == 3, proc.stderr
        assert "localreview: error:" in proc.stderr and not warnings


@pytest.mark.parametrize("fail_open", [True, False])
def test_a_server_that_does_not_answer_is_cut_off(repo: Path, fail_open: bool) -> None:
    with FakeOllama() as server:
        server.failure, server.slow_seconds = "slow", 30.0  # lists its models, then never answers a chat
        started = time.monotonic()
        proc = _localreview(repo, "hook", "--backend", "ollama", "--host", server.url, "--model",
                            "qwen2.5-coder:0.5b", "--timeout", "2", "--fail-open" if fail_open else "--fail-closed")
        elapsed = time.monotonic() - started
    assert elapsed < 20, f"the hook took {elapsed:.1f} s against a 2 s limit"
    assert proc.returncode == (0 if fail_open else 3), proc.stderr
    assert re.search(r"within (2 s|hook_timeout = 2 s)", proc.stderr), proc.stderr


# --- the real pre-commit tool ---------------------------------------------------------------------

@pytest.fixture
def hook_repo(tmp_path: Path) -> str:
    """A git repository holding the project's manifest, committed: ``try-repo`` and a config's
    ``repo:`` read the manifest from a commit, and the lead commits the project, not this test.
    The ``localreview-system`` hook runs the localreview installed here, so the manifest is all
    the repository needs."""
    root = tmp_path / "hooks"
    root.mkdir()
    shutil.copy(PROJECT / ".pre-commit-hooks.yaml", root / ".pre-commit-hooks.yaml")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "manifest")
    return str(root)


def _pre_commit(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "pre-commit"), *args], cwd=root,
                          env=_env(PRE_COMMIT_HOME=str(root.parent / "pc-home"), PRE_COMMIT_COLOR="never", **env),
                          capture_output=True, text=True, timeout=900, check=False)


def test_manifest_declares_both_hooks() -> None:
    hooks = {h["id"]: h for h in load_manifest(str(PROJECT / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"localreview", "localreview-system"}
    for h in hooks.values():
        assert h["entry"] == "localreview hook"
        assert h["pass_filenames"] is False
        assert h["require_serial"] is True
        assert h["stages"] == ["pre-commit", "pre-push", "manual"]
    assert hooks["localreview"]["language"] == "python"
    # pre-commit 4.4+ reads `language: system` as its new name, `unsupported`.
    assert hooks["localreview-system"]["language"] in ("system", "unsupported")


def test_pre_commit_skips_an_empty_stage_and_honours_skip(repo: Path, hook_repo: str) -> None:
    git(repo, "commit", "-q", "-m", "take the change")
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system")
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"\(no files to check\)\s*Skipped", proc.stdout), proc.stdout

    write_files(repo, {"app.py": BASE})
    git(repo, "add", "app.py")
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", SKIP="localreview-system")
    assert proc.returncode == 0 and re.search(r"\.+Skipped", proc.stdout), proc.stdout
    # The id users know: pre-commit does not match it to the -system hook, the hook itself does.
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", "--verbose", SKIP="localreview")
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout
    assert "skipped (SKIP names this hook)" in proc.stdout


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        server.reply = ONE_FINDING.replace('"medium"', '"high"')
        yield server


def test_pre_commit_blocks_by_fail_on_and_answers_from_the_cache(repo: Path, hook_repo: str,
                                                                 ollama: FakeOllama) -> None:
    env = {"LOCALREVIEW_BACKEND": "ollama", "LOCALREVIEW_HOST": ollama.url,
           "LOCALREVIEW_MODEL": "qwen2.5-coder:0.5b"}
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", LOCALREVIEW_FAIL_ON="high", **env)
    assert proc.returncode == 1, proc.stdout
    assert re.search(r"\.+Failed", proc.stdout) and "SQL built by concatenation" in proc.stdout
    assert len(ollama.review_bodies()) == 1

    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", "--verbose",
                       LOCALREVIEW_FAIL_ON="critical", **env)
    assert proc.returncode == 0 and re.search(r"\.+Passed", proc.stdout), proc.stdout
    assert "answered from the cache" in proc.stdout
    assert len(ollama.review_bodies()) == 1

    # `args:` in a user's .pre-commit-config.yaml beat the environment, as flags do.
    rev = git(Path(hook_repo), "rev-parse", "HEAD").strip()
    config = repo.parent / "pre-commit-config.yaml"
    config.write_text(f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: localreview-system\n"
                      f"    args: [--fail-on, high]\n", encoding="utf-8")
    proc = _pre_commit(repo, "run", "--config", str(config), LOCALREVIEW_FAIL_ON="critical", **env)
    assert proc.returncode == 1 and re.search(r"\.+Failed", proc.stdout), proc.stdout


def test_pre_commit_push_range(repo: Path, hook_repo: str, ollama: FakeOllama) -> None:
    git(repo, "commit", "-q", "-m", "the change")
    head = git(repo, "rev-parse", "HEAD").strip()
    ollama.reply = NO_FINDINGS
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", "--hook-stage", "pre-push",
                       "--from-ref", "HEAD~1", "--to-ref", head, LOCALREVIEW_BACKEND="ollama",
                       LOCALREVIEW_HOST=ollama.url, LOCALREVIEW_MODEL="qwen2.5-coder:0.5b")
    assert proc.returncode == 0 and re.search(r"\.+Passed", proc.stdout), proc.stdout
    [chat] = ollama.review_bodies()
    user = chat["messages"][-1]["content"]
    assert "SELECT * FROM users" in user


@pytest.mark.slow
def test_pre_commit_with_the_embedded_model_then_from_the_cache(repo: Path, hook_repo: str) -> None:
    """The real thing end to end: pre-commit, the hook, SmolLM2 in llama.cpp. Its findings mean
    nothing, so the bar is `none`; the second run must not call the model at all."""
    env = {"LOCALREVIEW_BACKEND": "embedded", "LOCALREVIEW_NUM_CTX": "4096", "LOCALREVIEW_OUTPUT_RESERVE": "256",
           "LOCALREVIEW_FAIL_ON": "none",
           # Shared, oversubscribed CI cores: OpenMP's spinning workers slow llama.cpp several-fold.
           "OMP_WAIT_POLICY": "PASSIVE"}
    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", "--verbose", **env)
    assert proc.returncode == 0 and re.search(r"\.+Passed", proc.stdout), proc.stdout
    assert "batch 1/1" in proc.stdout and "answered from the cache" not in proc.stdout
    [entry] = (repo / CACHE_DIR).glob("*.json")
    stored = entry.stat().st_mtime_ns

    proc = _pre_commit(repo, "try-repo", hook_repo, "localreview-system", "--verbose", **env)
    assert proc.returncode == 0 and re.search(r"\.+Passed", proc.stdout), proc.stdout
    assert "answered from the cache" in proc.stdout and "batch 1/1" not in proc.stdout
    assert entry.stat().st_mtime_ns == stored


def test_fail_on_none_never_blocks(repo: Path) -> None:
    code, out, _log = hook(repo, CannedBackend(ONE_FINDING.replace('"medium"', '"critical"')), fail_on="none")
    assert code == 0
    assert "CRITICAL" in out


def test_without_a_model_the_analyzers_still_review_and_block(tmp_path: Path) -> None:
    """The hook's own environment has no model: fail open still reviews with the analyzers, and
    their findings block by fail_on like any other."""
    root = make_repo(tmp_path / "repo", {"app.py": "import json\n\n\ndef load(b):\n    return json.loads(b)\n"})
    write_files(root, {"app.py": "import pickle\n\n\ndef load(b):\n    return pickle.loads(b)\n"})
    git(root, "add", "app.py")
    host = f"http://127.0.0.1:{free_port()}"
    proc = _localreview(root, "hook", "--backend", "ollama", "--host", host, "--format", "json",
                        LOCALREVIEW_ANALYZERS="1")
    assert proc.returncode == 1, proc.stderr  # pickle.loads is high, fail_on is high
    assert "no review, the hook passes because fail_open is set" in proc.stderr
    assert "the analyzers reviewed the change without a model: 1 finding(s)" in proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["line"], f["source"]) for f in findings] == [(5, "rule:python.pickle-load")]
    passing = _localreview(root, "hook", "--backend", "ollama", "--host", host, "--fail-on", "critical",
                           LOCALREVIEW_ANALYZERS="1")
    assert passing.returncode == 0, passing.stderr
