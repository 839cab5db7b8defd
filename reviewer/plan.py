"""The review plan: which parts of the diff go into which batch, with what context, at what
token cost. ``--dry-run`` prints it; the review sends it. Building it loads no language model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from index.indexer import Indexer, index_dir, make_embedder, open_store
from index.model import Definition, FileAnalysis
from index.shared import open_view, reader_store
from index.state import State
from index.symbols import parse_symbols
from index.walk import walk, why_skip_content
from reviewer.config import Config
from reviewer.context import (
    Candidate,
    ChangedFile,
    MemorySymbols,
    SymbolSource,
    candidates_for,
    overlaps,
    rank,
)
from reviewer.diff import (
    DiffLine,
    DiffSpec,
    FileDiff,
    Hunk,
    collect_diff,
    new_side_text,
    resolve_sides,
    text_lines,
)
from reviewer.errors import BadInput, IndexBusy, LocalReviewError
from reviewer.prompt import ContextText, DiffPart, number_lines, render, render_hunks
from reviewer.result import Skipped
from reviewer.tokens import TokenCounter

DIFF_SHARE = 0.6  # of the window left after the template: the rest is for context
MAX_ITEM_SHARE = 0.35  # no single context item may take more of the window than this
MARKER_TOKENS = 40  # the data markers around one block, counted generously
SIMILAR_PER_CHUNK = 3


@dataclass(frozen=True)
class ContextItem:
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str
    tokens: int
    text: str = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "symbol": self.symbol, "reason": self.reason, "tokens": self.tokens}


@dataclass(frozen=True)
class Batch:
    files: tuple[DiffPart, ...]
    context: tuple[ContextItem, ...]
    system: str
    user: str
    prompt_tokens: int

    @property
    def allowed(self) -> dict[str, frozenset[int]]:
        out: dict[str, frozenset[int]] = {}
        for f in self.files:
            out[f.path] = out.get(f.path, frozenset()) | f.added
        return out

    def to_json(self) -> dict[str, Any]:
        return {"files": sorted({f.path for f in self.files}), "prompt_tokens": self.prompt_tokens,
                "hunks": sum(len(f.hunks) for f in self.files),
                "context": [c.to_json() for c in self.context]}


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
    notes: tuple[str, ...]
    new_text: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def hunks_planned(self) -> int:
        return sum(len(f.hunks) for b in self.batches for f in b.files)

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
            "notes": list(self.notes),
        }


# --- which files ------------------------------------------------------------------------------

def classify(repo: git.Repo, spec: DiffSpec, files: Sequence[FileDiff], config: Config,
             sides: tuple[str, str | None]) -> tuple[list[tuple[FileDiff, str]], list[Skipped]]:
    """(reviewable files with their new-side text, skipped files with why)."""
    keep: list[tuple[FileDiff, str]] = []
    skipped: list[Skipped] = []
    for f in files:
        why: str | None = None
        text: str | None = None
        if f.is_binary or f.status == "binary":
            why = "binary"
        elif f.status == "deleted":
            why = "deleted: nothing left to review on the new side"
        elif f.is_submodule:
            why = "submodule"
        elif f.is_symlink:
            why = "symlink"
        elif f.status == "mode" or not f.hunks:
            why = "mode change only" if f.status == "mode" else "no content change"
        elif not f.added_lines:
            why = "only removes lines"
        else:
            text = new_side_text(repo, spec, f.path, sides=sides)
            if text is None:
                why = "binary"
            else:
                why = why_skip_content(f.path, text.encode("utf-8", "surrogatepass"),
                                       config.max_file_bytes, config.max_line_length)
        if why is not None or text is None:
            skipped.append(Skipped(f.path, why or "unreadable"))
        else:
            keep.append((f, text))
    return keep, skipped


# --- splitting the diff into parts that fit -----------------------------------------------------

def _sub_hunk(h: Hunk, lines: Sequence[DiffLine]) -> Hunk:
    olds = [ln.old_lineno for ln in lines if ln.old_lineno is not None]
    news = [ln.new_lineno for ln in lines if ln.new_lineno is not None]
    return Hunk(
        old_start=olds[0] if olds else h.old_start, old_len=len(olds),
        new_start=news[0] if news else h.new_start, new_len=len(news),
        header=h.header, lines=tuple(lines),
    )


def _split_hunk(h: Hunk, cap: int, count: Callable[[str], int]) -> list[Hunk]:
    """A hunk too big for one prompt becomes consecutive windows of its lines."""
    out: list[Hunk] = []
    current: list[DiffLine] = []
    size = 0
    for ln in h.lines:
        cost = count(f"{ln.new_lineno or '':>6} {ln.kind} {ln.text}\n")
        if current and size + cost > cap:
            out.append(_sub_hunk(h, current))
            current, size = [], 0
        current.append(ln)
        size += cost
    if current:
        out.append(_sub_hunk(h, current))
    return [p for p in out if p.added_lines] or out[:1]


def split_parts(f: FileDiff, cap: int, count: Callable[[str], int]) -> list[DiffPart]:
    """The file whole when it fits; else groups of hunks; a hunk too big, in windows."""
    whole = DiffPart(f.path, f.old_path, f.status, f.hunks)
    if count(whole.text) + MARKER_TOKENS <= cap:
        return [whole]
    hunks: list[Hunk] = []
    for h in f.hunks:
        if count(render_hunks([h])) + MARKER_TOKENS <= cap:
            hunks.append(h)
        else:
            hunks.extend(_split_hunk(h, cap - MARKER_TOKENS, count))
    parts: list[DiffPart] = []
    group: list[Hunk] = []
    for h in hunks:
        trial = [*group, h]
        if group and count(render_hunks(trial)) + MARKER_TOKENS > cap:
            parts.append(DiffPart(f.path, f.old_path, f.status, tuple(group)))
            group = [h]
        else:
            group = trial
    if group:
        parts.append(DiffPart(f.path, f.old_path, f.status, tuple(group)))
    return [p for p in parts if p.added]


def group_batches(parts: Sequence[DiffPart], cap: int, count: Callable[[str], int]) -> list[list[DiffPart]]:
    batches: list[list[DiffPart]] = []
    current: list[DiffPart] = []
    size = 0
    for p in parts:
        cost = count(p.text) + MARKER_TOKENS
        if current and size + cost > cap:
            batches.append(current)
            current, size = [], 0
        current.append(p)
        size += cost
    if current:
        batches.append(current)
    return batches


# --- the planner ---------------------------------------------------------------------------------

class Planner:
    def __init__(self, repo: git.Repo, root: Path, spec: DiffSpec, config: Config, counter: TokenCounter,
                 *, backend: str, model: str, update_index: bool = True, cwd: Path | None = None) -> None:
        self.repo, self.root, self.spec, self.config = repo, root, spec, config
        self.cwd = cwd  # pathspecs after -- are relative to where the user stands, as in git
        self.counter = counter
        self.backend, self.model = backend, model
        self.update_index = update_index
        self.notes: list[str] = []
        self._text: dict[str, str | None] = {}
        self.sides = resolve_sides(repo, spec)
        self._symbols: dict[str, FileAnalysis] = {}

    # current content -----------------------------------------------------------------------
    def text_of(self, path: str) -> str | None:
        if path not in self._text:
            try:
                self._text[path] = new_side_text(self.repo, self.spec, path, sides=self.sides)
            except LocalReviewError:
                self._text[path] = None
        return self._text[path]

    def symbols_of(self, path: str) -> FileAnalysis | None:
        if path not in self._symbols:
            text = self.text_of(path)
            if text is None:
                return None
            self._symbols[path] = parse_symbols(path, text)
        return self._symbols[path]

    def enclosing_of(self, path: str, line: int) -> Definition | None:
        a = self.symbols_of(path)
        return None if a is None else a.enclosing(line)

    # the plan ------------------------------------------------------------------------------
    def build(self) -> Plan:
        files = collect_diff(self.repo, self.spec, cwd=self.cwd)
        reviewable, skipped = classify(self.repo, self.spec, files, self.config, self.sides)
        for f, text in reviewable:
            self._text[f.path] = text
        hunks_total = sum(len(f.hunks) for f, _ in reviewable)
        state, store = self._open_index([f.path for f, _ in reviewable])
        try:
            symbols: SymbolSource = state if state is not None else self._memory_symbols()
            base = self.counter.count_chat(*render([], []))
            available = self.config.num_ctx - self.config.answer_reserve - base
            if available < 256:
                raise BadInput(
                    f"num_ctx {self.config.num_ctx} leaves {available} tokens for the diff after the"
                    f" {self.config.answer_reserve}-token answer reserve and the {base}-token prompt template",
                    hint="raise --num-ctx (8192 or more) or lower output_reserve",
                )
            cap = int(available * DIFF_SHARE)
            parts = [p for f, _ in reviewable for p in split_parts(f, cap, self.counter.count)]
            batches = [self._batch(group, symbols, state, store, available)
                       for group in group_batches(parts, cap, self.counter.count)]
        finally:
            if state is not None:
                state.close()
        return Plan(self.backend, self.model, self.config.num_ctx, self.config.answer_reserve,
                    self.counter.name, tuple(batches), tuple(skipped), hunks_total, tuple(self.notes),
                    {f.path: t for f, t in reviewable})

    def _open_index(self, paths: Sequence[str]) -> tuple[State | None, Any]:
        d = index_dir(self.root)
        shared, fresh = bool(self.config.store_url), not (d / "state.sqlite").exists()
        if fresh and not shared:
            self.notes.append("no index yet: similarity search skipped, symbols parsed from the files"
                              " (run `localreview index` once for better context)")
            return None, None
        if self.update_index and (paths or fresh):
            try:  # a fresh clone of a shared index fetches its view: records, not embeddings
                Indexer(self.root, self.config, lock_timeout=0).run(only=None if fresh else paths)
            except IndexBusy:
                self.notes.append("another localreview run is indexing: planned with the index as it is")
        if not (d / "state.sqlite").exists():
            self.notes.append("the shared index is busy or was not read: similarity search skipped")
            return None, None
        state = open_view(self.root, d, shared)
        try:
            store = reader_store(open_store(self.root, self.config, make_embedder(self.config).model_id), state)
        except LocalReviewError as exc:
            self.notes.append(f"similarity search skipped: {exc.message}")
            store = None
        return state, store

    def _memory_symbols(self) -> MemorySymbols:
        result = walk(self.root, excludes=self.config.exclude, max_bytes=self.config.max_file_bytes,
                      max_line_length=self.config.max_line_length)
        analyses: dict[str, FileAnalysis] = {}
        for f in result.files:
            if f.path not in self._text:
                self._text[f.path] = f.text
            a = self.symbols_of(f.path)
            if a is not None:
                analyses[f.path] = a
        return MemorySymbols(analyses)

    def _similar(self, changed: ChangedFile, state: State, store: Any, exclude: Sequence[str]) -> list[Candidate]:
        from index.chunk import analyze_file

        embedder = make_embedder(self.config)
        text = self.text_of(changed.path) or ""
        limit = min(self.config.chunk_tokens, embedder.max_tokens)
        chunks = [c for c in analyze_file(changed.path, text, embedder.count_tokens, limit).chunks
                  if any(c.start_line <= n <= c.end_line for n in changed.added)]
        if not chunks:
            return []
        vectors = state.cached_vectors(embedder.model_id, [c.content_hash for c in chunks])
        missing = [c for c in chunks if c.content_hash not in vectors]
        if missing:
            got = embedder.embed([c.embed_text for c in missing])
            vectors.update({c.content_hash: v for c, v in zip(missing, got, strict=True)})
        out: list[Candidate] = []
        for c in chunks[:8]:
            hits = store.query(vectors[c.content_hash], SIMILAR_PER_CHUNK, exclude_paths=list(exclude))
            rows = state.chunks_by_ids([h.id for h in hits])
            for h in hits:
                row = rows.get(h.id)
                if row is None:  # an orphan vector of an interrupted run: never served
                    continue
                similarity = max(0.0, 1.0 - h.distance)
                if similarity < 0.3:
                    continue
                qname = row.symbol if row.kind not in ("module", "lines", "text") else None
                out.append(Candidate(row.path, "similar", 20.0 * similarity, qname, row.start_line,
                                     row.end_line, (row.start_line, row.end_line)))
        return out

    def _batch(self, parts: Sequence[DiffPart], symbols: SymbolSource, state: State | None, store: Any,
               available: int) -> Batch:
        cands: list[Candidate] = []
        spans: dict[str, list[tuple[int, int]]] = {}
        for p in parts:
            analysis = self.symbols_of(p.path) or FileAnalysis(p.path, "text", (), (), ())
            changed = ChangedFile(p.path, analysis, p.added, tuple(h.new_range for h in p.hunks))
            spans.setdefault(p.path, []).extend(changed.spans)
            imports_text = "\n".join(
                "\n".join(text_lines(self.text_of(p.path) or "")[s - 1:e]) for s, e in analysis.import_ranges)
            cands += candidates_for(changed, symbols, imports_text, self.enclosing_of)
            if state is not None and store is not None:
                cands += self._similar(changed, state, store, sorted({q.path for q in parts}))
        diff_tokens = sum(self.counter.count(p.text) + MARKER_TOKENS for p in parts)
        room = available - diff_tokens
        max_item = int(self.config.num_ctx * MAX_ITEM_SHARE)
        chosen: list[ContextItem] = []
        used = 0
        taken: dict[str, list[tuple[int, int]]] = {}
        for c in rank(cands):
            if room - used < MARKER_TOKENS + 16:
                break
            item = self._materialize(c, min(max_item, room - used - MARKER_TOKENS))
            if item is None:
                continue
            rng = (item.start_line, item.end_line)
            if overlaps(rng, taken.get(item.path, [])):
                continue
            if c.reason != "enclosing" and _covered(rng, spans.get(item.path, [])):
                continue  # the diff itself already shows these lines
            cost = item.tokens + MARKER_TOKENS
            if used + cost > room:
                continue
            chosen.append(item)
            taken.setdefault(item.path, []).append(rng)
            used += cost
        return self._fit(parts, chosen)

    def _fit(self, parts: Sequence[DiffPart], chosen: list[ContextItem]) -> Batch:
        """Render and count exactly; drop the least important context until the whole prompt fits."""
        limit = self.config.num_ctx - self.config.answer_reserve
        while True:
            context = [ContextText(c.path, c.start_line, c.end_line, c.symbol, c.reason, c.text) for c in chosen]
            system, user = render(parts, context)
            tokens = self.counter.count_chat(system, user)
            if tokens <= limit or not chosen:
                return Batch(tuple(parts), tuple(chosen), system, user, tokens)
            chosen = chosen[:-1]

    def _materialize(self, c: Candidate, max_tokens: int) -> ContextItem | None:
        """The candidate's text from the file's current content, trimmed around its focus."""
        if max_tokens <= 0:
            return None
        text = self.text_of(c.path)
        if text is None:
            return None
        lines = text_lines(text)
        start, end, symbol = c.start_line, c.end_line, c.qualified_name or c.path
        if c.qualified_name is not None:
            a = self.symbols_of(c.path)
            found = [d for d in (a.definitions if a else ()) if d.qualified_name == c.qualified_name]
            if not found:
                return None  # the index is stale and the definition is gone
            d = min(found, key=lambda d: abs(d.start_line - c.start_line))
            start, end = d.start_line, d.end_line
        if c.qualified_name is None and c.reason == "imports":
            symbol = f"{c.path} imports"
        start, end = max(1, start), min(end, len(lines))
        if start > end:
            return None
        start, end = self._trim(lines, start, end, c.focus, max_tokens)
        if start > end:
            return None
        body = number_lines(lines[start - 1:end], start)
        tokens = self.counter.count(body)
        if tokens > max_tokens:
            return None
        return ContextItem(c.path, start, end, symbol, c.reason, tokens, body)

    def _trim(self, lines: Sequence[str], start: int, end: int, focus: tuple[int, int] | None,
              max_tokens: int) -> tuple[int, int]:
        """Grow a window outward from the focus (or down from the start) while it fits.

        Lines are costed one by one (counting a whole window per step would be quadratic), then
        the window is counted exactly and shrunk from the far side until it truly fits."""
        def exact(s: int, e: int) -> int:
            return self.counter.count(number_lines(lines[s - 1:e], s))

        if exact(start, end) <= max_tokens:
            return start, end
        cost = {n: self.counter.count(number_lines([lines[n - 1]], n)) + 1 for n in range(start, end + 1)}
        lo, hi = focus if focus else (start, start)
        lo, hi = max(lo, start), min(max(hi, lo), end)
        lo = min(lo, end)
        hi = max(hi, lo)
        total = sum(cost[n] for n in range(lo, hi + 1))
        while total > max_tokens and hi > lo:
            total -= cost[hi]
            hi -= 1
        grown = True
        while grown:
            grown = False
            if lo > start and total + cost[lo - 1] <= max_tokens:
                lo -= 1
                total += cost[lo]
                grown = True
            if hi < end and total + cost[hi + 1] <= max_tokens:
                hi += 1
                total += cost[hi]
                grown = True
        while hi >= lo and exact(lo, hi) > max_tokens:
            hi -= 1
        return lo, hi


def _covered(rng: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(s[0] <= rng[0] and rng[1] <= s[1] for s in spans)
