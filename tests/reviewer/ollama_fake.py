"""A loopback stand-in for an Ollama server, speaking its documented REST API.

No Ollama server can be installed on the CI machines, so the Ollama backend is tested against
this: a real HTTP server (stdlib ``http.server`` in a thread, 127.0.0.1, port 0) that answers
``/api/chat`` (plain JSON, or NDJSON when ``"stream": true``), ``/api/tags``, ``/api/show`` and
``/api/version``, records every request, and can be told to fail the ways a real one does.

``ScriptedOpenAI`` is the same idea for OpenAI-compatible servers: canned answers per path.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Failure = Literal["500", "slow", "drop", "truncate"]

CREATED_AT = "2025-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: dict[str, Any] | None


def estimate_tokens(text: str) -> int:
    """The fake's tokenizer: about four characters a token, like the planner's rule of thumb."""
    return max(1, len(text) // 4)


def free_port() -> int:
    """A port on which, right after this returns, nothing listens (for "server down" tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeOllama:
    """Configure the public attributes, then use as a context manager; ``url`` is the base URL.

    ``failure`` applies to the paths in ``fail_paths`` (default: ``/api/chat`` only):
    ``"500"`` answers HTTP 500 with an Ollama-style error, ``"slow"`` sleeps ``slow_seconds``
    before answering, ``"drop"`` closes the socket without a response, ``"truncate"`` answers
    normally but reports ``prompt_eval_count`` (or a third of the prompt when that is None).
    A model not in ``models`` gets Ollama's 404 ``{"error": "model 'x' not found"}``.
    """

    def __init__(self, models: dict[str, int] | None = None, arch: str = "qwen2") -> None:
        self.models: dict[str, int] = dict(models or {"qwen2.5-coder:0.5b": 32768})  # name -> context
        self.arch = arch
        self.version = "0.12.0"
        self.reply = '{"findings": []}'
        self.verify_reply: str | None = None  # the answer to a verification prompt; None: keep them all
        self.failure: Failure | None = None
        self.fail_paths: tuple[str, ...] = ("/api/chat",)
        self.slow_seconds = 3.0
        self.prompt_eval_count: int | None = None
        # How a prompt-cache hit is reported (the prefix shared with the previous chat request):
        # "counted" in prompt_eval_count (older builds), "hidden" left out of it and not reported
        # (0.30 up to ollama/ollama#16428), "reported" left out and given as prompt_eval_cached_count.
        self.cache_mode: Literal["counted", "hidden", "reported"] = "counted"
        self._last_prompt = ""
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeOllama:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True  # a "slow" handler must not hold up shutdown
        self._server = server
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-ollama", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- what tests look at -----------------------------------------------------------------

    def record(self, item: Recorded) -> None:
        with self._lock:
            self.requests.append(item)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path == path and r.body is not None]

    def review_bodies(self) -> list[dict[str, Any]]:
        """The /api/chat requests that were review prompts (not the verification pass's)."""
        return [b for b in self.bodies("/api/chat")
                if "verdicts" not in ((b.get("format") or {}).get("properties") or {})]

    def resolve(self, name: str) -> str | None:
        for candidate in (name, f"{name}:latest"):
            if candidate in self.models:
                return candidate
        return None

    # --- the answers ------------------------------------------------------------------------

    def chat_counts(self, body: dict[str, Any]) -> tuple[int, int]:
        """(prompt_eval_count, eval_count) as Ollama would report them."""
        counted, _cached, evals = self.chat_counts_cached(body)
        return counted, evals

    def chat_counts_cached(self, body: dict[str, Any]) -> tuple[int, int | None, int]:
        """(prompt_eval_count, prompt_eval_cached_count or None when not reported, eval_count)."""
        messages = body.get("messages") or []
        text = "".join(str(m.get("content", "")) for m in messages)
        shared = next((i for i, (a, b) in enumerate(zip(text, self._last_prompt, strict=False)) if a != b),
                      min(len(text), len(self._last_prompt)))
        self._last_prompt = text
        prompt, evals = self._counts(body, messages)
        cached = min(estimate_tokens(text[:shared]), prompt) if shared > 0 else 0
        if self.cache_mode == "hidden":
            return prompt - cached, None, evals
        if self.cache_mode == "reported":
            return prompt - cached, cached, evals
        return prompt, None, evals

    def _counts(self, body: dict[str, Any], messages: list[Any]) -> tuple[int, int]:
        prompt = sum(estimate_tokens(str(m.get("content", ""))) + 4 for m in messages)
        num_ctx = int((body.get("options") or {}).get("num_ctx") or 2048)
        if self.failure == "truncate" and "/api/chat" in self.fail_paths:
            prompt = self.prompt_eval_count if self.prompt_eval_count is not None else prompt // 3
        elif prompt > num_ctx:
            prompt = num_ctx  # what current Ollama does: cut the middle until the prompt fits
        return prompt, estimate_tokens(self.reply)


