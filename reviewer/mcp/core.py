"""The one seam between the MCP tools and the review core: ``reviewer.api``.

Every call the MCP server makes into localreview goes through here, through the same
``ReviewRequest`` / ``review()`` / ``plan()`` as the command line, so the privacy guard, the remote
opt-in, redaction, suppressions and the baseline apply exactly as they do there. Nothing here
prints: the stdio transport owns stdout.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.config import Config, load_config
from reviewer.errors import BadInput


@dataclass(frozen=True)
class ToolRequest:
    """What a ``review`` or ``plan`` call asks for, as the command line would take it."""

    diff: str = ""
    repo: str | None = None
    backend: str | None = None
    model: str | None = None
    host: str | None = None
    num_ctx: int | None = None

    def argv(self) -> list[str]:
        try:
            return shlex.split(self.diff)
        except ValueError as exc:
            raise BadInput(f"cannot read the diff arguments {self.diff!r}: {exc}",
                           hint='pass git-diff arguments as on the command line, e.g. "HEAD~1" or "--staged"') from exc


def _request(request: ToolRequest, default_repo: Path, log: Callable[[str], None]) -> Any:
    from reviewer.api import ReviewRequest

    where = Path(request.repo).expanduser() if request.repo else default_repo
    return ReviewRequest(diff_args=tuple(request.argv()), cwd=where, backend=request.backend, model=request.model,
                         host=request.host, num_ctx=request.num_ctx, format="json", log=log)


def review(request: ToolRequest, default_repo: Path, *, log: Callable[[str], None]) -> dict[str, Any]:
    """Findings JSON, exactly as ``localreview diff --format json`` writes it."""
    from reviewer import api
    from reviewer.report import render

    result = api.review(_request(request, default_repo, log))
    out: dict[str, Any] = json.loads(render(result, "json", color=False))
    return out


def plan(request: ToolRequest, default_repo: Path, *, log: Callable[[str], None]) -> dict[str, Any]:
    """The review plan, exactly as ``localreview diff --dry-run --format json`` writes it."""
    from reviewer import api

    out: dict[str, Any] = api.plan(_request(request, default_repo, log)).to_json()
    return out


def repo_config(repo: str | None, default_repo: Path) -> tuple[Path, Config]:
    """The root and configuration of the repository a ``search`` call names."""
    from index.walk import git_root

    root = git_root((Path(repo).expanduser() if repo else default_repo).resolve())
    return root, load_config(root)
