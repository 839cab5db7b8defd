"""The command line: one click group. Each command lives in its own module, imports the shared
``_common`` and nothing imports back; options become typed requests, results become reports
and exit codes, and nothing more happens here."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from reviewer.cli._common import PATHS_MARKER
from reviewer.cli.baseline import baseline_cmd
from reviewer.cli.config import config_cmd
from reviewer.cli.diff import diff_cmd
from reviewer.cli.doctor import doctor_cmd
from reviewer.cli.hook import hook_cmd
from reviewer.cli.index import index_cmd
from reviewer.cli.mcp import mcp_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="localreview", prog_name="localreview")
def cli() -> None:
    """A private, local code reviewer: AST index + local model. No code leaves the machine."""


for _command in (index_cmd, diff_cmd, hook_cmd, baseline_cmd, config_cmd, doctor_cmd, mcp_cmd):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> Any:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" in args:
        args[args.index("--")] = PATHS_MARKER
    return cli.main(args=args, prog_name="localreview")


__all__ = ["cli", "main"]
