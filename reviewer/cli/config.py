"""``localreview config``: the effective configuration and where each value came from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewer.cli._common import finish


@click.command("config")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config_cmd(fmt: str) -> None:
    """Print the effective configuration and where each value came from."""
    from reviewer.config import effective_config, load_config, root_or_none

    def run() -> int:
        root = root_or_none(Path.cwd())
        rows = effective_config(load_config(root))
        files = sorted({r["source"] for r in rows if not r["source"].startswith(("env ", "flag ", "default"))})
        if fmt == "json":
            click.echo(json.dumps({
                "root": str(root) if root else None,
                "files": files,
                "settings": {r["key"]: {"value": r["value"], "source": r["source"]} for r in rows},
            }, indent=2))
            return 0
        where = str(root) if root else "no git repository here: only LOCALREVIEW_* variables apply"
        click.echo(f"configuration for {where}" + (f" (from {', '.join(files)})" if files else ""))
        width = max(len(r["key"]) for r in rows) + 2
        value_width = min(max(len(r["shown"]) for r in rows), 40)
        for r in rows:
            click.echo(f"{r['key']:<{width}}{r['shown']:<{value_width}}  {r['source']}")
        return 0

    finish(run)
