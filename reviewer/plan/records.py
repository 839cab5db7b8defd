"""The plan's records: context items, batches, the plan itself, and their JSON (DESIGN.md's contract)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewer.plan.prompt import DiffPart
from reviewer.result import Skipped

if TYPE_CHECKING:
    from reviewer.analyzers.records import AnalyzerReport


@dataclass(frozen=True)
class ContextItem:
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str
    tokens: int
    text: str = field(repr=False)
    form: str = "full"  # "skeleton": signatures and the lines the change needs; "lead": inside the diff
    # A skeleton's lines really sent (1-based inclusive): start_line..end_line is the definition's
    # span, most of it elided, so a reader of the plan must not take the span as shown.
    shown: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                               "symbol": self.symbol, "reason": self.reason, "tokens": self.tokens}
        if self.form != "full":
            out["form"] = self.form
            out["shown"] = [list(r) for r in self.shown]
        return out


@dataclass(frozen=True)
class Batch:
    files: tuple[DiffPart, ...]
    context: tuple[ContextItem, ...]
    system: str
    user: str
    prompt_tokens: int
    leads: tuple[ContextItem, ...] = ()  # enclosing headers shown inside the diff (``reviewer.plan.leads``)

    @property
    def allowed(self) -> dict[str, frozenset[int]]:
        out: dict[str, frozenset[int]] = {}
        for f in self.files:
            out[f.path] = out.get(f.path, frozenset()) | f.added | f.anchors
        return out

    @property
    def hunk_spans(self) -> dict[str, list[tuple[int, int]]]:
        """Per file, the new-side spans (1-based inclusive, context lines included) of the hunks
        this batch reviews: a file the planner split is reviewed in parts by several batches."""
        out: dict[str, list[tuple[int, int]]] = {}
        for f in self.files:
            out.setdefault(f.path, []).extend(h.new_range for h in f.hunks)
        return out

    def to_json(self) -> dict[str, Any]:
        diff_lines = {p: [list(s) for s in spans] for p, spans in self.hunk_spans.items()}
        return {"files": sorted({f.path for f in self.files}), "prompt_tokens": self.prompt_tokens,
                "hunks": sum(len(f.hunks) for f in self.files), "diff_lines": diff_lines,
                "context": [c.to_json() for c in self.context], "leads": [c.to_json() for c in self.leads]}


@dataclass(frozen=True)
class Plan:
    backend: str
    model: str
    num_ctx: int
    output_reserve: int
    token_count: str  # how prompt tokens were counted: exact or estimated
    batches: tuple[Batch, ...]
    skipped: tuple[Skipped, ...]
    hunks_total: int
    # the diff's hunks with a part in some batch: a hunk too big for one prompt is split into
    # windows, and counts once
    hunks_planned: int
    notes: tuple[str, ...]
    new_text: Mapping[str, str] = field(default_factory=dict, repr=False)
    analysis: AnalyzerReport | None = field(default=None, repr=False)  # the analyzer stage's report
    # Why a batch left room unused: the plan's to show (dry run, JSON "notes"), not a warning
    # for every review or commit, where nothing is wrong.
    room_notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "num_ctx": self.num_ctx,
            "batches": [b.to_json() for b in self.batches],
            "skipped": [{"path": s.path, "why": s.why} for s in self.skipped],
            "coverage": {"files": len({f.path for b in self.batches for f in b.files}),
                         "hunks_total": self.hunks_total, "hunks_planned": self.hunks_planned},
            "output_reserve": self.output_reserve,
            "token_count": self.token_count,
            "notes": [*self.notes, *self.room_notes],
            **({"analyzers": {"hits": [h.to_json() for h in self.analysis.hints],
                              "available": dict(self.analysis.available),
                              "seconds": round(self.analysis.timings.get("total", 0.0), 3)}}
               if self.analysis is not None else {}),
        }
