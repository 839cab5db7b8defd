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
    plan = Planner(repo, root, spec, config, counter, backend=backend.name, model=backend.model,
                   update_index=update_index, cwd=cwd).build()
    if not config.analyzers:
        return plan
    from reviewer.analyzers.apply import analyze_plan

    return analyze_plan(plan, config, root, counter)


def review(repo: git.Repo, root: Path, spec: DiffSpec, config: Config, backend: Backend,
           *, log: Callable[[str], None] = lambda _m: None, cwd: Path | None = None) -> tuple[Plan, ReviewResult]:
    started = time.perf_counter()
    counter = counter_for(backend)
    from reviewer.verify import wanted

    verify = wanted(config, backend)
    warnings: list[str] = []
    for attempt in range(MAX_REPLANS + 1):
        plan = build_plan(repo, root, spec, config, backend, counter, cwd=cwd)
        model_batches = () if config.analyzers_only else plan.batches
        if model_batches and attempt == 0:
            backend.check()  # only now: an empty or all-skipped change needs no model at all
        tally = _Tally()
        findings: list[Finding] = []
        dropped: Counter[str] = Counter()
        try:
            for i, batch in enumerate(model_batches, 1):
                log(f"localreview: batch {i}/{len(plan.batches)}: {batch.prompt_tokens} prompt tokens")
                got, why = _review_batch(backend, plan, batch, tally, warnings, verify=verify, counter=counter)
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
    findings = _on_the_change(_merged(findings, plan), plan, dropped)
    analysis = plan.analysis
    result = ReviewResult(
        findings=tuple(dedupe_and_sort(findings)),
        stats=Stats(tally.batches, tally.prompt_tokens, tally.completion_tokens,
                    round(time.perf_counter() - started, 3), dict(dropped),
                    tuple([*plan.notes, *warnings, *backend_warnings(backend),
                           *(analysis.warnings if analysis is not None else ())])),
        coverage=Coverage(tuple(sorted({f.path for b in plan.batches for f in b.files})),
                          plan.hunks_planned, plan.hunks_total, plan.skipped),
        backend=backend.name,
        model=backend.model,
        smoke_test_model=backend.smoke_test_model,
        code=_snippets(plan, findings),
        rules=_rule_docs(plan),
    )
    return plan, result


def _merged(findings: list[Finding], plan: Plan) -> list[Finding]:
    if plan.analysis is None:
        return findings
    from reviewer.analyzers.apply import merge_findings

    return merge_findings(findings, plan.analysis)


def _rule_docs(plan: Plan) -> dict[str, dict[str, object]]:
    if plan.analysis is None:
        return {}
    from reviewer.analyzers.apply import rule_docs

    return rule_docs(plan.analysis)


def _on_the_change(findings: list[Finding], plan: Plan, dropped: Counter[str]) -> list[Finding]:
    """The last gate, for every source: a finding stands on a line the diff adds or changes, or
    at a removal point, of a file this review covers. The model's answers were checked already;
    this holds the analyzers (and anything added later) to the same rule."""
    allowed: dict[str, frozenset[int]] = {}
    for batch in plan.batches:
        for path, lines in batch.allowed.items():
            allowed[path] = allowed.get(path, frozenset()) | lines
    kept = [f for f in findings if f.line in allowed.get(f.path, frozenset())
            and f.end_line in allowed.get(f.path, frozenset())]
    if len(kept) < len(findings):
        dropped["off_change"] += len(findings) - len(kept)
    return kept


def _review_batch(backend: Backend, plan: Plan, batch: Batch, tally: _Tally, warnings: list[str], *,
                  verify: bool = False, counter: TokenCounter | None = None) -> tuple[list[Finding], Counter[str]]:
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
            found, why = validate(raw, batch.allowed)
            if verify and found:
                found = _verified(backend, plan, batch, found, counter, tally, why, warnings)
            return found, why
    files = ", ".join(sorted(batch.allowed))
    warnings.append(f"the model's answer for {files} was not usable twice ({error}); no findings from it")
    return [], Counter()


def _verified(backend: Backend, plan: Plan, batch: Batch, found: list[Finding], counter: TokenCounter | None,
              tally: _Tally, why: Counter[str], warnings: list[str]) -> list[Finding]:
    from reviewer.verify import verify_batch

    checked = verify_batch(backend, plan, batch, found, counter or EstimateCounter())
    tally.prompt_tokens += checked.prompt_tokens
    tally.completion_tokens += checked.completion_tokens
    if checked.dropped:
        why["verification"] += checked.dropped  # the report counts what the second look dropped
    if checked.warning:
        warnings.append(checked.warning)
    return checked.findings


def _snippets(plan: Plan, findings: list[Finding]) -> dict[str, dict[int, str]]:
    """The lines findings point at, and a couple around them, for the reports; secrets in them
    are masked (a report is shared, pasted, uploaded: it never shows a whole secret)."""
    from reviewer.policy.redact import redact

    out: dict[str, dict[int, str]] = {}
    masked: dict[str, list[str]] = {}
    for f in findings:
        text = plan.new_text.get(f.path)
        if text is None:
            continue
        if f.path not in masked:
            masked[f.path] = text_lines(redact(text)[0])  # redact keeps every line break in place
        lines = masked[f.path]
        for n in range(max(1, f.line - SNIPPET_RADIUS), min(len(lines), f.end_line + SNIPPET_RADIUS) + 1):
            out.setdefault(f.path, {})[n] = _mask_found(lines[n - 1], plan, f.path, n)
    return out


def _mask_found(line: str, plan: Plan, path: str, n: int) -> str:
    """The secret scanner's own finds on a line, masked as its findings name them."""
    found = plan.analysis.secrets.get((path, n), []) if plan.analysis is not None else []
    for value in sorted(found, key=len, reverse=True):
        if len(value) >= 4:
            line = line.replace(value, f"{value[:3] if len(value) >= 16 else ''}…[REDACTED]")
    return line


def backend_warnings(backend: Backend) -> list[str]:
    """What the backend noticed on the way (a clamped num_ctx, a fallback from schema-constrained
    output): it belongs in the report. Backends may keep a ``warnings`` list; wrappers forward it."""
    seen = getattr(backend, "warnings", None)
    if seen is None and hasattr(backend, "inner"):
        seen = getattr(backend.inner, "warnings", None)
    return list(dict.fromkeys(seen or ()))
