"""Write ``bench/history_cases.json``: the commits the history benchmark replays.

    python -m bench.history_manifest [--per-project 25]

For each project of ``bench.history_cases.PROJECTS``, the eligible commits (non-merge, modify 1–4
source files, add 5–150 lines to them) are taken in a fixed order (by the SHA-256 of the commit id)
and kept while the judge finds at least one needed definition outside the diff, until
``--per-project`` are kept. Nothing of the planner is run: the choice cannot lean towards what it
does well. The split of each case is the parity of the SHA-256 of its commit id.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.common import setup_env
from bench.history_cases import PROJECTS, Case, candidates, pick_order, replay, save_manifest, split_of
from bench.history_judge import cached_judge


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-project", type=int, default=25)
    parser.add_argument("--tries", type=int, default=80, help="candidates judged at most per project")
    args = parser.parse_args(argv)
    setup_env()
    cases: list[Case] = []
    for project in PROJECTS:
        cands = pick_order(candidates(project))
        kept = tried = 0
        for cand in cands[: args.tries]:
            if kept >= args.per_project:
                break
            tried += 1
            case = Case(project.repo, project.language, cand.sha, split_of(cand.sha), cand.files, cand.added)
            repo = replay(case)
            try:
                verdict = cached_judge(cand.sha, repo.root, project.language, repo.changed)
            finally:
                repo.cleanup()
            if verdict.needed:
                cases.append(case)
                kept += 1
            print(f"  {case.key}: {len(verdict.needed)} needed, {verdict.in_diff} shown by the diff"
                  f" ({verdict.seconds:.1f} s)", flush=True)
        print(f"{project.repo}: {len(cands)} eligible commits, {tried} judged, {kept} kept", flush=True)
    save_manifest(cases)
    print(f"wrote {len(cases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
