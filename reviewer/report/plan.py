"""The review plan as text, for a person at a terminal (``--dry-run`` without ``--format json``)."""

from __future__ import annotations

from reviewer.plan.records import Plan


def render_plan(plan: Plan) -> str:
    out = [
        f"review plan: {len(plan.batches)} batch(es) for {plan.backend} ({plan.model}),"
        f" window {plan.num_ctx} tokens, {plan.output_reserve} reserved for the answer;"
        f" tokens counted by {plan.token_count}"
    ]
    for i, b in enumerate(plan.batches, 1):
        files = ", ".join(sorted({f.path for f in b.files}))
        hunks = sum(len(f.hunks) for f in b.files)
        out.append(f"\nbatch {i}: {files} ({hunks} hunk(s)), {b.prompt_tokens} prompt tokens")
        if not b.context:
            out.append("  context: none")
        for c in b.context:
            out.append(f"  {c.reason:<9} {c.path}:{c.start_line}-{c.end_line}  {c.symbol}  ({c.tokens} tokens)")
    if plan.skipped:
        out.append("\nskipped:")
        out.extend(f"  {s.path}: {s.why}" for s in plan.skipped)
    n_files = len({f.path for b in plan.batches for f in b.files})
    out.append(f"\ncoverage: {plan.hunks_planned}/{plan.hunks_total} hunks in {n_files} file(s) planned,"
               f" {len(plan.skipped)} file(s) skipped")
    out.extend(f"note: {n}" for n in (*plan.notes, *plan.room_notes))
    return "\n".join(out)