def _handler_for(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

        def _body(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return None
            data = json.loads(self.rfile.read(length) or b"null")
            return data if isinstance(data, dict) else None

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self, model: str) -> None:
            self._json(404, {"error": f"model '{model}' not found"})

        def _dispatch(self, method: str) -> None:
            body = self._body() if method == "POST" else None
            path = self.path.split("?")[0]
            fake.record(Recorded(method, path, body))
            failing = fake.failure if path in fake.fail_paths else None
            if failing == "drop":
                # Close without a byte of response, as a crashed runner does.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if failing == "slow":
                time.sleep(fake.slow_seconds)
            if failing == "500":
                self._json(500, {"error": "llama runner process has terminated: signal: killed"})
                return
            # The client may have given up already (timeout tests).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(method, path, body or {})

        def _answer(self, method: str, path: str, body: dict[str, Any]) -> None:
            if method == "GET" and path == "/api/version":
                self._json(200, {"version": fake.version})
            elif method == "GET" and path == "/api/tags":
                self._json(200, {"models": [_tag(name, fake.arch) for name in fake.models]})
            elif method == "POST" and path == "/api/show":
                name = fake.resolve(str(body.get("model") or body.get("name") or ""))
                if name is None:
                    self._not_found(str(body.get("model")))
                    return
                self._json(200, _show(fake.arch, fake.models[name]))
            elif method == "POST" and path == "/api/chat":
                name = fake.resolve(str(body.get("model") or ""))
                if name is None:
                    self._not_found(str(body.get("model")))
                    return
                self._chat(name, body)
            else:
                self._json(404, {"error": "404 page not found"})

        def _chat(self, name: str, body: dict[str, Any]) -> None:
            prompt_count, cached_count, eval_count = fake.chat_counts_cached(body)
            reply = fake.reply
            if "verdicts" in ((body.get("format") or {}).get("properties") or {}):
                user = str((body.get("messages") or [{}])[-1].get("content", ""))
                reply = fake.verify_reply or json.dumps({"verdicts": [
                    {"index": i, "verdict": "keep", "severity": "", "line": 0} for i in range(user.count("\n["))]})
            final: dict[str, Any] = {
                "model": name,
                "created_at": CREATED_AT,
                "done": True,
                "done_reason": "stop",
                "total_duration": 1_000_000,
                "load_duration": 1_000,
                "prompt_eval_count": prompt_count,
                "prompt_eval_duration": 500_000,
                "eval_count": eval_count,
                "eval_duration": 400_000,
            }
            if cached_count is not None:
                final["prompt_eval_cached_count"] = cached_count
            if body.get("stream", True) is False:
                self._json(200, {**final, "message": {"role": "assistant", "content": reply}})
                return
            # Ollama streams by default: NDJSON, one partial message per line, counts on the last.
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = [reply[i : i + 8] for i in range(0, len(reply), 8)]
            lines = [
                {"model": name, "created_at": CREATED_AT, "done": False,
                 "message": {"role": "assistant", "content": piece}}
                for piece in pieces
            ]
            lines.append({**final, "message": {"role": "assistant", "content": ""}})
            for line in lines:
                data = json.dumps(line).encode() + b"\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

    return Handler


def _tag(name: str, arch: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": CREATED_AT,
        "size": 397_821_319,
        "digest": "a" * 64,
        "details": {"format": "gguf", "family": arch, "families": [arch],
                    "parameter_size": "494.03M", "quantization_level": "Q4_K_M"},
    }


def _show(arch: str, context_length: int) -> dict[str, Any]:
    return {
        "modelfile": "# fake",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": arch, "families": [arch],
                    "parameter_size": "494.03M", "quantization_level": "Q4_K_M"},
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": 494_032_768,
            f"{arch}.context_length": context_length,
            f"{arch}.embedding_length": 896,
        },
        "capabilities": ["completion", "tools"],
        "modified_at": CREATED_AT,
    }


# --- an OpenAI-compatible server, for the openai backend and auto-selection ------------------


def completion(content: str = '{"findings": []}', prompt_tokens: int = 30) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 5, "total_tokens": prompt_tokens + 5},
    }


class ScriptedOpenAI:
    """A loopback OpenAI-compatible server answering each path from a queue of (status, payload)
    (the last one repeats); it records the JSON bodies it was sent."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, Any]]] = {
            "/v1/models": [(200, {"object": "list", "data": [{"id": "local-model", "object": "model"}]})],
            "/v1/chat/completions": [(200, completion())],
        }
        self.delay = 0.0
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                fake.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    fake.bodies.append(json.loads(self.rfile.read(length)))
                queue = fake.script.get(self.path, [(404, {"error": "not found"})])
                status, payload = queue.pop(0) if len(queue) > 1 else queue[0]
                time.sleep(fake.delay)
                data = json.dumps(payload).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ScriptedOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
