"""One review: plan → model, batch by batch → validated findings → a ReviewResult.

The model's answer is untrusted: it is parsed leniently, retried once when unusable, and
otherwise reported as a warning — never a crash, never an invented finding. A prompt the
server truncated is re-planned with a more conservative token estimate, never accepted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git

from reviewer.backends.base import Backend, ChatRequest, ChatResponse
from reviewer.config import Config
from reviewer.diff.records import DiffSpec, text_lines
from reviewer.errors import LocalReviewError, PromptTruncated
from reviewer.findings.dedupe import dedupe_and_sort
from reviewer.findings.model import FINDINGS_SCHEMA, Finding
from reviewer.findings.parse import parse_answer
from reviewer.findings.validate import validate
from reviewer.plan.planner import Planner
from reviewer.plan.records import Batch, Plan
from reviewer.plan.tokens import EstimateCounter, GGUFCounter, TokenCounter
from reviewer.result import Coverage, ReviewResult, Stats

MAX_REPLANS = 2
SNIPPET_RADIUS = 2


@dataclass
class _Tally:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    batches: int = 0


def counter_for(backend: Backend) -> TokenCounter:
    """Exact counts with the embedded model's tokenizer; a conservative estimate elsewhere."""
    if backend.name == "embedded":
        from reviewer.backends.embedded import EmbeddedBackend

        if isinstance(backend, EmbeddedBackend):
            return GGUFCounter(Path(str(backend.model_path)))
    return EstimateCounter()


def build_plan(repo: git.Repo, root: Path, spec: DiffSpec, config: Config, backend: Backend,
               counter: TokenCounter, *, update_index: bool = True, cwd: Path | None = None) -> Plan:
    num_ctx = config.num_ctx
    try:
        # An embedded model's context comes from its GGUF header: a dry run loads no weights.
        limit = counter.context_length() if isinstance(counter, GGUFCounter) else backend.context_length()
    except LocalReviewError:
        limit = None  # a dry run needs no server; the review itself checks the server first
    if limit and num_ctx > limit:
        # Never ask a server for more than the model holds: it would truncate silently.
        from dataclasses import replace

        config = replace(config, num_ctx=limit)
    return Planner(repo, root, spec, config, counter, backend=backend.name, model=backend.model,
                   update_index=update_index, cwd=cwd).build()


def review(repo: git.Repo, root: Path, spec: DiffSpec, config: Config, backend: Backend,
           *, log: Callable[[str], None] = lambda _m: None, cwd: Path | None = None) -> tuple[Plan, ReviewResult]:
    started = time.perf_counter()
    counter = counter_for(backend)
    warnings: list[str] = []
    for attempt in range(MAX_REPLANS + 1):
        plan = build_plan(repo, root, spec, config, backend, counter, cwd=cwd)
        if plan.batches and attempt == 0:
            backend.check()  # only now: an empty or all-skipped change needs no model at all
        tally = _Tally()
        findings: list[Finding] = []
        dropped: Counter[str] = Counter()
        try:
            for i, batch in enumerate(plan.batches, 1):
                log(f"localreview: batch {i}/{len(plan.batches)}: {batch.prompt_tokens} prompt tokens")
                got, why = _review_batch(backend, plan, batch, tally, warnings)
                findings.extend(got)
                dropped.update(why)
            break
        except PromptTruncated as exc:
            if attempt == MAX_REPLANS or not isinstance(counter, EstimateCounter):
                raise
            # The server saw fewer tokens than we sent: our estimate ran low for this model.
            tighter = EstimateCounter(counter.chars_per_token * 0.75)
            warnings.append(f"the server truncated a prompt ({exc.message}); re-planned with {tighter.name}")
            counter = tighter
    result = ReviewResult(
        findings=tuple(dedupe_and_sort(findings)),
        stats=Stats(tally.batches, tally.prompt_tokens, tally.completion_tokens,
                    round(time.perf_counter() - started, 3), dict(dropped),
                    tuple([*plan.notes, *warnings, *backend_warnings(backend)])),
        coverage=Coverage(tuple(sorted({f.path for b in plan.batches for f in b.files})),
                          plan.hunks_planned, plan.hunks_total, plan.skipped),
        backend=backend.name,
        model=backend.model,
        smoke_test_model=backend.smoke_test_model,
        code=_snippets(plan, findings),
    )
    return plan, result


def _review_batch(backend: Backend, plan: Plan, batch: Batch, tally: _Tally, warnings: list[str]
                  ) -> tuple[list[Finding], Counter[str]]:
    request = ChatRequest(batch.system, batch.user, FINDINGS_SCHEMA, plan.num_ctx, plan.output_reserve,
                          expected_prompt_tokens=batch.prompt_tokens)
    tally.batches += 1
    error: str | None = None
    for _ in range(2):  # a malformed answer gets one more chance
        response: ChatResponse = backend.chat(request)
        tally.prompt_tokens += response.prompt_tokens
        tally.completion_tokens += response.completion_tokens
        raw, error = parse_answer(response.text)
        if error is None:
            return validate(raw, batch.allowed)
    files = ", ".join(sorted(batch.allowed))
    warnings.append(f"the model's answer for {files} was not usable twice ({error}); no findings from it")
    return [], Counter()


def _snippets(plan: Plan, findings: list[Finding]) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for f in findings:
        text = plan.new_text.get(f.path)
        if text is None:
            continue
        lines = text_lines(text)
        for n in range(max(1, f.line - SNIPPET_RADIUS), min(len(lines), f.end_line + SNIPPET_RADIUS) + 1):
            out.setdefault(f.path, {})[n] = lines[n - 1]
    return out


def backend_warnings(backend: Backend) -> list[str]:
    """What the backend noticed on the way (a clamped num_ctx, a fallback from schema-constrained
    output): it belongs in the report. Backends may keep a ``warnings`` list; wrappers forward it."""
    seen = getattr(backend, "warnings", None)
    if seen is None and hasattr(backend, "inner"):
        seen = getattr(backend.inner, "warnings", None)
    return list(dict.fromkeys(seen or ()))
