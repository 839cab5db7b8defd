"""``localreview index``: build or update the index, with a progress bar on a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewer.cli._common import err, finish


@click.command("index")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild the index from scratch.")
@click.option("--store-url", help="Chroma server URL for a shared index (default: <repo>/.localreview).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option("--list-skipped", is_flag=True, help="List every skipped file and why.")
@click.option("--background", is_flag=True, help="Build in a detached process; print its pid and log, return at once.")
def index_cmd(path: Path | None, full: bool, store_url: str | None, fmt: str, quiet: bool, list_skipped: bool,
              background: bool) -> None:
    """Build or update the index of the repository at PATH (default: the current one)."""
    from index.indexer import Indexer
    from index.walk import git_root
    from reviewer.cli.progress import ProgressView
    from reviewer.config import load_config
    from reviewer.policy.guard import enforce

    def run() -> int:
        root = git_root((path or Path.cwd()).resolve())
        config = load_config(root, {"store_url": store_url})
        enforce(config)  # a bad store host is refused here, before anything is detached
        if background:
            from index.background import start_background

            bg = start_background(root, full=full, store_url=store_url)
            click.echo(f"an index run is already in progress; log: {bg.log}" if bg.already_running
                       else f"indexing in the background: pid {bg.pid}, log {bg.log}")
            return 0
        with ProgressView(enabled=not quiet and fmt == "text") as on_event:
            stats = Indexer(root, config, on_event=on_event).run(full=full)
        for note in stats.notes:
            err(note)
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

    finish(run)
