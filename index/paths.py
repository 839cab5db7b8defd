"""Where the index lives in a repository: named once, importable without the indexer's weight
(numpy, filelock, the embedder), so a plan can tell "no index yet" for free."""

from __future__ import annotations

from pathlib import Path

INDEX_DIR = ".localreview"


def index_dir(root: Path) -> Path:
    return root / INDEX_DIR
