"""The library's face: one review, the same for every entry point.

``localreview diff``, ``hook``, ``baseline``, ``scripts/ci-review.sh`` (through the CLI) and the
MCP server all come through here, so the privacy guard, the remote opt-in, redaction,
suppressions and the baseline are applied once, in one order:

    request → repository, diff spec, config (bad input fails here, before any model is sought)
            → backend behind the privacy guard (redacting when the host is remote)
            → plan → model → findings → ignore globs, inline suppressions, baseline

Nothing here imports click or prints; progress and warnings go to ``request.log``.

    from reviewer.api import ReviewRequest, review
    result = review(ReviewRequest(diff_args=("HEAD~1",), cwd=Path("path/to/repo")))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.config import Config, load_config

if TYPE_CHECKING:
    import git

    from reviewer.backends.base import Backend
    from reviewer.diff.records import DiffSpec
    from reviewer.plan.records import Plan
    from reviewer.result import ReviewResult


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class ReviewRequest:
    """What to review and how. Options left None come from the config files and environment."""

    diff_args: Sequence[str] = ()  # git-diff arguments: "HEAD~1", "A..B", "--staged", "--", "path"
    cwd: Path | None = None  # where the user stands: finds the repository; pathspecs are relative to it
    backend: str | None = None
    model: str | None = None
    host: str | None = None
    num_ctx: int | None = None
    fail_on: str | None = None
    format: str | None = None
    analyzers: bool | None = None  # False: no bandit, secrets or rule pack
    analyzers_only: bool | None = None  # True: findings from the analyzers alone; no model is sought
    use_baseline: bool = True  # False when the baseline itself is being written
    config: Config | None = None  # an already resolved Config (the hook's); the options above are then ignored
    environ: Mapping[str, str] | None = None
    log: Callable[[str], None] = field(default=_quiet, compare=False)
    backend_factory: Callable[[Config], Backend] | None = field(default=None, compare=False)  # the test seam

    def flags(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "host": self.host, "num_ctx": self.num_ctx,
                "fail_on": self.fail_on, "format": self.format, "analyzers": self.analyzers,
                "analyzers_only": self.analyzers_only}


@dataclass(frozen=True)
class PromptPreview:
    """One batch's prompts exactly as they would be sent (redacted when the host is remote)."""

    system: str
    user: str
    prompt_tokens: int


class ReviewSession:
    """One prepared review: the repository, the diff spec and the config, resolved once."""

    def __init__(self, request: ReviewRequest, *, backend: Backend | None = None) -> None:
        from reviewer.diff.args import parse_diff_args
        from reviewer.diff.revisions import open_repo, repo_root, resolve_sides

        self.request = request
        self.cwd = (request.cwd or Path.cwd()).resolve()
        self.spec: DiffSpec = parse_diff_args(list(request.diff_args))
        self.repo: git.Repo = open_repo(self.cwd)
        self.root = repo_root(self.repo)
        resolve_sides(self.repo, self.spec)  # a bad revision is bad input (exit 2) before any model is sought
        self.config = request.config or load_config(self.root, request.flags(), request.environ)
        self._backend = backend

    def backend(self) -> Backend:
        if self._backend is None and self.config.analyzers_only:
            from reviewer.backends.none import NoModel
            from reviewer.policy.guard import enforce

            enforce(self.config)
            self._backend = NoModel()
        if self._backend is None:
            from reviewer.policy.guard import prepare_backend

            self._backend = prepare_backend(self.config, log=self.request.log, factory=self.request.backend_factory)
        return self._backend

    def plan(self) -> Plan:
        from reviewer.pipeline import build_plan, counter_for

        backend = self.backend()
        return build_plan(self.repo, self.root, self.spec, self.config, backend, counter_for(backend), cwd=self.cwd)

    def prompts(self) -> list[PromptPreview]:
        from reviewer.policy.redact import RedactingBackend, redact_batch

        redacting = isinstance(self.backend(), RedactingBackend)
        out: list[PromptPreview] = []
        for b in self.plan().batches:
            system, user = b.system, b.user
            if redacting:
                system, user, _n = redact_batch(system, user)
            out.append(PromptPreview(system, user, b.prompt_tokens))
        return out

    def review(self) -> ReviewResult:
        from reviewer.pipeline import review as run_pipeline
        from reviewer.policy.redact import RedactingBackend
        from reviewer.policy.suppress import filter_findings

        backend = self.backend()
        _plan, result = run_pipeline(self.repo, self.root, self.spec, self.config, backend,
                                     log=self.request.log, cwd=self.cwd)
        if isinstance(backend, RedactingBackend):
            result = dataclasses.replace(result, redacted_secrets=backend.redacted)
        return filter_findings(result, self.config, self.root, baseline=self.request.use_baseline)


def open_session(request: ReviewRequest, *, backend: Backend | None = None) -> ReviewSession:
    return ReviewSession(request, backend=backend)


def review(request: ReviewRequest) -> ReviewResult:
    """Review the change the request names; findings filtered by what the team decided."""
    return ReviewSession(request).review()


def plan(request: ReviewRequest) -> Plan:
    """The review plan (``--dry-run``): batches, context and token counts; no model is called."""
    return ReviewSession(request).plan()


def exit_code(result: ReviewResult, fail_on: str) -> int:
    """DESIGN.md's exit code for a finished review: 1 when a finding is at or above ``fail_on``."""
    from reviewer.findings.model import exit_code_for

    return exit_code_for(result.findings, fail_on)


__all__ = ["PromptPreview", "ReviewRequest", "ReviewSession", "exit_code", "open_session", "plan", "review"]
