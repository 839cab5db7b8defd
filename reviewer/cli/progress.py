"""Terminal rendering of progress events (the core yields events; only the CLI draws)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from index.progress import Progress as IndexProgress

_LABELS = {"scan": "listing files", "parse": "parsing", "embed": "embedding", "write": "writing", "wait": "waiting"}


class ProgressView:
    """A rich progress bar on a terminal; silence otherwise (CI logs want only the summary)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Callable[[IndexProgress], None]:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        return self.update

    def update(self, event: IndexProgress) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(event.phase)
        label = _LABELS.get(event.phase, event.phase)
        if task is None:
            task = self._progress.add_task(label, total=event.total or None, note=event.message)
            self._tasks[event.phase] = task
        self._progress.update(task, completed=event.done, total=event.total or None, note=event.message)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
