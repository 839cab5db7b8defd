"""The ``search`` tool: definitions of a name from the symbol table, and the indexed code most
similar to a piece of code, both from the repository's index (local or shared)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reviewer.config import Config
from reviewer.errors import BadInput

_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:[.:]+[A-Za-z_$][\w$]*)*$")
MAX_LINES = 60  # of one hit's code: enough to read it, small enough for an IDE's context


def search_index(root: Path, config: Config, query: str, limit: int) -> dict[str, Any]:
    from index.indexer import make_embedder, open_store
    from index.paths import index_dir
    from index.shared import open_view, reader_store
    from reviewer.policy.guard import enforce

    query = query.strip()
    if not query:
        raise BadInput("the search query is empty", hint="pass a symbol name or a piece of code")
    limit = max(1, min(limit, 50))
    enforce(config)  # the same guard and remote opt-in as a review
    state = open_view(root, index_dir(root), bool(config.store_url))
    try:
        definitions: list[dict[str, Any]] = []
        if _NAME.match(query):
            name = re.split(r"[.:]+", query)[-1]
            defs = state.definitions_named(name)
            if name != query:  # a qualified name narrows the bare one, when it matches at all
                defs = [d for d in defs if d.qualified_name.endswith(query.replace("::", "."))] or defs
            for d in sorted(defs, key=lambda d: (d.path, d.start_line))[:limit]:
                definitions.append({"path": d.path, "start_line": d.start_line, "end_line": d.end_line,
                                    "symbol": d.qualified_name, "kind": d.kind,
                                    "code": _lines(root, d.path, d.start_line, d.end_line)})
        embedder = make_embedder(config)
        store = reader_store(open_store(root, config, embedder.model_id), state)
        vector = embedder.embed([query])[0]
        hits = store.query(vector, limit * 3)  # some may be orphans or another branch's chunks
        rows = state.chunks_by_ids([h.id for h in hits])
        similar: list[dict[str, Any]] = []
        for h in hits:
            row = rows.get(h.id)
            if row is None or len(similar) >= limit:
                continue
            similar.append({"path": row.path, "start_line": row.start_line, "end_line": row.end_line,
                            "symbol": row.symbol, "kind": row.kind,
                            "similarity": round(max(0.0, 1.0 - h.distance), 3),
                            "code": _lines(root, row.path, row.start_line, row.end_line)})
    finally:
        state.close()
    return {"query": query, "definitions": definitions, "similar": similar}


def _lines(root: Path, path: str, start: int, end: int) -> str:
    """The code as it is in the working tree now (the index stores where, git stores what)."""
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[start - 1 : min(end, start - 1 + MAX_LINES)])
