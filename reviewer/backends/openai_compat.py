"""The OpenAI-compatible backend: LM Studio, llama.cpp's server, llama_cpp.server, vLLM, TGI.

Plain ``httpx`` against ``<host>/v1``; no SDK, so nothing but the request we write leaves the
process. The servers agree on ``/chat/completions`` and ``/models`` but not on how to ask for
structured output, so the first call walks a ladder of ``response_format`` forms and the backend
remembers the first one the server accepts.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from reviewer.backends.base import ChatRequest, ChatResponse
from reviewer.backends.transport import error_text, transport_error
from reviewer.backends.truncation import check_truncation
from reviewer.errors import (
    BackendUnavailable,
    LocalReviewError,
    ModelMissing,
    PromptTruncated,
    ServerTruncatedPrompt,
)


def _response_formats(schema: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [
        # llama_cpp.server (and llama.cpp's server): grammar-constrained to the schema.
        {"type": "json_object", "schema": schema},
        # OpenAI's form, which LM Studio and vLLM take.
        {"type": "json_schema", "json_schema": {"name": "findings", "schema": schema}},
        # Last resort: no constraint; the findings validator copes with what comes back.
        None,
    ]


# How servers word "the prompt does not fit": llama_cpp.server / vLLM ("maximum context length"),
# llama.cpp's server ("exceeds the available context size"), OpenAI's code name.
_CONTEXT_ERROR = re.compile(r"context (length|window|size)|context_length_exceeded|exceed_context", re.I)
# OpenAI's wording, which llama_cpp.server and vLLM copy: the server's own numbers.
_CONTEXT_NUMBERS = re.compile(r"maximum context length is (\d+) tokens.*?\((\d+) in the messages", re.S)


def base_url(host: str) -> str:
    """``http://127.0.0.1:8080`` -> ``http://127.0.0.1:8080/v1``; a URL with a path is kept."""
    url = host.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if urlsplit(url).path else f"{url}/v1"


