"""Review benchmark: one review of a ~100-line diff in a >= 1,000-file repository with the embedded
backend (llama.cpp in process, the bundled SmolLM2 GGUF by default), its wall time split by stage.

    python -m bench.review_bench [--size 1k|full] [--output-reserve 512] [--model X.gguf] [--cold]

Stages: start-up (imports, measured in a fresh interpreter), planning (first in the process, and
warm inside the review), model load, prompt processing and generation (llama.cpp's own counters,
``llama_perf_context``, read around every call), the rest of the review (prompt rendering,
answer parsing, validation) and reporting. SmolLM2-135M proves the pipeline; its findings mean
nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    BenchRepo,
    add_size_args,
    git,
    load_average,
    make_repo,
    profiled,
    restore_or_build_index,
    rss_report,
    setup_env,
    stopwatch,
    verdict,
)
from bench.plan_bench import Source, hundred_line_change

if TYPE_CHECKING:
    from reviewer.backends.base import ChatRequest, ChatResponse

TARGET_OVERHEAD_S = 1.5
# What `localreview diff --backend embedded` imports before it can plan and load the model.
REVIEW_IMPORTS = ("reviewer.cli", "reviewer.api", "reviewer.pipeline", "reviewer.plan.planner", "reviewer.report",
                  "reviewer.backends.select", "index.indexer", "chromadb", "tokenizers", "llama_cpp")


@dataclass
class Call:
    started: float
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    perf: dict[str, float] = field(default_factory=dict)  # llama.cpp's counters for this call


def _make_timed_backend(model: str | None, n_ctx: int, threads: int | None) -> Any:
    """An EmbeddedBackend (a real subclass, so the review counts tokens exactly with its GGUF) that
    times every chat call and reads llama.cpp's prompt/generation counters around it."""
    import llama_cpp

    from reviewer.backends.embedded import EmbeddedBackend

    class TimedEmbedded(EmbeddedBackend):
        def __init__(self) -> None:
            super().__init__(model, n_ctx=n_ctx, threads=threads)
            self.calls: list[Call] = []

        def _ctx(self) -> Any:
            try:
                return self._loaded().llm._ctx.ctx
            except AttributeError:  # another llama-cpp-python layout: fall back to token rates
                return None

        def chat(self, request: ChatRequest) -> ChatResponse:
            ctx = self._ctx()
            if ctx is not None:
                llama_cpp.llama_perf_context_reset(ctx)
            started = time.perf_counter()
            response = super().chat(request)
            call = Call(started, time.perf_counter() - started, response.prompt_tokens, response.completion_tokens)
            if ctx is not None:
                data = llama_cpp.llama_perf_context(ctx)
                call.perf = {"prompt_s": data.t_p_eval_ms / 1000, "gen_s": data.t_eval_ms / 1000,
                             "prompt_n": float(data.n_p_eval), "gen_n": float(data.n_eval)}
            self.calls.append(call)
            return response

    return TimedEmbedded()


