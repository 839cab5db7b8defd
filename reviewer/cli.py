"""The command line: thin. Parse options, call the typed core, render, return an exit code.

Core errors are translated here and only here: a ``LocalReviewError`` becomes one line on
stderr and its exit code; click's usage errors exit 2; nothing prints a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from reviewer.config import load_config
from reviewer.errors import LocalReviewError


def _err(message: str) -> None:
    click.echo(f"localreview: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="localreview", prog_name="localreview")
def cli() -> None:
    """A private, local code reviewer: AST index + local model. No code leaves the machine."""


@cli.command("index")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild the index from scratch.")
@click.option("--store-url", help="Chroma server URL for a shared index (default: <repo>/.localreview).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option("--list-skipped", is_flag=True, help="List every skipped file and why.")
def index_cmd(path: Path | None, full: bool, store_url: str | None, fmt: str, quiet: bool, list_skipped: bool) -> None:
    """Build or update the index of the repository at PATH (default: the current one)."""
    from index.indexer import Indexer
    from index.walk import git_root
    from reviewer.ui import ProgressView

    def run() -> int:
        root = git_root((path or Path.cwd()).resolve())
        config = load_config(root, {"store_url": store_url})
        with ProgressView(enabled=not quiet and fmt == "text") as on_event:
            stats = Indexer(root, config, on_event=on_event).run(full=full)
        for note in stats.notes:
            _err(note)
        if fmt == "json":
            click.echo(json.dumps(stats.to_json()))
        else:
            click.echo(
                f"indexed {stats.files} files: {stats.chunks} chunks ({stats.embedded} embedded,"
                f" {stats.reused} reused, {stats.removed} removed), {stats.skipped} skipped,"
                f" in {stats.seconds:.1f} s"
            )
        if list_skipped:
            for skip in stats.skipped_files:
                click.echo(f"skipped {skip.path}: {skip.why}", err=fmt == "json")
        return 0

    _finish(run)


def _finish(run: Callable[[], int]) -> None:
    """Run a command body and exit with its code, translating our errors to one clean line."""
    try:
        code = run()
    except LocalReviewError as exc:
        _err(f"error: {exc}")
        code = exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = 130
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> Any:
    return cli.main(args=list(argv) if argv is not None else None, prog_name="localreview")


if __name__ == "__main__":  # pragma: no cover
    main()
