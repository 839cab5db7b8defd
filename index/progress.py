"""What an index run reports: progress events while it runs, the figures when it is done.

Apart from the indexer so that the shared-index path (index/shared.py) can report the same way
without importing the indexer back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.walk import Skip


@dataclass(frozen=True)
class Progress:
    phase: str  # "wait" | "scan" | "parse" | "embed" | "write"
    done: int
    total: int
    message: str = ""


@dataclass
class IndexStats:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    skipped_files: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, int | float]:
        return {
            "files": self.files,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "removed": self.removed,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
        }