def _import_seconds() -> float:
    code = ("import time; t = time.perf_counter()\n"
            + "".join(f"import {m}\n" for m in REVIEW_IMPORTS)
            + "print(time.perf_counter() - t)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(parser)
    parser.add_argument("--num-ctx", type=int, default=8192)
    parser.add_argument("--output-reserve", type=int, default=512,
                        help="tokens kept for the answer = max_tokens of generation (default %(default)s)")
    parser.add_argument("--model", help="a .gguf file (default: the bundled SmolLM2-135M)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: the backend's choice)")
    parser.add_argument("--cold", action="store_true",
                        help="also time a whole `localreview diff --backend embedded` subprocess")
    parser.add_argument("--profile", action="store_true", help="profile the review's own work")
    args = parser.parse_args(argv)
    setup_env()
    started = time.perf_counter()
    print(f"# localreview review benchmark — {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"python {platform.python_version()}, {load_average()}")
    repo = make_repo(args.size, args.min_files)
    print(f"repository: Django {repo.size} subset, {repo.files} files, {repo.root}")
    try:
        restore_or_build_index(repo, lambda m: print(f"  {m}", flush=True))
        _run(repo, args)
    finally:
        if args.keep:
            print(f"kept {repo.root}")
        else:
            repo.cleanup()
    print(f"\n{rss_report()}; benchmark wall time {time.perf_counter() - started:.0f} s; {load_average()}")
    return 0


def _run(repo: BenchRepo, args: argparse.Namespace) -> None:
    from reviewer.config import Config
    from reviewer.diff.args import parse_diff_args
    from reviewer.diff.revisions import open_repo
    from reviewer.pipeline import build_plan, counter_for, review
    from reviewer.report import render

    src = Source(repo.root)
    path, span = hundred_line_change(src)
    pristine = src.text[path]
    (repo.root / path).write_text("\n".join(src.lines(path)[: span[0] - 1] + src.lines(path)[span[1]:]),
                                  encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "bench: remove ~100 lines")
    (repo.root / path).write_text(pristine, encoding="utf-8")
    print(f"diff: {span[1] - span[0] + 1} added lines in {path} (working tree against HEAD)")
    try:
        imports = _import_seconds()
        config = Config(num_ctx=args.num_ctx, output_reserve=args.output_reserve, backend="embedded")
        backend = _make_timed_backend(args.model, args.num_ctx, args.threads)
        with stopwatch() as t_load:
            backend.check()
        params = backend._loaded().llm.context_params
        print(f"model: {backend.model} (n_ctx {args.num_ctx}, n_threads {params.n_threads},"
              f" n_threads_batch {params.n_threads_batch}, {os.cpu_count()} CPUs)")
        gitrepo = open_repo(repo.root)
        spec = parse_diff_args([])
        with stopwatch() as t_plan_first:
            counter = counter_for(backend)
            plan = build_plan(gitrepo, repo.root, spec, config, backend, counter)
        with stopwatch() as t_plan_warm:
            plan = build_plan(gitrepo, repo.root, spec, config, backend, counter)
        print(f"plan: {len(plan.batches)} batch(es), prompt tokens {[b.prompt_tokens for b in plan.batches]},"
              f" {sum(len(b.context) for b in plan.batches)} context items, {plan.token_count}")
        print(f"## review  ({load_average()})", flush=True)
        review_started = time.perf_counter()
        _plan, result = review(gitrepo, repo.root, spec, config, backend)
        review_s = time.perf_counter() - review_started
        with stopwatch() as t_report:
            render(result, "json", color=False)
            render(result, "text", color=False)
        _print(backend.calls, review_started, review_s, imports, t_load[0], t_plan_first[0], t_plan_warm[0],
               t_report[0], result)
        if args.profile:
            _, report = profiled(lambda: build_plan(gitrepo, repo.root, spec, config, backend, counter))
            print(f"\n## profile: warm planning\n{report}")
        if args.cold:
            _cold(repo.root, args)
    finally:
        git(repo.root, "reset", "-q", "--hard", repo.base)


def _print(calls: Sequence[Call], review_started: float, review_s: float, imports: float, load: float,
           plan_first: float, plan_warm: float, report: float, result: Any) -> None:
    model_s = sum(c.seconds for c in calls)
    prompt_s = sum(c.perf.get("prompt_s", 0.0) for c in calls)
    gen_s = sum(c.perf.get("gen_s", 0.0) for c in calls)
    before = (calls[0].started - review_started) if calls else review_s
    after = review_s - before - model_s  # parsing answers (and building a retry), validation, dedupe
    print(f"  start-up (imports of the review path, fresh interpreter): {imports:.2f} s")
    print(f"  model load (GGUF weights, n_ctx): {load:.2f} s")
    print(f"  planning: first in process {plan_first:.2f} s (GGUF vocabulary, index check, plan);"
          f" warm {plan_warm:.2f} s; inside the review {before:.2f} s")
    for i, c in enumerate(calls, 1):
        p = c.perf
        rates = ""
        if p:
            rates = (f"; llama.cpp: prompt {p['prompt_s']:.1f} s for {p['prompt_n']:.0f} tokens"
                     f" ({p['prompt_n'] / max(p['prompt_s'], 1e-9):.0f} t/s), generation {p['gen_s']:.1f} s for"
                     f" {p['gen_n']:.0f} tokens ({p['gen_n'] / max(p['gen_s'], 1e-9):.0f} t/s)")
        print(f"  model call {i}: {c.seconds:.1f} s, {c.prompt_tokens} prompt + {c.completion_tokens} completion"
              f" tokens{rates}")
    other_model = model_s - prompt_s - gen_s
    print(f"  model total {model_s:.1f} s = prompt processing {prompt_s:.1f} s + generation {gen_s:.1f} s"
          f" + {other_model:.1f} s in llama-cpp-python around them (sampling with the JSON grammar,"
          f" detokenising, chat template)")
    print(f"  after the model (parsing, validation, dedupe) {after:.2f} s; reporting (json + text) {report:.3f} s")
    overhead = before + after + report
    print(f"  everything but model load and the model's own work, warm: {overhead:.2f} s"
          f"  (target ≤ {TARGET_OVERHEAD_S} s: {verdict(overhead <= TARGET_OVERHEAD_S)})")
    s = result.stats
    print(f"  tokens: prompt {s.prompt_tokens}, completion {s.completion_tokens}; findings kept {len(result.findings)},"
          f" dropped {sum(s.dropped.values())} {dict(s.dropped)}; review wall time {review_s:.1f} s")
    for w in s.warnings:
        print(f"  warning: {w}")


def _cold(root: Path, args: argparse.Namespace) -> None:
    exe = Path(sys.executable).parent / "localreview"
    cmd = [str(exe), "diff", "--backend", "embedded", "--format", "json", "--num-ctx", str(args.num_ctx)]
    if args.model:
        cmd += ["--model", args.model]
    env_note = f"LOCALREVIEW_OUTPUT_RESERVE={args.output_reserve}"
    env = dict(os.environ, LOCALREVIEW_OUTPUT_RESERVE=str(args.output_reserve))
    with stopwatch() as t:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False, env=env)
    print(f"\n## cold `{env_note} localreview {' '.join(cmd[1:])}`: {t[0]:.1f} s, exit {proc.returncode}"
          f" (process start, imports, model load, planning, the model, report)")


if __name__ == "__main__":
    sys.exit(main())
