"""The one seam between the MCP tools and the review core.

Every call the MCP server makes into localreview goes through here, so moving to
``reviewer.api`` (``review(ReviewRequest)``, ``plan(ReviewRequest)``) is an edit of this file only.
Nothing here prints: the stdio transport owns stdout.
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

    def flags(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "host": self.host, "num_ctx": self.num_ctx,
                "format": "json"}


def _resolve(request: ToolRequest, default_repo: Path) -> tuple[Any, Path, Any, Config, Path]:
    from reviewer.diff import open_repo, parse_diff_args, repo_root, resolve_sides

    where = Path(request.repo).expanduser() if request.repo else default_repo
    spec = parse_diff_args(request.argv())
    repo = open_repo(where)
    root = repo_root(repo)
    resolve_sides(repo, spec)  # a bad revision is bad input before any model is sought
    config = load_config(root, request.flags())
    return repo, root, spec, config, where.resolve()


def review(request: ToolRequest, default_repo: Path, *, log: Callable[[str], None]) -> dict[str, Any]:
    """Findings JSON, exactly as ``localreview diff --format json`` writes it."""
    from reviewer.commands import prepare_backend, run_review
    from reviewer.report import render

    repo, root, spec, config, cwd = _resolve(request, default_repo)
    backend = prepare_backend(config, log=log)
    result = run_review(repo, root, spec, config, backend, log=log, cwd=cwd)
    out: dict[str, Any] = json.loads(render(result, "json", color=False))
    return out


def plan(request: ToolRequest, default_repo: Path, *, log: Callable[[str], None]) -> dict[str, Any]:
    """The review plan, exactly as ``localreview diff --dry-run --format json`` writes it."""
    from reviewer.commands import prepare_backend
    from reviewer.review import build_plan, counter_for

    repo, root, spec, config, cwd = _resolve(request, default_repo)
    backend = prepare_backend(config, log=log)
    built = build_plan(repo, root, spec, config, backend, counter_for(backend), cwd=cwd)
    out: dict[str, Any] = built.to_json()
    return out


def repo_config(repo: str | None, default_repo: Path) -> tuple[Path, Config]:
    """The root and configuration of the repository a ``search`` call names."""
    from index.walk import git_root

    root = git_root((Path(repo).expanduser() if repo else default_repo).resolve())
    return root, load_config(root)
