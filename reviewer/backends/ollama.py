"""The Ollama backend: one non-streaming ``/api/chat`` call per prompt.

Ollama keeps the model loaded between calls (``keep_alive``), constrains the answer with
``format=<JSON schema>``, and -- the trap this module exists to catch -- silently truncates a
prompt longer than ``num_ctx``: it keeps the head and the tail, drops the middle, and only says
so in its own log. The one client-side sign is ``prompt_eval_count``, checked in
:func:`reviewer.backends.truncation.check_truncation`, which the OpenAI-compatible backend shares.

The documented REST API (``/api/tags``, ``/api/show``, ``/api/chat``) is spoken with httpx directly.
The ``ollama`` package's typed answers drop fields the truncation check needs
(``prompt_eval_cached_count``), and importing it (with pydantic) cost 0.15 s of every start-up.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from reviewer.backends.base import OLLAMA_DEFAULT_MODEL, ChatRequest, ChatResponse
from reviewer.backends.transport import error_text, transport_error
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
        self._client = httpx.Client(base_url=self.host, timeout=timeout,
                                    headers={"Content-Type": "application/json", "Accept": "application/json"})
        self._context_length: int | None = None
        self._context_known = False
        # What the last chat() really sent, and any adjustment made to the request on the way.
        self.last_num_ctx: int | None = None
        self.warnings: list[str] = []

    # --- error translation: nothing from httpx escapes this class -----------------------------

    def _request(self, method: str, path: str, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call; its JSON answer, or this tool's error. A non-2xx answer is an ``_HTTPStatus``."""
        try:
            resp = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise self._translate(exc, what) from exc
        if resp.status_code >= 400:
            raise _HTTPStatus(resp.status_code, error_text(resp))
        try:
            data = resp.json()
        except ValueError as exc:
            raise self._translate(exc, what) from exc
        if not isinstance(data, dict):
            raise self._translate(ValueError(f"a JSON {type(data).__name__}, not an object"), what)
        return data

    def _translate(self, exc: Exception, what: str) -> LocalReviewError:
        serve_hint = f"start it with `ollama serve`, or point OLLAMA_HOST / --host at it (tried {self.host})"
        if isinstance(exc, _HTTPStatus):
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
                               unexpected_hint="upgrade Ollama (0.5 or later speaks the API used here)")

    # --- the protocol --------------------------------------------------------------------------

    def check(self) -> None:
        try:
            listing = self._request("GET", "/api/tags", "listing models")
        except _HTTPStatus as exc:
            if exc.status_code == 404:
                raise BackendUnavailable(
                    f"{self.host} answers, but not as Ollama (no /api/tags)",
                    hint="point --host / OLLAMA_HOST at Ollama, or pass --backend openai for other servers",
                ) from exc
            raise self._translate(exc, "listing models") from exc
        models = listing.get("models")
        names = [str(m.get("model") or m.get("name") or "") for m in models if isinstance(m, dict)] \
            if isinstance(models, list) else []
        if self.model in names or f"{self.model}:latest" in names:
            return
        # Not listed by that exact name: /api/show is the authority (it resolves aliases).
        try:
            self._show()
        except _HTTPStatus as exc:
            if exc.status_code == 404:
                have = ", ".join(sorted(n for n in names if n)) or "none"
                raise ModelMissing(
                    f"Ollama at {self.host} has no model '{self.model}' (it has: {have})",
                    hint=f"ollama pull {self.model}",
                ) from exc
            raise self._translate(exc, "showing the model") from exc

    def _show(self) -> dict[str, Any]:
        return self._request("POST", "/api/show", "showing the model", {"model": self.model})

    def context_length(self) -> int | None:
        if self._context_known:
            return self._context_length
        try:
            shown = self._show()
        except _HTTPStatus as exc:
            raise self._translate(exc, "showing the model") from exc
        info = shown.get("model_info") or shown.get("modelinfo") or {}
        info = info if isinstance(info, dict) else {}
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
            raw = self._request("POST", "/api/chat", "the review prompt", payload)
        except _HTTPStatus as exc:
            raise self._translate(exc, "the review prompt") from exc
        message = raw.get("message")
        content = str((message.get("content") if isinstance(message, dict) else None) or "")
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


class _HTTPStatus(Exception):
    """Ollama answered with an error status; ``error`` is its ``{"error": …}`` text."""

    def __init__(self, status_code: int, error: str) -> None:
        super().__init__(f"HTTP {status_code}: {error}")
        self.status_code, self.error = status_code, error
