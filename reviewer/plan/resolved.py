"""Context candidates from scope-aware resolution (``index.resolve``): what the changed lines
use, each definition found by the language's rules rather than by its bare name.

Only the changed lines count: the rest of the enclosing function is the model's to read, and
what it uses was reviewed before. A resolution by the language's rules has confidence 1, a
match by a specific name less.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from index.model import Definition
from index.resolve import Resolver
from index.uses import changed_uses
from index.visibility import CLASS_KINDS
from reviewer.plan.candidate import REASON_WEIGHT, Candidate, ChangedFile

CHANGED_LINE_WEIGHT = 3.0


def resolved_candidates(changed: ChangedFile, resolver: Resolver, enclosing: Mapping[str, Definition]
                        ) -> tuple[list[Candidate], set[str]]:
    """(candidates, qualified names of every definition used) for one changed file."""
    a = changed.analysis
    agg: dict[tuple[str, str, int], tuple[Definition, float, float]] = {}
    for lines, w in ((changed.added, CHANGED_LINE_WEIGHT),):
        for u in changed_uses(resolver, a.path, lines):
            d = u.definition
            if d.path == a.path and d.start_line <= u.line <= d.end_line and d.kind not in CLASS_KINDS:
                continue  # the function the use is in (recursion, or the enclosing definition)
            key = (d.path, d.qualified_name, d.start_line)
            _, weight, conf = agg.get(key, (d, 0.0, 0.0))
            agg[key] = (d, weight + w, max(conf, u.confidence))
    out: list[Candidate] = []
    used: set[str] = set()
    for d, weight, conf in agg.values():
        used.add(d.qualified_name)
        reason = "type" if d.kind in CLASS_KINDS else "callee"
        direct = min(weight, CHANGED_LINE_WEIGHT) / CHANGED_LINE_WEIGHT
        score = REASON_WEIGHT[reason] * conf * (0.4 + 0.6 * direct) * (1.0 + 0.25 * math.log(max(weight, 1.0)))
        if d.path == a.path and any(d.start_line <= n <= d.end_line for n in changed.added):
            score *= 1.2  # a changed definition another changed line calls
        out.append(Candidate(d.path, reason, score, d.qualified_name, d.start_line, d.end_line))
    return out, used
