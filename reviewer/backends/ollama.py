"""The Ollama backend: one non-streaming ``/api/chat`` call per prompt.

Ollama keeps the model loaded between calls (``keep_alive``), constrains the answer with
``format=<JSON schema>``, and -- the trap this module exists to catch -- silently truncates a
prompt longer than ``num_ctx``: it keeps the head and the tail, drops the middle, and only says
so in its own log. The one client-side sign is ``prompt_eval_count``, checked in
:func:`reviewer.backends.truncation.check_truncation`, which the OpenAI-compatible backend shares.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import ollama

from reviewer.backends.base import OLLAMA_DEFAULT_MODEL, ChatRequest, ChatResponse
from reviewer.backends.transport import transport_error
from reviewer.backends.truncation import check_truncation
from reviewer.errors import (
    BackendUnavailable,
    LocalReviewError,
    ModelMissing,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_MODEL = OLLAMA_DEFAULT_MODEL

def _display_host(host: str) -> str:
    """The URL the client will really use (OLLAMA_HOST may be a bare "0.0.0.0" or "host:port")."""
    url = host.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
        if urlsplit(url).port is None:
            url = f"{url}:11434"  # Ollama's port, which the client assumes for a bare host
    return url


class OllamaBackend:
    name = "ollama"
    smoke_test_model = False

    def __init__(
        self, host: str | None, model: str, timeout: float, keep_alive: str = "5m", seed: int = 42
    ) -> None:
        self.host = _display_host(host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST)
        self.model = model
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.seed = seed
        # The one seam to the server: tests point it at a loopback fake.
        self._client = ollama.Client(host=self.host, timeout=timeout)
        self._context_length: int | None = None
        self._context_known = False
        # What the last chat() really sent, and any adjustment made to the request on the way.
        self.last_num_ctx: int | None = None
        self.warnings: list[str] = []

    # --- error translation: nothing from ollama / httpx escapes this class -------------------

    def _translate(self, exc: Exception, what: str) -> LocalReviewError:
        serve_hint = f"start it with `ollama serve`, or point OLLAMA_HOST / --host at it (tried {self.host})"
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return ModelMissing(
                    f"Ollama at {self.host} has no model '{self.model}': {exc.error}",
                    hint=f"ollama pull {self.model}",
                )
            if exc.status_code >= 500:
                return BackendUnavailable(
                    f"Ollama at {self.host} failed during {what}: {exc.error}",
                    hint="see the Ollama server log; out of memory? use a smaller --num-ctx or model",
                )
            return BackendUnavailable(
                f"Ollama at {self.host} rejected {what} (HTTP {exc.status_code}): {exc.error}",
                hint="upgrade Ollama (structured output needs 0.5 or later) and check --model",
            )
        return transport_error(exc, server=f"Ollama at {self.host}", what=what, timeout=self.timeout,
                               unreachable=f"no Ollama server answers at {self.host}", start_hint=serve_hint,
                               unexpected_hint="upgrade Ollama and the `ollama` Python package")

    # --- the protocol --------------------------------------------------------------------------

    def check(self) -> None:
        try:
            listing = self._client.list()
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise BackendUnavailable(
                    f"{self.host} answers, but not as Ollama (no /api/tags)",
                    hint="point --host / OLLAMA_HOST at Ollama, or pass --backend openai for other servers",
                ) from exc
            raise self._translate(exc, "listing models") from exc
        except (httpx.HTTPError, ConnectionError, ValueError) as exc:
            raise self._translate(exc, "listing models") from exc
        names = [m.model for m in listing.models if m.model]
        if self.model in names or f"{self.model}:latest" in names:
            return
        # Not listed by that exact name: /api/show is the authority (it resolves aliases).
        try:
            self._client.show(self.model)
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                have = ", ".join(sorted(names)) or "none"
                raise ModelMissing(
                    f"Ollama at {self.host} has no model '{self.model}' (it has: {have})",
                    hint=f"ollama pull {self.model}",
                ) from exc
            raise self._translate(exc, "showing the model") from exc
        except (httpx.HTTPError, ConnectionError, ValueError) as exc:
            raise self._translate(exc, "showing the model") from exc

    def context_length(self) -> int | None:
        if self._context_known:
            return self._context_length
        try:
            shown = self._client.show(self.model)
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError) as exc:
            raise self._translate(exc, "showing the model") from exc
        info: dict[str, Any] = dict(shown.modelinfo or {})
        arch = info.get("general.architecture")
        value = info.get(f"{arch}.context_length") if arch else None
        self._context_length = value if isinstance(value, int) and value > 0 else None
        self._context_known = True
        return self._context_length

    def count_tokens(self, text: str) -> int | None:
        return None  # Ollama exposes no tokenizer endpoint; the planner estimates instead.

    def chat(self, request: ChatRequest) -> ChatResponse:
        num_ctx = request.num_ctx
        limit = self.context_length()
        if limit is not None and num_ctx > limit:
            # Asking for more than the model was trained on degrades it silently; clamp and say so.
            self.warnings.append(
                f"num_ctx {num_ctx} exceeds {self.model}'s trained context {limit}; using {limit}"
            )
            num_ctx = limit
        self.last_num_ctx = num_ctx
        started = time.monotonic()
        payload = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "stream": False,
            "format": request.schema,
            "options": {"num_ctx": num_ctx, "temperature": 0, "seed": self.seed, "num_predict": request.max_tokens},
            "keep_alive": self.keep_alive,
        }
        try:
            # The raw answer, not the client's typed one: that model drops prompt_eval_cached_count,
            # which newer Ollama builds report and the truncation check needs.
            raw = self._client._request_raw("POST", "/api/chat", json=payload).json()  # type: ignore[no-untyped-call]
            content = str((raw.get("message") or {}).get("content") or "")
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError, AttributeError) as exc:
            raise self._translate(exc, "the review prompt") from exc
        seconds = time.monotonic() - started
        evaluated = _count(raw.get("prompt_eval_count"))
        cached = _count(raw.get("prompt_eval_cached_count")) if "prompt_eval_cached_count" in raw else None
        check_truncation(
            server=f"Ollama ({self.model})",
            expected=request.expected_prompt_tokens,
            server_count=evaluated,
            cached_count=cached,
            cacheable_prefix=request.cacheable_prefix_tokens,
            num_ctx=num_ctx,
            max_tokens=request.max_tokens,
        )
        return ChatResponse(
            text=content,
            prompt_tokens=(evaluated or 0) + (cached or 0),
            completion_tokens=_count(raw.get("eval_count")) or 0,
            seconds=seconds,
        )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
