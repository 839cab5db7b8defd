"""The review plan: which parts of the diff go into which batch, with what context, at what
token cost. ``--dry-run`` prints it; the review sends it. Building it loads no language model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git

from index.model import Definition, FileAnalysis
from index.paths import index_dir
from index.resolve import Resolver, handles
from index.symbols import parse_symbols
from index.walk import walk
from reviewer.config import Config
from reviewer.diff.blobs import new_side_text
from reviewer.diff.parse import collect_diff
from reviewer.diff.records import DiffSpec, text_lines
from reviewer.diff.revisions import resolve_sides
from reviewer.errors import BadInput, EnvironmentFailure, IndexBusy, LocalReviewError
from reviewer.plan.candidate import REASON_WEIGHT, Candidate, ChangedFile
from reviewer.plan.candidates import MemorySymbols, SymbolSource, candidates_for, rank
from reviewer.plan.classify import classify
from reviewer.plan.leads import lead_items, lead_spans, with_leads
from reviewer.plan.packing import Materializer, Piece, pack, shorten, unused_note
from reviewer.plan.prompt import ContextText, DiffPart, compact_prompt, number_lines, render
from reviewer.plan.records import Batch, ContextItem, Plan
from reviewer.plan.review_order import order_for_review
from reviewer.plan.setup import for_part, make_resolver
from reviewer.plan.split import MARKER_TOKENS, group_batches, planned_hunks, split_parts
from reviewer.plan.tokens import TokenCounter

if TYPE_CHECKING:
    from index.state import State

DIFF_SHARE = 0.6  # of the window left after the template: the rest is for context
SIMILAR_PER_CHUNK = 3
SLACK_SHARE = 0.01


class Planner:
    def __init__(self, repo: git.Repo, root: Path, spec: DiffSpec, config: Config, counter: TokenCounter,
                 *, backend: str, model: str, update_index: bool = True, cwd: Path | None = None) -> None:
        self.repo, self.root, self.spec, self.config = repo, root, spec, config
        self.cwd = cwd  # pathspecs after -- are relative to where the user stands, as in git
        self.counter = counter
        self.backend, self.model = backend, model
        self.update_index = update_index
        self.notes: list[str] = []
        self.room_notes: list[str] = []
        self.compact = compact_prompt(config.num_ctx)  # the review template's compact form
        self._text: dict[str, str | None] = {}
        self.sides = resolve_sides(repo, spec)
        self.resolver: Resolver | None = None
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
        reviewable, held = order_for_review(reviewable, self.config.include_docs)
        skipped += held
        for f, text in reviewable:
            self._text[f.path] = text
        hunks_total = sum(len(f.hunks) for f, _ in reviewable)
        state, store = self._open_index([f.path for f, _ in reviewable])
        try:
            symbols: SymbolSource = state if state is not None else self._memory_symbols()
            self.resolver = make_resolver(self, state, symbols, [f.path for f, _ in reviewable])
            base = self.counter.count_chat(*render([], [], compact=self.compact))
            available = self.config.num_ctx - self.config.answer_reserve - base
            if available < 256:
                raise BadInput(
                    f"num_ctx {self.config.num_ctx} leaves {available} tokens for the diff after the"
                    f" {self.config.answer_reserve}-token answer reserve and the {base}-token prompt template",
                    hint="raise --num-ctx (8192 or more) or lower output_reserve",
                )
            cap = int(available * DIFF_SHARE)
            parts = [with_leads(p, self.text_of(p.path), self.symbols_of(p.path))
                     for f, _ in reviewable for p in split_parts(f, cap, self.counter.count)]
            batches = [self._batch(group, symbols, state, store, available)
                       for group in group_batches(parts, cap, self.counter.count)]
        finally:
            if state is not None:
                state.close()
        return Plan(self.backend, self.model, self.config.num_ctx, self.config.answer_reserve,
                    self.counter.name, tuple(batches), tuple(skipped), hunks_total,
                    planned_hunks([f for f, _ in reviewable], parts), tuple(self.notes),
                    {f.path: t for f, t in reviewable}, room_notes=tuple(self.room_notes))

    def _open_index(self, paths: Sequence[str]) -> tuple[State | None, Any]:
        d = index_dir(self.root)
        shared, fresh = bool(self.config.store_url), not (d / "state.sqlite").exists()
        if fresh and not shared:
            self.notes.append("no index yet: similarity search skipped, symbols parsed from the files"
                              " (run `localreview index` once for better context)")
            return None, None
        # Only now the indexer's weight (numpy, filelock, the embedder, Chroma): an index exists.
        from index.indexer import Indexer, make_embedder, open_store
        from index.shared import open_view, reader_store

        if self.update_index and (paths or fresh):
            try:  # a fresh clone of a shared index fetches its view: records, not embeddings
                Indexer(self.root, self.config, lock_timeout=0).run(only=None if fresh else paths)
            except IndexBusy:
                self.notes.append("another localreview run is indexing: planned with the index as it is")
            except EnvironmentFailure as exc:
                # No embedding model here (a pre-commit hook's own environment installs none) or
                # the store is away: the review goes on with the index as it is, and says so.
                self.notes.append(f"the index was not refreshed ({exc.message}): planned with it as it is")
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
        from index.indexer import make_embedder

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
                out.append(Candidate(row.path, "similar", REASON_WEIGHT["similar"] * similarity, qname, row.start_line,
                                     row.end_line, (row.start_line, row.end_line)))
        return out

    def _batch(self, parts: Sequence[DiffPart], symbols: SymbolSource, state: State | None, store: Any,
               available: int) -> Batch:
        cands: list[Candidate] = []
        spans: dict[str, list[tuple[int, int]]] = {}
        used_names: set[str] = set()
        for p in parts:
            analysis = self.symbols_of(p.path) or FileAnalysis(p.path, "text", (), (), ())
            changed = ChangedFile(p.path, analysis, p.added | p.anchors, tuple(h.new_range for h in p.hunks))
            spans.setdefault(p.path, []).extend([*changed.spans, *lead_spans(p)])
            imports_text = "\n".join(
                "\n".join(text_lines(self.text_of(p.path) or "")[s - 1:e]) for s, e in analysis.import_ranges)
            found = candidates_for(changed, symbols, imports_text, self.enclosing_of, self.resolver, used_names)
            if state is not None and store is not None:
                found += self._similar(changed, state, store, sorted({q.path for q in parts}))
            cands += for_part(p.path, found, self.text_of(p.path), handles(analysis.language))
        diff_tokens = sum(self.counter.count(p.text) + MARKER_TOKENS for p in parts)
        room = available - diff_tokens
        return self._packed(parts, cands, room, spans, frozenset(used_names))

    def _packed(self, parts: Sequence[DiffPart], cands: list[Candidate], room: int,
                spans: dict[str, list[tuple[int, int]]], used: frozenset[str]) -> Batch:
        materializer = Materializer(self.text_of, self.symbols_of, self.counter.count, self._trimmed)
        # The context section's own header is counted once, plus slack for what per-item counts
        # miss, so that _fit need not drop a whole item at the end.
        room -= self._context_header() + int(self.config.num_ctx * SLACK_SHARE)
        packed = pack(rank(cands), materializer, room, MARKER_TOKENS, spans, used)
        note = unused_note(packed, room)
        if note is not None:
            self.room_notes.append(f"{', '.join(sorted({p.path for p in parts}))}: {note}")
        return self._fit(parts, [ContextItem(p.path, p.start_line, p.end_line, p.symbol, p.reason, p.tokens,
                                             p.text, p.form, p.ranges if p.form != "full" else ())
                                 for p in packed.pieces])

    def _context_header(self) -> int:
        """Tokens the template adds once context is present, beyond one item's markers."""
        if not hasattr(self, "_header_tokens"):
            empty = self.counter.count_chat(*render([], [], compact=self.compact))
            one = self.counter.count_chat(*render([], [ContextText("p", 1, 1, "s", "r", "")], compact=self.compact))
            self._header_tokens = max(0, one - empty - MARKER_TOKENS)
        return self._header_tokens

    def _trimmed(self, c: Candidate, max_tokens: int) -> Piece | None:
        item = self._materialize(c, max_tokens)
        return None if item is None else Piece(item.path, item.start_line, item.end_line, item.symbol,
                                               item.reason, item.tokens, item.text, score=c.score)

    def _fit(self, parts: Sequence[DiffPart], chosen: list[ContextItem]) -> Batch:
        """Render and count exactly; drop the least important context until the whole prompt fits."""
        limit = self.config.num_ctx - self.config.answer_reserve
        while True:
            context = [ContextText(c.path, c.start_line, c.end_line, c.symbol, c.reason, c.text) for c in chosen]
            system, user = render(parts, context, compact=self.compact)
            tokens = self.counter.count_chat(system, user)
            if tokens <= limit or not chosen:
                leads = tuple(i for p in parts for i in lead_items(p, self.counter.count))
                return Batch(tuple(parts), tuple(chosen), system, user, tokens, leads)
            last = chosen[-1]
            cut = shorten(last.text, last.tokens - (tokens - limit) - 8, self.counter.count)
            if cut is None:
                chosen = chosen[:-1]
            else:  # a few tokens over: the last item loses its last lines, not its place
                text, end = cut
                shown = _clip(last.shown, text)
                chosen = [*chosen[:-1], dataclasses.replace(last, text=text, end_line=end or last.end_line,
                                                            tokens=self.counter.count(text), shown=shown)]

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


def _clip(shown: Sequence[tuple[int, int]], text: str) -> tuple[tuple[int, int], ...]:
    """A skeleton's shown ranges after its last lines were cut: up to the last numbered line left."""
    if not shown:
        return ()
    numbers = [int(w[0]) for w in (row.split(maxsplit=1) for row in text.split("\n")) if w and w[0].isdigit()]
    last = max(numbers, default=0)
    return tuple((s, min(e, last)) for s, e in shown if s <= last)
