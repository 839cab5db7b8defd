"""Parsing and chunking in a worker thread, a window of files ahead of the embedder.

onnxruntime releases the GIL while it computes, so tree-sitter parsing and chunking (Python,
holding the GIL) overlap with embedding instead of running before it. The queue holds at most
``ahead`` windows: memory stays bounded by a few windows of analyses, however big the repository.
The worker only parses: every write stays on the caller's thread, in the caller's order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from index.model import FileAnalysis
from index.walk import SourceFile

Analyze = Callable[[SourceFile], FileAnalysis]


@dataclass(frozen=True)
class Window:
    start: int  # index of the first file in the whole list
    files: Sequence[SourceFile]
    analyses: Sequence[FileAnalysis]


_DONE = object()


def parse_ahead(files: Sequence[SourceFile], analyze: Analyze, window: int, ahead: int = 2) -> Iterator[Window]:
    """Windows of ``window`` files, parsed by a worker thread; an error in the worker is raised
    here. Closing the iterator early stops the worker after its current file."""
    out: queue.Queue[object] = queue.Queue(maxsize=max(1, ahead))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for start in range(0, len(files), window):
                part = files[start : start + window]
                analyses = []
                for f in part:
                    if stop.is_set():
                        return
                    analyses.append(analyze(f))
                if not put(Window(start, part, analyses)):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=work, name="localreview-parse", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Window)
            yield item
    finally:
        stop.set()
        worker.join()
