"""The verification pass: the model looks at its own findings once more and keeps, corrects or
drops each; a server's prompt cache is not taken for a truncated prompt, however it reports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.backends.ollama import OllamaBackend
from reviewer.backends.truncation import check_truncation
from reviewer.config import Config
from reviewer.diff.args import parse_diff_args
from reviewer.diff.revisions import open_repo
from reviewer.errors import ServerTruncatedPrompt
from reviewer.pipeline import review
from tests.helpers import ScriptedBackend
from tests.reviewer.ollama_fake import FakeOllama
from tests.reviewer.test_review import added_lines, finding, repo_with_commit


def _run(root: Path, backend: object, **cfg: object) -> object:
    config = Config(**{"analyzers": False, **cfg})  # type: ignore[arg-type]
    return review(open_repo(root), root, parse_diff_args(["HEAD~1"]), config, backend)[1]  # type: ignore[arg-type]


def test_verdicts_keep_correct_and_drop(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    a, b, c = sorted(added_lines(root))[:3]
    backend = ScriptedBackend([json.dumps({"findings": [finding(a), finding(b, cwe="CWE-400", title="slow loop",
                                                                           category="performance"),
                                                        finding(c, cwe="CWE-20", title="bad input")]})])
    backend.verdicts.append(json.dumps({"verdicts": [
        {"index": 0, "verdict": "keep", "severity": "", "line": 0},
        {"index": 1, "verdict": "drop", "severity": "", "line": 0},
        {"index": 2, "verdict": "correct", "severity": "low", "line": 0}]}))
    result = _run(root, backend)
    kept = {(f.line, f.severity) for f in result.findings}  # type: ignore[attr-defined]
    assert kept == {(a, "high"), (c, "low")}
    assert result.stats.dropped["verification"] == 1  # type: ignore[attr-defined]
    (check,) = backend.verifications
    review_prompt = backend.requests[0]
    assert check.user.startswith(review_prompt.user)  # the same prefix: a server's cache serves it
    assert check.cacheable_prefix_tokens == review_prompt.expected_prompt_tokens
    assert "bad input" in check.user and "[2]" in check.user


def test_unusable_verdicts_keep_everything_with_a_warning(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    line = min(added_lines(root))
    backend = ScriptedBackend([json.dumps({"findings": [finding(line)]})])
    backend.verdicts.append("they all look fine to me")
    result = _run(root, backend)
    assert [f.line for f in result.findings] == [line]  # type: ignore[attr-defined]
    assert any("verification answer was not usable" in w for w in result.stats.warnings)  # type: ignore[attr-defined]


def test_off_for_the_smoke_model_and_by_config(tmp_path: Path) -> None:
    root = repo_with_commit(tmp_path)
    line = min(added_lines(root))
    smoke = ScriptedBackend([json.dumps({"findings": [finding(line)]})])
    smoke.smoke_test_model = True
    _run(root, smoke)
    assert smoke.verifications == []
    real = ScriptedBackend([json.dumps({"findings": [finding(line)]})])
    _run(root, real, verify=False)
    assert real.verifications == []
    _run(root, real)
    assert len(real.verifications) == 1
    nothing = ScriptedBackend([json.dumps({"findings": []})])
    _run(root, nothing)
    assert nothing.verifications == []  # nothing to verify, no second call


@pytest.mark.parametrize("mode", ["counted", "hidden", "reported"])
def test_ollama_prompt_cache_is_not_truncation_however_reported(tmp_path: Path, mode: str) -> None:
    root = repo_with_commit(tmp_path)
    line = min(added_lines(root))
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        fake.cache_mode = mode  # type: ignore[assignment]
        fake.reply = json.dumps({"findings": [finding(line)]})
        backend = OllamaBackend(fake.url, "qwen2.5-coder:7b", 30)
        result = _run(root, backend)
        chats = fake.bodies("/api/chat")
    assert len(chats) == 2 and len(fake.review_bodies()) == 1  # review, then verification
    assert [f.line for f in result.findings] == [line]  # type: ignore[attr-defined]
    # Whatever the server said of its cache, the prompt tokens count the whole prompts.
    assert result.stats.prompt_tokens > 2 * 300  # type: ignore[attr-defined]


def test_the_truncation_rule_with_cached_tokens() -> None:
    base = {"server": "Ollama", "num_ctx": 8192, "max_tokens": 512}
    # 3000 sent; 2900 of them served from the cache and reported apart: fine.
    check_truncation(expected=3000, server_count=120, cached_count=2900, **base)  # type: ignore[arg-type]
    # The same, with a build that hides the cached tokens, when the prefix was just sent: fine.
    check_truncation(expected=3000, server_count=120, cacheable_prefix=2900, **base)  # type: ignore[arg-type]
    # A count that low with no cache to explain it: a truncated prompt.
    with pytest.raises(ServerTruncatedPrompt):
        check_truncation(expected=3000, server_count=120, **base)  # type: ignore[arg-type]
    # A cache explains only what it held: 3000 sent, a 500-token prefix, 120 counted.
    with pytest.raises(ServerTruncatedPrompt):
        check_truncation(expected=3000, server_count=120, cacheable_prefix=500, **base)  # type: ignore[arg-type]
    # Cached tokens count towards the window rule too.
    with pytest.raises(ServerTruncatedPrompt):
        check_truncation(expected=8000, server_count=100, cached_count=7800, **base)  # type: ignore[arg-type]
