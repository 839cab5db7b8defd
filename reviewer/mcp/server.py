"""The MCP server: three tools over stdio, on the official ``mcp`` SDK.

Tool calls run one at a time in a worker thread (a review loads models that are not
thread-safe, and the event loop must keep answering pings). Our errors become JSON-RPC
errors whose message is the command line's message; anything else becomes one line too:
a tool never sends a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio.to_thread
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError

from reviewer.errors import BadInput, LocalReviewError
from reviewer.mcp import core

# JSON-RPC codes: bad input is the caller's to fix (invalid params); the rest is the server's.
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Backend = Literal["ollama", "openai", "embedded"]
T = TypeVar("T")
_ONE_AT_A_TIME = threading.Lock()
_log = logging.getLogger("localreview.mcp")


def to_mcp_error(exc: BaseException) -> MCPError:
    if isinstance(exc, LocalReviewError):
        code = INVALID_PARAMS if isinstance(exc, BadInput) else INTERNAL_ERROR
        return MCPError(code, str(exc), {"exit_code": exc.exit_code, "hint": exc.hint})
    return MCPError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}", {"exit_code": 3})


async def _call(fn: Callable[[], T]) -> T:
    def guarded() -> T:
        with _ONE_AT_A_TIME:
            return fn()

    try:
        return await anyio.to_thread.run_sync(guarded)
    except MCPError:
        raise
    except Exception as exc:  # translated at the boundary: the client gets one message, no traceback
        _log.info("tool failed: %s", exc)
        raise to_mcp_error(exc) from None


def build_server(default_repo: Path) -> MCPServer:
    server: MCPServer = MCPServer(
        "localreview",
        instructions="A private, local code reviewer: review or plan a git diff, search the repository index."
        " Nothing leaves the machine.",
        log_level="WARNING",
    )

    def log(message: str) -> None:
        _log.info("%s", message)

    @server.tool()
    async def review(diff: str = "", repo: str | None = None, backend: Backend | None = None,
                     model: str | None = None, host: str | None = None, num_ctx: int | None = None
                     ) -> dict[str, Any]:
        """Review a git diff with the local model; returns the findings JSON of `localreview diff
        --format json`. `diff` holds git-diff arguments as on the command line: "HEAD~1",
        "--staged", "main...HEAD", "HEAD -- src/" (empty: the working tree against HEAD)."""
        request = core.ToolRequest(diff, repo, backend, model, host, num_ctx)
        return await _call(lambda: core.review(request, default_repo, log=log))

    @server.tool()
    async def plan(diff: str = "", repo: str | None = None, backend: Backend | None = None,
                   model: str | None = None, host: str | None = None, num_ctx: int | None = None
                   ) -> dict[str, Any]:
        """The review plan of a git diff without calling a model (`localreview diff --dry-run
        --format json`): batches, the context each carries and why, token counts, skipped files."""
        request = core.ToolRequest(diff, repo, backend, model, host, num_ctx)
        return await _call(lambda: core.plan(request, default_repo, log=log))

    @server.tool()
    async def search(query: str, repo: str | None = None, limit: int = 5) -> dict[str, Any]:
        """Search the repository's index: definitions of a symbol name (e.g. "parse" or
        "pkg.mod.Parser.parse") and the indexed code most similar to `query` (a name or code)."""
        from reviewer.mcp.search import search_index

        def run() -> dict[str, Any]:
            root, config = core.repo_config(repo, default_repo)
            return search_index(root, config, query, limit)

        return await _call(run)

    return server


def serve(default_repo: Path) -> None:
    """Serve on stdin/stdout until the client closes them; the privacy guard is on from the start."""
    from reviewer.policy import privacy

    privacy.install()  # loopback only until a call's configuration names its model / store host
    build_server(default_repo).run("stdio")
