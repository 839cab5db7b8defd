"""``localreview hook``: what ``.pre-commit-hooks.yaml`` runs. Options in, ``run_hook`` does the work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reviewer.cli._common import analyzer_options, finish, model_options, report_options, use_color, write_output


@click.command("hook", context_settings={"help_option_names": ["-h", "--help"]})
@model_options
@report_options
@analyzer_options
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds the whole review may take (config hook_timeout, default 300).")
@click.option("--fail-open/--fail-closed", default=None,
              help="When no model can run (none installed, server down, too slow): pass with a warning"
                   " (the default) or fail with exit 3.")
def hook_cmd(backend: str | None, model: str | None, host: str | None, num_ctx: int | None, fmt: str | None,
             output: Path | None, fail_on: str | None, analyzers: bool | None, analyzers_only: bool | None,
             timeout: float | None, fail_open: bool | None) -> None:
    """Review the staged change (pre-commit) or PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF (pre-push).

    Passes at once when nothing reviewable is staged; answers from a cache when the same change
    was reviewed before. SKIP=localreview skips it.
    """
    from reviewer.errors import LocalReviewError
    from reviewer.hook.run import HookRequest, run_hook
    from reviewer.hook.watchdog import review_in_flight

    def log(message: str) -> None:
        # The core's lines carry their own "localreview:" prefix.
        click.echo(message, err=True)

    request = HookRequest(backend=backend, model=model, host=host, num_ctx=num_ctx, format=fmt, fail_on=fail_on,
                          timeout=timeout, fail_open=fail_open, analyzers=analyzers, analyzers_only=analyzers_only)

    def run() -> int:
        try:
            outcome = run_hook(Path.cwd(), request, log=log)
            if outcome.result is not None and outcome.config is not None:
                from reviewer.report import render

                write_output(render(outcome.result, outcome.config.format, color=use_color(output)), output)
            code = outcome.exit_code
        except (LocalReviewError, KeyboardInterrupt) as exc:
            if not review_in_flight():
                raise  # finish() reports it, as for every command
            code = exc.exit_code if isinstance(exc, LocalReviewError) else 130
            log(f"localreview: error: {exc}" if isinstance(exc, LocalReviewError) else "localreview: interrupted")
        if review_in_flight():
            # A review abandoned at the time limit may be inside llama.cpp: leave without the
            # interpreter's teardown, which could free the model under its feet.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code

    finish(run)
