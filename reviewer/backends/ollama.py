"""The Ollama backend: one non-streaming ``/api/chat`` call per prompt.

Ollama keeps the model loaded between calls (``keep_alive``), constrains the answer with
``format=<JSON schema>``, and -- the trap this module exists to catch -- silently truncates a
prompt longer than ``num_ctx``: it keeps the head and the tail, drops the middle, and only says
so in its own log. The one client-side sign is ``prompt_eval_count``, checked in
:func:`check_truncation`, which the OpenAI-compatible backend shares.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import ollama

from reviewer.backends.base import ChatRequest, ChatResponse
from reviewer.errors import (
    BackendTimeout,
    BackendUnavailable,
    LocalReviewError,
    ModelMissing,
    PromptTruncated,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_MODEL = "qwen2.5-coder:7b"

# Our token estimates overestimate by 10-25%, so an honest server count sits at 0.75-0.9 of the
# estimate; below 0.6 the server must have dropped part of the prompt. The absolute gap keeps
# tiny prompts (where a chat template's few tokens swing the ratio) from tripping the rule.
TRUNCATION_RATIO = 0.6
TRUNCATION_MIN_GAP = 64


class ServerTruncatedPrompt(PromptTruncated):
    """The server kept fewer prompt tokens than the plan sent; carries both numbers."""

    def __init__(
        self, message: str, *, hint: str | None, sent_estimate: int | None, server_count: int, num_ctx: int
    ) -> None:
        super().__init__(message, hint=hint)
        self.sent_estimate = sent_estimate
        self.server_count = server_count
        self.num_ctx = num_ctx


def check_truncation(
    *,
    server: str,
    expected: int | None,
    server_count: int | None,
    num_ctx: int,
    max_tokens: int,
    window_rule: bool = True,
) -> None:
    """Raise :class:`ServerTruncatedPrompt` when the server's prompt count betrays truncation.

    Two rules, because Ollama's truncation leaves two different traces:
    - window rule: the kept prompt plus the output reserve overflows ``num_ctx`` -- the prompt
      filled the window (mild overflow: Ollama cut it down to about ``num_ctx``);
    - ratio rule: the server counted less than ``TRUNCATION_RATIO`` of our (over)estimate -- a
      large piece went missing (heavy overflow: older runners keep about half the window).
    A missing or zero count says nothing (old Ollama versions omitted it for cached prompts).
    """
    if not server_count:
        return
    hint = "raise --num-ctx (up to the model's context length) or review fewer files at once"
    if window_rule and server_count + max_tokens > num_ctx:
        raise ServerTruncatedPrompt(
            f"{server} filled the whole context window: {server_count} prompt tokens + {max_tokens} "
            f"reserved for the answer > num_ctx {num_ctx}; the prompt was probably truncated"
            + (f" (the plan estimated {expected} tokens)" if expected else ""),
            hint=hint,
            sent_estimate=expected,
            server_count=server_count,
            num_ctx=num_ctx,
        )
    gap = (expected or 0) - server_count
    if expected and server_count < TRUNCATION_RATIO * expected and gap >= TRUNCATION_MIN_GAP:
        raise ServerTruncatedPrompt(
            f"{server} evaluated only {server_count} prompt tokens where about {expected} were sent: "
            f"it truncated the prompt (num_ctx {num_ctx})",
            hint=hint,
            sent_estimate=expected,
            server_count=server_count,
            num_ctx=num_ctx,
        )


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
        if isinstance(exc, httpx.TimeoutException):
            return BackendTimeout(
                f"Ollama at {self.host} did not answer {what} within {self.timeout:g} s",
                hint="raise --timeout (LOCALREVIEW_TIMEOUT), or use a smaller model or --num-ctx",
            )
        if isinstance(exc, ConnectionError):  # ollama's translation of httpx.ConnectError
            return BackendUnavailable(f"no Ollama server answers at {self.host}", hint=serve_hint)
        if isinstance(exc, httpx.TransportError):
            return BackendUnavailable(
                f"the connection to Ollama at {self.host} dropped during {what}"
                f" ({type(exc).__name__}: {exc})",
                hint="the server may have crashed (out of memory?); see its log, then retry",
            )
        return BackendUnavailable(
            f"Ollama at {self.host} sent an unexpected answer to {what}: {exc}",
            hint="upgrade Ollama and the `ollama` Python package",
        )

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
        try:
            answer = self._client.chat(
                model=self.model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                stream=False,
                format=request.schema,
                options={
                    "num_ctx": num_ctx,
                    "temperature": 0,
                    "seed": self.seed,
                    "num_predict": request.max_tokens,
                },
                keep_alive=self.keep_alive,
            )
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError) as exc:
            raise self._translate(exc, "the review prompt") from exc
        seconds = time.monotonic() - started
        check_truncation(
            server=f"Ollama ({self.model})",
            expected=request.expected_prompt_tokens,
            server_count=answer.prompt_eval_count,
            num_ctx=num_ctx,
            max_tokens=request.max_tokens,
        )
        return ChatResponse(
            text=answer.message.content or "",
            prompt_tokens=answer.prompt_eval_count or 0,
            completion_tokens=answer.eval_count or 0,
            seconds=seconds,
        )
