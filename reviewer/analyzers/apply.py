"""The analyzer stage in the review: run it on what the plan reviews, give each batch's prompt
its hints, and merge the analyzers' findings with the model's.

Between the plan and the model: the plan says which files and hunks each batch reviews, the
stage reads exactly those (new side, added lines, removal points), and each batch is re-rendered
with the hints for its own hunks. Context is given up, least important first, when the hints
would push a prompt past the window; hints are cut only when no context is left to give up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from index.languages import language_for
from reviewer.analyzers.inventory import options_from_config
from reviewer.analyzers.lines import input_from_hunks
from reviewer.analyzers.records import AnalyzerReport, Hint
from reviewer.analyzers.stage import run_analyzers
from reviewer.config import Config
from reviewer.diff.records import Hunk
from reviewer.findings.model import SEVERITY_ORDER, Finding
from reviewer.plan.prompt import ContextText, HintText, compact_prompt, render
from reviewer.plan.records import Batch, Plan
from reviewer.plan.tokens import TokenCounter

MAX_HINTS_PER_BATCH = 30  # a file full of hits is one message, not a wall that crowds out the code


def analyze_plan(plan: Plan, config: Config, root: Path | None, counter: TokenCounter) -> Plan:
    """The plan with the stage's report attached and its batches' prompts carrying the hints."""
    if not config.analyzers or not plan.batches:
        return plan
    hunks: dict[str, list[Hunk]] = {}
    for batch in plan.batches:
        for part in batch.files:
            hunks.setdefault(part.path, []).extend(part.hunks)
    inputs = [input_from_hunks(path, language_for(path, plan.new_text.get(path)), plan.new_text.get(path, ""),
                               parts)
              for path, parts in hunks.items() if path in plan.new_text]
    report = run_analyzers(inputs, options_from_config(config, root))
    limit = plan.num_ctx - plan.output_reserve
    compact = compact_prompt(plan.num_ctx)  # as the planner rendered them
    per_batch = _hints_by_batch(plan.batches, report.hints)
    batches = tuple(_with_hints(b, mine, counter, limit, compact) for b, mine in zip(plan.batches, per_batch,
                                                                                   strict=True))
    return dataclasses.replace(plan, batches=batches, analysis=report)


def _hints_by_batch(batches: Sequence[Batch], hints: Sequence[Hint]) -> list[list[Hint]]:
    """Each hint goes to the batches whose hunks hold its line. A big file is reviewed in several
    batches, and every hint of the file in every batch (nine 50-token hints of a 16-batch file)
    crowded out all the context of a 2k window and still pushed the prompt past it. A hint on no
    hunk's lines goes to the first batch of its file, so none is lost."""
    lines = [_lines_of(b) for b in batches]
    out: list[list[Hint]] = [[] for _ in batches]
    for h in hints:
        where = [i for i, held in enumerate(lines) if any(h.line in r for r in held.get(h.path, ()))]
        if not where:
            where = [i for i, held in enumerate(lines) if h.path in held][:1]
        for i in where:
            out[i].append(h)
    return out


def _lines_of(batch: Batch) -> dict[str, list[range | frozenset[int]]]:
    """Per file of the batch, the new-side lines its hunks show and its added and anchor lines."""
    out: dict[str, list[range | frozenset[int]]] = {
        path: [range(s, e + 1) for s, e in spans] for path, spans in batch.hunk_spans.items()}
    for path, held in batch.allowed.items():
        out.setdefault(path, []).append(held)
    return out


def _with_hints(batch: Batch, hints: Sequence[Hint], counter: TokenCounter, limit: int, compact: bool) -> Batch:
    mine = sorted(hints, key=lambda h: (h.path, h.line, h.rule_id))
    if not mine:
        return batch
    shown = [HintText(h.path, h.line, h.rule_id, h.cwe, h.message) for h in mine[:MAX_HINTS_PER_BATCH]]
    chosen = list(batch.context)
    while shown:
        context = [ContextText(c.path, c.start_line, c.end_line, c.symbol, c.reason, c.text) for c in chosen]
        system, user = render(batch.files, context, shown, compact=compact)
        tokens = counter.count_chat(system, user)
        if tokens <= limit:
            return dataclasses.replace(batch, context=tuple(chosen), system=system, user=user, prompt_tokens=tokens)
        if chosen:
            chosen = chosen[:-1]  # context first: a hint points at the changed code itself
        else:
            shown = shown[:-1]  # a prompt past the window would be cut by the server, unseen
    return batch  # not one hint fits beside the diff: the batch as planned, its context kept


def merge_findings(model: Iterable[Finding], report: AnalyzerReport | None) -> list[Finding]:
    """One finding per line and CWE across the model and the analyzers, keeping the stronger
    evidence: an analyzer's hit is exact, so it stays, at the higher of the two severities, with
    the model's explanation and suggestion added when the model saw the same problem."""
    analyzer = [dataclasses.replace(f, rule=report.rule_of.get(f)) for f in report.findings] if report else []
    keyed = {(f.path, f.line, f.cwe): i for i, f in enumerate(analyzer) if f.cwe}
    out: list[Finding] = []
    for f in model:
        i = keyed.get((f.path, f.line, f.cwe)) if f.cwe else None
        if i is None:
            out.append(f)
            continue
        hit = analyzer[i]
        severity = max(hit.severity, f.severity, key=lambda s: SEVERITY_ORDER[s])
        message = f"{hit.message}\n\nThe model agrees: {f.message}" if f.message else hit.message
        analyzer[i] = dataclasses.replace(hit, severity=severity, message=message,
                                          suggestion=hit.suggestion or f.suggestion)
    return [*analyzer, *out]


def rule_docs(report: AnalyzerReport | None) -> dict[str, dict[str, object]]:
    """The rules behind the report's findings, for SARIF."""
    if report is None:
        return {}
    used = set(report.rule_of.values())
    return {rid: info.to_json() for rid, info in report.rules.items() if rid in used}
