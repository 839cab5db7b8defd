"""The Ollama backend against a loopback fake of Ollama's REST API (and, opt-in, a real Ollama)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from reviewer.backends.base import Backend, ChatRequest
from reviewer.backends.ollama import OllamaBackend
from reviewer.backends.truncation import check_truncation
from reviewer.errors import BackendTimeout, BackendUnavailable, ModelMissing, PromptTruncated, ServerTruncatedPrompt
from tests.reviewer.ollama_fake import FakeOllama, ScriptedOpenAI, free_port

MODEL = "qwen2.5-coder:0.5b"
SCHEMA = {
    "type": "object",
    "properties": {"findings": {"type": "array", "items": {"type": "object"}}},
    "required": ["findings"],
}


def request(user: str = "review this", *, num_ctx: int = 8192, max_tokens: int = 512,
            expected: int | None = None) -> ChatRequest:
    return ChatRequest(system="You review code.", user=user, schema=SCHEMA, num_ctx=num_ctx,
                       max_tokens=max_tokens, expected_prompt_tokens=expected)


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama({MODEL: 32768}) as server:
        yield server


def backend(url: str, model: str = MODEL, timeout: float = 5.0) -> OllamaBackend:
    return OllamaBackend(url, model, timeout=timeout, keep_alive="10m", seed=7)


def test_implements_the_protocol(fake: FakeOllama) -> None:
    assert isinstance(backend(fake.url), Backend)
    assert backend(fake.url).count_tokens("anything") is None


def test_chat_sends_schema_options_and_keep_alive(fake: FakeOllama) -> None:
    fake.reply = '{"findings": [{"line": 3}]}'
    answer = backend(fake.url).chat(request(num_ctx=4096, max_tokens=300, expected=20))
    assert json.loads(answer.text) == {"findings": [{"line": 3}]}
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0 and answer.seconds >= 0
    (sent,) = fake.bodies("/api/chat")
    assert sent["stream"] is False
    assert sent["format"] == SCHEMA
    assert sent["options"] == {"num_ctx": 4096, "temperature": 0, "seed": 7, "num_predict": 300}
    assert sent["keep_alive"] == "10m"
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


def test_context_length_is_read_once_and_num_ctx_clamped_to_it() -> None:
    with FakeOllama({MODEL: 4096}) as fake:
        ollama = backend(fake.url)
        assert ollama.context_length() == 4096
        ollama.chat(request(num_ctx=16384, max_tokens=100))
        assert fake.bodies("/api/chat")[0]["options"]["num_ctx"] == 4096
        assert ollama.last_num_ctx == 4096
        assert any("16384" in w and "4096" in w for w in ollama.warnings)
        assert len(fake.bodies("/api/show")) == 1  # cached


def test_host_defaults_to_ollama_host_env(monkeypatch: pytest.MonkeyPatch, fake: FakeOllama) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake.url)
    assert OllamaBackend(None, MODEL, timeout=5).host == fake.url
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    assert OllamaBackend(None, MODEL, timeout=5).host == "http://0.0.0.0:11434"
    monkeypatch.delenv("OLLAMA_HOST")
    assert OllamaBackend(None, MODEL, timeout=5).host == "http://127.0.0.1:11434"


def test_check_tells_a_server_that_is_not_ollama() -> None:
    with ScriptedOpenAI() as other, pytest.raises(BackendUnavailable, match="not as Ollama") as info:
        backend(other.url.removesuffix("/v1")).check()
    assert not isinstance(info.value, ModelMissing) and "--backend openai" in (info.value.hint or "")


def test_an_answer_of_the_wrong_shape_is_a_clear_error_not_a_traceback() -> None:
    with ScriptedOpenAI() as other:
        other.script["/api/tags"] = [(200, ["not", "an", "object"])]
        other.script["/api/chat"] = [(200, "a bare string")]
        other.script["/api/show"] = [(200, {"model_info": {"general.architecture": "qwen2",
                                                            "qwen2.context_length": 32768}})]
        with pytest.raises(BackendUnavailable, match="unexpected answer to listing models") as info:
            backend(other.url.removesuffix("/v1")).check()
        assert "upgrade Ollama" in (info.value.hint or "")
        with pytest.raises(BackendUnavailable, match="unexpected answer to the review prompt"):
            backend(other.url.removesuffix("/v1")).chat(request())
        other.script["/api/chat"] = [(400, {"error": "invalid format: expected \"json\" or a JSON schema"})]
        with pytest.raises(BackendUnavailable, match=r"rejected the review prompt \(HTTP 400\): invalid format"):
            backend(other.url.removesuffix("/v1")).chat(request())


def test_check_passes_when_model_is_pulled(fake: FakeOllama) -> None:
    backend(fake.url).check()
    fake.models["plain:latest"] = 2048
    backend(fake.url, "plain").check()  # an untagged name means :latest


def test_check_tells_model_missing_with_the_pull_command(fake: FakeOllama) -> None:
    with pytest.raises(ModelMissing) as info:
        backend(fake.url, "qwen2.5-coder:7b").check()
    assert info.value.hint == "ollama pull qwen2.5-coder:7b"
    assert MODEL in info.value.message  # says what is there instead
    with pytest.raises(ModelMissing, match="not found"):
        backend(fake.url, "qwen2.5-coder:7b").chat(request())


def test_check_tells_server_down() -> None:
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable) as info:
        backend(down).check()
    assert not isinstance(info.value, ModelMissing)
    assert "ollama serve" in (info.value.hint or "") and "OLLAMA_HOST" in (info.value.hint or "")
    with pytest.raises(BackendUnavailable):
        backend(down).chat(request())


def test_server_error_carries_the_server_message(fake: FakeOllama) -> None:
    fake.failure = "500"
    with pytest.raises(BackendUnavailable, match="llama runner process has terminated") as info:
        backend(fake.url).chat(request())
    assert info.value.__cause__ is not None  # translated, with the original chained


def test_timeout(fake: FakeOllama) -> None:
    fake.failure, fake.slow_seconds = "slow", 2.0
    started = time.monotonic()
    with pytest.raises(BackendTimeout, match=r"0\.5 s"):
        backend(fake.url, timeout=0.5).chat(request())
    assert time.monotonic() - started < 1.9


def test_dropped_connection(fake: FakeOllama) -> None:
    fake.failure = "drop"
    with pytest.raises(BackendUnavailable, match="dropped") as info:
        backend(fake.url).chat(request())
    assert isinstance(info.value.__cause__, httpx.TransportError)


def test_truncation_low_prompt_eval_count(fake: FakeOllama) -> None:
    fake.failure, fake.prompt_eval_count = "truncate", 900
    with pytest.raises(ServerTruncatedPrompt) as info:
        backend(fake.url).chat(request(expected=3000))
    assert isinstance(info.value, PromptTruncated)
    assert (info.value.sent_estimate, info.value.server_count) == (3000, 900)


def test_truncation_prompt_filled_the_window(fake: FakeOllama) -> None:
    # The fake, like Ollama, cuts a too-long prompt to num_ctx: the only trace is a full window.
    with pytest.raises(ServerTruncatedPrompt) as info:
        backend(fake.url).chat(request("x" * 40_000, num_ctx=2048, max_tokens=256))
    assert info.value.server_count == 2048 and info.value.sent_estimate is None


def test_truncation_rule_tolerates_our_overestimates() -> None:
    def check(expected: int | None, server_count: int | None, window_rule: bool = True) -> None:
        check_truncation(server="s", expected=expected, server_count=server_count, num_ctx=8192,
                         max_tokens=1024, window_rule=window_rule)

    check(5000, 4000)  # our usual 25% overestimate: fine
    check(5000, None)  # no count: cannot tell
    check(100, 40)  # tiny prompt: the gap is below the minimum
    with pytest.raises(ServerTruncatedPrompt):
        check(5000, 2900)
    with pytest.raises(ServerTruncatedPrompt):
        check(None, 7200)  # 7200 + 1024 > 8192: the prompt filled the window
    check(None, 7200, window_rule=False)


def test_the_fake_streams_ndjson_like_ollama(fake: FakeOllama) -> None:
    # The backend never streams; this keeps the fake honest for other users of it.
    fake.reply = '{"findings": []}'
    with httpx.stream("POST", f"{fake.url}/api/chat", timeout=5,
                      json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}) as resp:
        lines = [json.loads(line) for line in resp.iter_lines() if line]
    assert "".join(line["message"]["content"] for line in lines) == fake.reply
    assert lines[-1]["done"] is True and lines[-1]["prompt_eval_count"] > 0
    assert httpx.get(f"{fake.url}/api/version", timeout=5).json() == {"version": fake.version}


REAL_HOST = os.environ.get("LOCALREVIEW_TEST_OLLAMA_HOST")


@pytest.mark.slow
@pytest.mark.skipif(not REAL_HOST, reason="set LOCALREVIEW_TEST_OLLAMA_HOST to test against a real Ollama")
def test_real_ollama() -> None:
    assert REAL_HOST is not None
    model = os.environ.get("LOCALREVIEW_TEST_OLLAMA_MODEL", "qwen2.5-coder:0.5b")
    real = OllamaBackend(REAL_HOST, model, timeout=300, keep_alive="1m", seed=1)
    real.check()
    length = real.context_length()
    assert length is not None and length >= 2048
    answer = real.chat(request('Reply with {"findings": []}.', num_ctx=2048, max_tokens=64, expected=40))
    assert isinstance(json.loads(answer.text), dict)
    assert answer.prompt_tokens > 0
    with pytest.raises(ModelMissing):
        OllamaBackend(REAL_HOST, "localreview-no-such-model:1b", timeout=30).check()
