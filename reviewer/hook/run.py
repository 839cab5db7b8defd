"""``localreview hook``: review the change being committed (or pushed), within a time limit,
and never twice.

What it reviews: the staged change on ``pre-commit``; ``FROM..TO`` when pre-commit names a
range (pre-push, ``pre-commit run --from-ref A --to-ref B``), from ``PRE_COMMIT_FROM_REF`` /
``PRE_COMMIT_TO_REF`` or their older names ``PRE_COMMIT_ORIGIN`` / ``PRE_COMMIT_SOURCE``.

Three paths, cheapest first:
- nothing staged: one ``git diff --numstat`` and out, before gitpython, a backend or a model
  is imported (a commit of only deletions or binaries costs the same);
- cache hit: the change's fingerprint (see ``change_fingerprint``) names a stored result, which
  is rendered and judged against ``--fail-on`` again, so changing ``fail_on`` re-uses it;
- review: plan and ask the model under a watchdog of ``hook_timeout`` seconds. An environment
  failure (server down, model missing, too slow) fails closed (exit 3) unless ``fail_open``.

Why the cache key is computed *before* planning, from git's own hashes, rather than from the
rendered prompts: building the plan asks the backend for its context length (the embedded
backend loads the model for it, Ollama answers over HTTP) and, when an index exists, refreshes
it and may load the embedder. A prompt-keyed cache would pay all of that on every hit, and could
not answer at all while the model server is down. Git already hashes everything a plan reads.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.config import Config, load_config
from reviewer.errors import EnvironmentFailure
from reviewer.hook.cache import (
    CACHE_DIR,
    ResultCache,
    backend_identity,
    cache_key,
    index_signature,
    static_backend_identity,
)
from reviewer.hook.trigger import _toplevel, change_fingerprint, changes_lines, diff_args, skipped
from reviewer.hook.watchdog import within

if TYPE_CHECKING:
    from reviewer.backends.base import Backend
    from reviewer.result import ReviewResult


@dataclass(frozen=True)
class HookRequest:
    """The hook's options; None means "as the config says"."""

    backend: str | None = None
    model: str | None = None
    host: str | None = None
    num_ctx: int | None = None
    format: str | None = None
    fail_on: str | None = None
    timeout: float | None = None  # config hook_timeout
    fail_open: bool | None = None
    analyzers: bool | None = None
    analyzers_only: bool | None = None

    def flags(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "host": self.host, "num_ctx": self.num_ctx,
                "format": self.format, "fail_on": self.fail_on, "hook_timeout": self.timeout,
                "fail_open": self.fail_open, "analyzers": self.analyzers, "analyzers_only": self.analyzers_only}


@dataclass(frozen=True)
class HookOutcome:
    """A finished hook run: the result to report (None when there was nothing to review or the
    hook failed open) and the config that says how to render and judge it."""

    result: ReviewResult | None
    config: Config | None
    from_cache: bool = False

    @property
    def exit_code(self) -> int:
        if self.result is None or self.config is None:
            return 0
        from reviewer.findings.model import exit_code_for

        return exit_code_for(self.result.findings, self.config.fail_on)


BackendFactory = Callable[[Config], "Backend"]
_PASS = HookOutcome(None, None)


