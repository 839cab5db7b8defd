"""One exception hierarchy for the whole tool.

Every message says what went wrong *and* how to fix it; the CLI maps each class to
an exit code in one place (``exit_code``), so the core never calls ``sys.exit``.
"""

from __future__ import annotations


class LocalReviewError(Exception):
    """Base of every error the user may see. ``exit_code``: 2 bad input, 3 environment (README, "Exit codes")."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class BadInput(LocalReviewError):
    """The user's input is wrong: unknown revision, not a repository, bad option (exit 2)."""

    exit_code = 2


class NotARepository(BadInput):
    pass


class UnknownRevision(BadInput):
    pass


class ConfigError(BadInput):
    pass


class EnvironmentFailure(LocalReviewError):
    """The environment cannot do the job: server down, model missing, index unreadable (exit 3)."""

    exit_code = 3


class IndexUnreadable(EnvironmentFailure):
    pass


class IndexBusy(EnvironmentFailure):
    pass


class BackendUnavailable(EnvironmentFailure):
    pass


class ModelMissing(EnvironmentFailure):
    pass


class BackendTimeout(EnvironmentFailure):
    pass


class PromptTruncated(EnvironmentFailure):
    """The server kept fewer prompt tokens than were sent: the review must be re-planned smaller."""


class PrivacyViolation(EnvironmentFailure):
    """A connection to a host that is neither loopback nor configured was attempted."""


class SchemaMismatch(IndexUnreadable):
    """The index was written by another version of localreview: it is rebuilt, not read."""

    def __init__(self, message: str, *, hint: str | None = None, found: int, wanted: int) -> None:
        super().__init__(message, hint=hint)
        self.found = found
        self.wanted = wanted


class ServerTruncatedPrompt(PromptTruncated):
    """The server kept fewer prompt tokens than the plan sent; carries both numbers.

    Raised by every backend (Ollama's silent truncation, an OpenAI-compatible server's, the
    embedded model's window), so it lives here rather than with any one of them."""

    def __init__(
        self, message: str, *, hint: str | None, sent_estimate: int | None, server_count: int, num_ctx: int
    ) -> None:
        super().__init__(message, hint=hint)
        self.sent_estimate = sent_estimate
        self.server_count = server_count
        self.num_ctx = num_ctx
