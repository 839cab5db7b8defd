"""Which backend make_backend builds, and what it says when it had to choose."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

from reviewer.backends import embedded
from reviewer.backends.embedded import EmbeddedBackend
from reviewer.backends.ollama import OllamaBackend
from reviewer.backends.openai_compat import OpenAICompatBackend
from reviewer.backends.select import make_backend
from reviewer.config import Config
from reviewer.errors import BackendUnavailable, BadInput
from tests.reviewer.ollama_fake import FakeOllama, ScriptedOpenAI, free_port


@pytest.fixture
def logged() -> list[str]:
    return []


@pytest.fixture
def nothing_at_default_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point Ollama's default at a dead port so a developer's real Ollama cannot sway a test."""
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", dead)
    yield dead


def no_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[..., ModuleSpec | None] = importlib.util.find_spec

    def without_llama(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "llama_cpp" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_llama)


def with_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pretend llama-cpp-python and the bundled GGUF are installed (nothing is loaded here)."""
    real: Callable[..., ModuleSpec | None] = importlib.util.find_spec
    gguf = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF")

    def with_llama(name: str, package: str | None = None) -> ModuleSpec | None:
        return ModuleSpec("llama_cpp", None) if name == "llama_cpp" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", with_llama)
    monkeypatch.setattr(embedded, "default_model_path", lambda: str(gguf))


def test_explicit_backends_are_built_from_config(logged: list[str]) -> None:
    ollama = make_backend(Config(backend="ollama", host="http://127.0.0.1:1", timeout=9), log=logged.append)
    assert isinstance(ollama, OllamaBackend)
    assert (ollama.host, ollama.model, ollama.timeout) == ("http://127.0.0.1:1", "qwen2.5-coder:7b", 9)
    openai = make_backend(Config(backend="openai", host="127.0.0.1:8080", model="m"), log=logged.append)
    assert isinstance(openai, OpenAICompatBackend) and openai.base_url == "http://127.0.0.1:8080/v1"
    emb = make_backend(Config(backend="embedded", model="/x.gguf", num_ctx=4096), log=logged.append)
    assert isinstance(emb, EmbeddedBackend) and (emb.model_path, emb.n_ctx) == ("/x.gguf", 4096)
    assert not emb.smoke_test_model
    assert logged == []  # nothing was chosen on the user's behalf


def test_openai_without_host_is_bad_input(logged: list[str]) -> None:
    with pytest.raises(BadInput, match="--host") as info:
        make_backend(Config(backend="openai"), log=logged.append)
    assert info.value.exit_code == 2


def test_auto_prefers_ollama_with_the_model(logged: list[str]) -> None:
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        backend = make_backend(Config(host=fake.url, timeout=77), log=logged.append)
    assert isinstance(backend, OllamaBackend) and backend.timeout == 77  # the probe's 1 s is not kept
    assert backend.model == "qwen2.5-coder:7b"
    assert len(logged) == 1 and "Ollama" in logged[0] and fake.url in logged[0]


def test_auto_falls_back_to_embedded_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, logged: list[str], nothing_at_default_host: str
) -> None:
    with_embedded(monkeypatch, tmp_path)
    backend = make_backend(Config(num_ctx=4096), log=logged.append)
    assert isinstance(backend, EmbeddedBackend) and backend.smoke_test_model and backend.n_ctx == 4096
    (line,) = logged
    assert "smoke-test model SmolLM2-135M" in line and f"no Ollama answering at {nothing_at_default_host}" in line
    assert "not meaningful" in line


def test_auto_reports_an_unpulled_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        logged: list[str]) -> None:
    with_embedded(monkeypatch, tmp_path)
    with FakeOllama({"llama3:8b": 8192}) as fake:
        backend = make_backend(Config(host=fake.url), log=logged.append)
    assert isinstance(backend, EmbeddedBackend)
    assert "ollama pull qwen2.5-coder:7b" in logged[0]


def test_auto_finds_an_openai_server_at_host(logged: list[str]) -> None:
    with ScriptedOpenAI() as server:
        backend = make_backend(Config(host=server.url, timeout=60), log=logged.append)
        assert "/v1/api/tags" in server.paths  # Ollama was tried first, and 404'd: not Ollama
    assert isinstance(backend, OpenAICompatBackend)
    assert (backend.model, backend.timeout) == ("local-model", 60)
    assert "OpenAI-compatible server" in logged[0] and "local-model" in logged[0]


def test_auto_does_not_swap_an_unpulled_ollama_model_for_another(
    monkeypatch: pytest.MonkeyPatch, logged: list[str]
) -> None:
    no_embedded(monkeypatch)
    with FakeOllama({"llama3:8b": 8192}) as fake, pytest.raises(BackendUnavailable) as info:
        make_backend(Config(host=fake.url), log=logged.append)
    assert "/v1/models" not in [r.path for r in fake.requests]
    assert "ollama pull qwen2.5-coder:7b" in info.value.message


def test_nothing_available_says_how_to_get_a_model(
    monkeypatch: pytest.MonkeyPatch, logged: list[str], nothing_at_default_host: str
) -> None:
    no_embedded(monkeypatch)
    with pytest.raises(BackendUnavailable) as info:
        make_backend(Config(), log=logged.append)
    assert "ollama pull qwen2.5-coder:7b" in (info.value.hint or "")
    assert "pip install 'localreview[embedded]'" in (info.value.hint or "")
    assert info.value.exit_code == 3 and logged == []
