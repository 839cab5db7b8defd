"""The backend of an analyzers-only review (``--analyzers-only``): no model is sought or called."""

from __future__ import annotations

from reviewer.backends.base import ChatRequest, ChatResponse


class NoModel:
    name = "none"
    model = ""
    smoke_test_model = False

    def check(self) -> None:
        return None

    def context_length(self) -> int | None:
        return None

    def count_tokens(self, text: str) -> int | None:
        return None

    def chat(self, request: ChatRequest) -> ChatResponse:
        raise AssertionError("an analyzers-only review calls no model")