class OpenAICompatBackend:
    name = "openai"
    smoke_test_model = False

    def __init__(self, host: str, model: str | None, timeout: float, seed: int = 42) -> None:
        self.base_url = base_url(host)
        self.timeout = timeout
        self.seed = seed
        # Filled from /models by check() (or the first chat()) when the user named no model.
        self.model = model or ""
        # The one seam to the server.
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._entries: list[dict[str, Any]] | None = None
        self._context_length: int | None = None
        self._context_known = False
        # Index into _response_formats() of the form this server accepted; None until known.
        self.format_mode: int | None = None

    # --- error translation ---------------------------------------------------------------------

    def _transport(self, exc: Exception, what: str) -> LocalReviewError:
        return transport_error(
            exc, server=f"the server at {self.base_url}", what=what, timeout=self.timeout,
            unreachable=f"no server answers at {self.base_url}",
            start_hint="start the server (LM Studio, llama.cpp `llama-server`, vLLM, ...) or fix --host;"
            " it must be the base of the OpenAI API, e.g. http://127.0.0.1:8080/v1",
            unexpected_hint="is --host the base of an OpenAI-compatible API (ending in /v1)?")

    def _status(self, resp: httpx.Response, what: str, expected: int | None = None) -> LocalReviewError:
        text = error_text(resp)
        if _CONTEXT_ERROR.search(text):
            message = f"the server at {self.base_url} refused the prompt as longer than its context: {text}"
            hint = ("start the server with a larger context (llama.cpp: -c/--ctx-size; "
                    "llama_cpp.server: --n_ctx) or lower --num-ctx to match it")
            numbers = _CONTEXT_NUMBERS.search(text)
            if numbers:
                return ServerTruncatedPrompt(message, hint=hint, sent_estimate=expected,
                                             server_count=int(numbers[2]), num_ctx=int(numbers[1]))
            return PromptTruncated(message, hint=hint)
        if resp.status_code == 404 and "model" in text.lower():
            return ModelMissing(
                f"the server at {self.base_url} has no model '{self.model}': {text}",
                hint="load the model in the server, or pass --model with one of the names it lists at /models",
            )
        if resp.status_code == 404:
            return BackendUnavailable(
                f"{self.base_url} has no OpenAI endpoint for {what} (HTTP 404)",
                hint="pass --host as the base of the OpenAI API, e.g. http://127.0.0.1:8080/v1",
            )
        return BackendUnavailable(
            f"the server at {self.base_url} failed {what} (HTTP {resp.status_code}): {text}",
            hint="see the server's log",
        )

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport(exc, what) from exc

    # --- the protocol --------------------------------------------------------------------------

    def _models(self) -> list[dict[str, Any]]:
        if self._entries is None:
            resp = self._request("GET", "/models", "listing models")
            if resp.status_code != 200:
                raise self._status(resp, "listing models")
            try:
                data = resp.json()["data"]
                self._entries = [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)]
            except (ValueError, KeyError, TypeError) as exc:
                raise self._transport(exc, "listing models") from exc
        return self._entries

    def check(self) -> None:
        ids = [str(e["id"]) for e in self._models()]
        if not self.model:
            if not ids:
                raise ModelMissing(
                    f"the server at {self.base_url} lists no model",
                    hint="load a model in the server (LM Studio: load one; llama.cpp: -m FILE.gguf)",
                )
            self.model = ids[0]  # single-model servers (the usual local case) list exactly one
        elif ids and self.model not in ids:
            raise ModelMissing(
                f"the server at {self.base_url} has no model '{self.model}' (it has: {', '.join(ids)})",
                hint=f"pass --model {ids[0]}, or load '{self.model}' in the server",
            )

    def context_length(self) -> int | None:
        """The serving context when the server tells it (vLLM, LM Studio, llama.cpp's /props)."""
        if self._context_known:
            return self._context_length
        self.check()
        entry = next((e for e in self._models() if e.get("id") == self.model), {})
        found: Any = entry.get("max_model_len") or entry.get("loaded_context_length")
        if found is None:
            # llama.cpp's own server reports the loaded context at the root, beside /v1.
            root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
            try:
                props = self._client.get(f"{root}/props")
                if props.status_code == 200:
                    settings = props.json().get("default_generation_settings") or {}
                    found = settings.get("n_ctx") or props.json().get("n_ctx")
            except (httpx.HTTPError, ValueError, AttributeError):
                found = None  # optional: other servers have no /props
        self._context_length = found if isinstance(found, int) and found > 0 else None
        self._context_known = True
        return self._context_length

    def count_tokens(self, text: str) -> int | None:
        return None  # /tokenize is not part of the OpenAI API; the planner estimates instead.

    def chat(self, request: ChatRequest) -> ChatResponse:
        if not self.model:
            self.check()
        formats = _response_formats(request.schema)
        modes = [self.format_mode] if self.format_mode is not None else list(range(len(formats)))
        started = time.monotonic()
        for mode in modes:
            payload: dict[str, Any] = {
                "model": self.model,
                "messages": [
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                "temperature": 0,
                "seed": self.seed,
                "max_tokens": request.max_tokens,
                "stream": False,
            }
            if formats[mode] is not None:
                payload["response_format"] = formats[mode]
            resp = self._request("POST", "/chat/completions", "the review prompt", json=payload)
            if resp.status_code != 200 and self.format_mode is None and mode < len(formats) - 1:
                error = error_text(resp)
                # 400/422 is how servers refuse a form they do not know; llama_cpp.server answers
                # 500 with its validation message instead.
                refused = resp.status_code in (400, 422) or (
                    resp.status_code == 500 and "response_format" in error
                )
                if refused and not _CONTEXT_ERROR.search(error):
                    continue  # try the next response_format form
            if resp.status_code != 200:
                raise self._status(resp, "the review prompt", request.expected_prompt_tokens)
            self.format_mode = mode
            return self._parse(resp, request, time.monotonic() - started)
        raise AssertionError("unreachable: the last response_format form never falls through")

    def _parse(self, resp: httpx.Response, request: ChatRequest, seconds: float) -> ChatResponse:
        try:
            data = resp.json()
            text = data["choices"][0]["message"]["content"] or ""
            usage = data.get("usage") or {}
            prompt = usage.get("prompt_tokens")
            completion = usage.get("completion_tokens")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise self._transport(exc, "the review prompt") from exc
        prompt_count = prompt if isinstance(prompt, int) else None
        # Servers reject an over-long prompt rather than cut it, so only the ratio rule applies:
        # the window rule would fire on plans built for a bigger window than the server's.
        check_truncation(
            server=f"the server at {self.base_url} ({self.model})",
            expected=request.expected_prompt_tokens,
            server_count=prompt_count,
            num_ctx=request.num_ctx,
            max_tokens=request.max_tokens,
            window_rule=False,
        )
        return ChatResponse(
            text=str(text),
            prompt_tokens=prompt_count if prompt_count is not None else request.expected_prompt_tokens or 0,
            completion_tokens=completion if isinstance(completion, int) else 0,
            seconds=seconds,
        )
