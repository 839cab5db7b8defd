"""The one small protocol every model backend implements.

A backend turns one rendered prompt into one answer; it knows nothing of diffs,
findings or reports. Tests swap a real backend for a fake only at this seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# What auto-detection asks Ollama for, and what the messages tell people to pull.
OLLAMA_DEFAULT_MODEL = "qwen2.5-coder:7b"


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    schema: dict[str, Any]  # JSON schema the answer must follow (structured output)
    num_ctx: int  # the context window the plan was built for
    max_tokens: int  # the output reserve
    expected_prompt_tokens: int | None = None  # the plan's count, to detect server-side truncation
    # Tokens at the start of the prompt that the server saw in the previous request (a verification
    # pass re-sends the batch's prompt): a server may serve them from its cache and not count them.
    cacheable_prefix_tokens: int | None = None


@dataclass(frozen=True)
class ChatResponse:
    text: str  # the raw answer (expected to be JSON)
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@runtime_checkable
class Backend(Protocol):
    name: str  # "ollama" | "openai" | "embedded" | a fake's name
    model: str  # what the user knows the model as
    smoke_test_model: bool  # True when the findings come from the tiny bundled model

    def check(self) -> None:
        """Raise BackendUnavailable / ModelMissing when a review could not run."""

    def context_length(self) -> int | None:
        """The model's maximum context, when the backend can tell."""

    def count_tokens(self, text: str) -> int | None:
        """Exact token count with the model's tokenizer, or None when not available."""

    def chat(self, request: ChatRequest) -> ChatResponse:
        """Send one prompt; raise a LocalReviewError subclass on failure."""
