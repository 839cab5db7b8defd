"""``localreview baseline``: review like ``diff`` and accept every finding."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reviewer.cli._common import err, finish, git_args, model_options


@click.command("baseline", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
@model_options
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the baseline here (default: config `baseline`, else .localreview-baseline.json).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def baseline_cmd(args: tuple[str, ...], backend: str | None, model: str | None, host: str | None,
                 num_ctx: int | None, output: Path | None) -> None:
    """Review like `diff ARGS` and accept every finding: later runs report only new ones."""
    from reviewer.api import ReviewRequest, open_session
    from reviewer.policy.baseline import baseline_path, write_baseline

    def run() -> int:
        # The same review as `diff` (guard, opt-in, redaction, ignores, inline suppressions), except
        # that the old baseline is replaced, not consulted: accepted findings that are gone drop out.
        session = open_session(ReviewRequest(diff_args=tuple(git_args(args)), cwd=Path.cwd(), backend=backend,
                                             model=model, host=host, num_ctx=num_ctx, use_baseline=False, log=err))
        result = session.review()
        default = baseline_path(session.config, session.root)
        path = output if output is not None else default
        count = write_baseline(result, path)
        for warning in result.stats.warnings:
            err(f"warning: {warning}")
        if result.smoke_test_model:
            err("warning: this baseline comes from the SmolLM2 smoke-test model; "
                "re-create it with a real coder model before relying on it")
        noun = "finding" if count == 1 else "findings"
        hint = ""
        if path.resolve() != default.resolve():
            rel = os.path.relpath(path.resolve(), session.root)
            hint = f" once the config says baseline = \"{rel}\" (reviews read {default})"
        click.echo(f"wrote {count} accepted {noun} to {path}; later reviews report only new findings{hint}")
        return 0

    finish(run)