def run_hook(cwd: Path, request: HookRequest, *, log: Callable[[str], None],
             environ: Mapping[str, str] | None = None, backend_factory: BackendFactory | None = None) -> HookOutcome:
    """Review what pre-commit asks about. An environment failure is raised as
    ``EnvironmentFailure`` (exit 3) unless ``fail_open``. ``backend_factory`` is the seam tests
    use to put a fake model behind the review; by default the configured backend."""
    started = time.monotonic()
    env = os.environ if environ is None else environ
    if skipped(env):
        log("localreview: skipped (SKIP names this hook)")
        return _PASS
    args = diff_args(env)
    top = _toplevel(cwd)
    if top is None:
        from reviewer.diff.revisions import open_repo, repo_root

        top = repo_root(open_repo(cwd))  # raises the error `localreview diff` would give
    elif not changes_lines(top, args):
        log("localreview: nothing to review")
        return _PASS
    config = load_config(top, request.flags(), env)
    # Each model request may not outlast the whole hook: a hung server is then cut off by its
    # own client, and the watchdog below only has to catch what no client timeout covers.
    config = dataclasses.replace(config, timeout=min(config.timeout, config.hook_timeout))
    try:
        return _review_or_recall(top, args, config, started + config.hook_timeout, log=log,
                                 backend_factory=backend_factory)
    except EnvironmentFailure as exc:
        if not config.fail_open:
            raise
        fix = f" (to review: {_one_line(exc.hint)})" if exc.hint else ""
        log(f"localreview: warning: no review, the hook passes because fail_open is set: {_one_line(exc.message)}"
            f"{fix}")
        return _analyzers_alone(top, args, config, log)


def _analyzers_alone(root: Path, args: Sequence[str], config: Config, log: Callable[[str], None]) -> HookOutcome:
    """With no model, the deterministic analyzers still review the change: their findings are
    exact, and they block by ``fail_on`` like any other (the hook's own environment has no model)."""
    if not config.analyzers or config.analyzers_only:
        return HookOutcome(None, config)
    from reviewer.api import ReviewRequest, open_session

    alone = dataclasses.replace(config, analyzers_only=True)
    try:
        result = open_session(ReviewRequest(diff_args=tuple(args), cwd=root, config=alone, log=log)).review()
    except EnvironmentFailure:
        return HookOutcome(None, config)
    log(f"localreview: the analyzers reviewed the change without a model: {len(result.findings)} finding(s)")
    return HookOutcome(result, config)


def _review_or_recall(root: Path, args: Sequence[str], config: Config, deadline: float, *,
                      log: Callable[[str], None], backend_factory: BackendFactory | None) -> HookOutcome:
    cache = ResultCache(root / CACHE_DIR)
    fingerprint = change_fingerprint(root, args)
    backend: Backend | None = None
    identity = static_backend_identity(config, os.environ) if backend_factory is None else None
    if fingerprint is not None:
        if identity is None:
            backend = _make_backend(config, log, backend_factory)
            if not backend.model:
                backend.check()  # a server's default model is known once it has been asked
            identity = backend_identity(backend)
        hit = cache.load(cache_key(fingerprint, config, identity, index_signature(root), root))
        if hit is not None:
            log(f"localreview: answered from the cache ({cache.folder.relative_to(root)}), no model call")
            return HookOutcome(hit, config, from_cache=True)

    from reviewer.api import ReviewRequest, open_session
    from reviewer.diff.parse import collect_diff
    from reviewer.diff.revisions import resolve_sides
    from reviewer.plan.classify import classify

    # A bad revision is bad input (exit 2), never "fail open": the session checks it first.
    session = open_session(ReviewRequest(diff_args=tuple(args), cwd=root, config=config, log=log,
                                         backend_factory=backend_factory), backend=backend)
    # Only minified, generated or oversized files: pass without loading a model.
    sides = resolve_sides(session.repo, session.spec)
    reviewable, skipped_files = classify(session.repo, session.spec, collect_diff(session.repo, session.spec),
                                         config, sides)
    if not reviewable:
        log(f"localreview: nothing to review ({len(skipped_files)} changed files skipped)")
        return HookOutcome(None, config)

    result = within(config.hook_timeout, deadline, session.review)
    if fingerprint is not None and identity is not None:
        try:
            cache.store(cache_key(fingerprint, config, identity, index_signature(root), root), result)
        except OSError as exc:
            log(f"localreview: could not store the result in {cache.folder}: {exc.strerror}")
    return HookOutcome(result, config)


def _make_backend(config: Config, log: Callable[[str], None], factory: BackendFactory | None) -> Backend:
    from reviewer.policy.guard import prepare_backend

    return prepare_backend(config, log=log, factory=factory)


def _one_line(text: str) -> str:
    return " ".join(text.split())
