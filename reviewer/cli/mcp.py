"""``localreview mcp``: serve localreview's tools to an IDE (Continue.dev, Cursor) over stdio."""

from __future__ import annotations

from pathlib import Path

import click

from reviewer.cli._common import finish


@click.command("mcp")
@click.option("--repo", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Repository a tool call reviews when it names none (default: the current directory).")
def mcp_cmd(repo: Path | None) -> None:
    """Serve `review`, `plan` and `search` as Model Context Protocol tools over stdio."""

    def run() -> int:
        from reviewer.mcp.server import serve

        serve((repo or Path.cwd()).resolve())
        return 0

    finish(run)
