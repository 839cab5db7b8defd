"""Packing a batch's context: which candidates, in which form, within the room the diff leaves.

The enclosing definition of every hunk goes first and always (whole, or as its skeleton plus the
changed region). The other candidates are packed by value per token. A definition bigger than
its share of the room is sent as its skeleton (``reviewer.plan.skeleton``) instead of being cut
around one line. In a small room (``SMALL_ROOM``) only what the changed lines use competes with
the enclosing minimum. What is left out, and why, is returned for the plan's notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from index.model import Definition, FileAnalysis
from index.test_paths import is_test_path
from index.visibility import CLASS_KINDS
from reviewer.plan import skeleton
from reviewer.plan.candidate import Candidate
from reviewer.plan.candidates import overlaps
from reviewer.plan.prompt import number_lines

ITEM_SHARE = 0.5  # of the room: a definition bigger than this is sent as its skeleton
# The diff shows the changed lines with some context; an enclosing definition is sent whole only
# while small, else as its skeleton (header, docstring line, the changed region).
ENCLOSING_SHARE = 0.05
ENCLOSING_TOTAL = 0.3  # of the room, for all enclosing definitions together: the rest is for what they use
MIN_ENCLOSING = 60  # an enclosing definition always gets this much: its header and docstring line
OUTLINE_TOKENS = 150
# Below this much room a batch gets what its changed lines use and the enclosing minimum only: no
# module outline, no rest of an enclosing body the diff shows the header of. Measured on the
# history bench: at 2k (about 400 tokens per batch) outlines and bodies were over 90 % tokens no
# added line used; without them recall on the tune split held at 2k and 8k and rose at 4k.
SMALL_ROOM = 1500
MIN_SHARE = 200
MAX_CANDIDATES = 80
# The rest of an enclosing definition whose header the diff shows: the diff already carries what
# the rule asks (its header and the changed region), so the whole body is ordinary context, worth
# less than the definitions the changed lines use.
ENCLOSING_REST_SCORE = 30.0
# Candidates scoring below this are not worth a model's attention: a 7B model takes what it is
# given as relevant, so unrelated code costs more than the tokens it takes.
MIN_SCORE = 25.0


@dataclass(frozen=True)
class Piece:
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str
    tokens: int
    text: str = field(repr=False)
    form: str = "full"  # "full" | "skeleton"
    score: float = 0.0
    ranges: tuple[tuple[int, int], ...] = ()

    @property
    def kept(self) -> tuple[tuple[int, int], ...]:
        return self.ranges or ((self.start_line, self.end_line),)


@dataclass
class Packed:
    pieces: list[Piece]
    used: int
    left_out: Counter[str]


class Materializer:
    """A candidate as the text that would be sent: whole, or as a skeleton when too big."""

    def __init__(self, text_of: Callable[[str], str | None], symbols_of: Callable[[str], FileAnalysis | None],
                 count: Callable[[str], int], trim: Callable[[Candidate, int], Piece | None]) -> None:
        self.text_of, self.symbols_of, self.count, self.trim = text_of, symbols_of, count, trim

    def signature_shown(self, c: Candidate, spans: Sequence[tuple[int, int]]) -> bool:
        """Does the diff (``spans``, new-side lines it shows) show the candidate's header?"""
        d = self.definition(c)
        text = self.text_of(c.path)
        if d is None or text is None:
            return False
        lines = text.splitlines()
        start, end = max(1, d.start_line), min(d.end_line, len(lines))
        return start <= end and _covered(skeleton.signature(lines, start, end), spans)

    def definition(self, c: Candidate) -> Definition | None:
        if c.qualified_name is None:
            return None
        a = self.symbols_of(c.path)
        found = [d for d in (a.definitions if a else ()) if d.qualified_name == c.qualified_name]
        return min(found, key=lambda d: abs(d.start_line - c.start_line)) if found else None

    def piece(self, c: Candidate, share: int, left: int, used: frozenset[str], *,
              exclude: Sequence[tuple[int, int]] = (), skeleton_only: bool = False) -> Piece | None:
        """``exclude``: lines already sent, left out of a skeleton; ``skeleton_only``: never whole."""
        budget = min(share, left)
        if budget <= 0:
            return None
        text = self.text_of(c.path)
        if text is None:
            return None
        if c.reason == "outline":
            return self._outline(c, text, min(budget, OUTLINE_TOKENS))
        d = self.definition(c)
        if d is None:
            return None if c.qualified_name is not None else self.trim(c, budget)
        lines = text.splitlines()
        start, end = max(1, d.start_line), min(d.end_line, len(lines))
        if start > end:
            return None
        body = number_lines(lines[start - 1:end], start)
        tokens = self.count(body)
        # A caller is shown as its header and the call: how the changed definition is used.
        if tokens <= budget and not skeleton_only and c.reason != "caller":
            return Piece(c.path, start, end, d.qualified_name, c.reason, tokens, body, score=c.score)
        a = self.symbols_of(c.path)
        # The changed region of an enclosing definition is in the diff beside it: its skeleton
        # carries the rest (header, docstring line, members); a caller's focus is the call.
        focus = [c.focus] if c.focus and c.reason != "enclosing" else []
        sk = skeleton.build(lines, d, a.definitions if a else (), self.count, budget, focus=focus, used=used,
                            exclude=exclude)
        if sk is None:
            return None if skeleton_only else self.trim(c, budget)
        return Piece(c.path, start, end, d.qualified_name, c.reason, sk.tokens, sk.text, "skeleton", c.score,
                     sk.ranges)

    def _outline(self, c: Candidate, text: str, budget: int) -> Piece | None:
        a = self.symbols_of(c.path)
        lines = text.splitlines()
        if a is None or not a.definitions or not lines:
            return None
        whole = Definition(c.path, c.path, "module", c.path, 1, len(lines))
        sk = skeleton.build(lines, whole, a.definitions, self.count, budget, module=True)
        if sk is None:
            return None
        return Piece(c.path, 1, len(lines), f"{c.path} outline", "outline", sk.tokens, sk.text, "skeleton",
                     c.score, sk.ranges)


def pack(ranked: Sequence[Candidate], materializer: Materializer, room: int, marker: int,
         spans: dict[str, list[tuple[int, int]]], used: frozenset[str]) -> Packed:
    share = max(MIN_SHARE, int(room * ITEM_SHARE))
    enclosing_share = max(MIN_SHARE, int(room * ENCLOSING_SHARE))
    taken: dict[str, list[tuple[int, int]]] = {}
    chosen: list[Piece] = []
    left_out: Counter[str] = Counter()
    spent = 0

    def overlapping(p: Piece) -> bool:
        return p.reason != "outline" and any(overlaps(r, taken.get(p.path, [])) for r in p.kept)

    def fits(p: Piece) -> bool:
        if overlapping(p):
            left_out["overlaps what is already sent"] += 1
            return False
        if all(_covered(r, spans.get(p.path, [])) for r in p.kept):
            left_out["already shown by the diff"] += 1
            return False
        if p.reason in ("callee", "type") and _covered((p.start_line, p.start_line), spans.get(p.path, [])):
            left_out["signature already shown by the diff"] += 1
            return False
        if spent + p.tokens + marker > room:
            left_out["no room left"] += 1
            return False
        return True

    def take(p: Piece) -> None:
        nonlocal spent
        chosen.append(p)
        if p.reason != "outline":
            taken.setdefault(p.path, []).extend(p.kept)
        spent += p.tokens + marker

    # Innermost first: a method's own text before the skeleton of its class around it.
    enclosing_left = int(room * ENCLOSING_TOTAL)
    rest: list[Candidate] = []
    for c in sorted((c for c in ranked if c.reason == "enclosing"), key=lambda c: c.end_line - c.start_line):
        budget = min(enclosing_share, max(enclosing_left, MIN_ENCLOSING))
        shown = spans.get(c.path, [])
        if materializer.signature_shown(c, shown):
            # The diff shows the header (and the docstring line: ``reviewer.plan.leads``): of a
            # function nothing more is owed, of a class its other members' signatures; the whole
            # body competes with the other candidates.
            rest.append(c)
            d = materializer.definition(c)
            # A test class's other members are other tests: their names tell a reviewer little.
            p = None if d is None or d.kind not in CLASS_KINDS or is_test_path(c.path) else materializer.piece(
                c, budget, room - spent - marker, used, exclude=[*shown, *taken.get(c.path, [])], skeleton_only=True)
        else:
            p = materializer.piece(c, budget, room - spent - marker, used)
        if p is not None and overlapping(p):
            p = materializer.piece(c, budget, room - spent - marker, used,
                                   exclude=taken.get(p.path, []), skeleton_only=True)
        if p is not None and fits(p):
            take(p)
            enclosing_left -= p.tokens + marker
    options: list[tuple[float, Candidate, Piece]] = []
    if rest and room < SMALL_ROOM:
        left_out["rest of an enclosing body skipped in a small window"] += len(rest)
        rest = []
    for c in rest:
        p = materializer.piece(c, enclosing_share, room - spent - marker, used)
        if p is not None and p.form == "full" and not overlapping(p):
            options.append((ENCLOSING_REST_SCORE / (p.tokens + 2 * marker), c, p))
    for c in [c for c in ranked if c.reason != "enclosing"][:MAX_CANDIDATES]:
        if c.score < MIN_SCORE:
            left_out["scored too low to be worth the tokens"] += 1
            continue
        if c.reason == "outline" and room < SMALL_ROOM:
            left_out["outline skipped in a small window"] += 1
            continue
        p = materializer.piece(c, share, room - spent - marker, used)
        if p is None:
            left_out["no room left" if room - spent - marker <= 0 else "too big even as a skeleton"] += 1
            continue
        options.append((c.score / (p.tokens + 2 * marker), c, p))
    options.sort(key=lambda o: (-o[0], o[1].path, o[1].start_line))
    for _, c, p in options:
        if c.reason == "enclosing":  # the rest of a body the diff shows the header of: whole or not at all
            if fits(p):
                take(p)
            continue
        if spent + p.tokens + marker > room:
            smaller = materializer.piece(c, share, room - spent - marker, used)
            if smaller is None:
                left_out["no room left"] += 1
                continue
            p = smaller
        if overlapping(p) and c.qualified_name is not None:
            # Part of it is sent already (a member the change uses): the rest as a skeleton.
            p = materializer.piece(c, share, room - spent - marker, used, exclude=taken.get(p.path, []),
                                   skeleton_only=True) or p
        if fits(p):
            take(p)
    chosen.sort(key=lambda p: (p.reason != "enclosing", -p.score, p.path, p.start_line))
    return Packed(chosen, spent, left_out)


def _covered(rng: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(s[0] <= rng[0] and rng[1] <= s[1] for s in spans)


def unused_note(packed: Packed, room: int) -> str | None:
    """Why a plan left more than a quarter of its room unused while candidates remained."""
    unused = room - packed.used
    if room <= 0 or unused <= room / 4 or not packed.left_out:
        return None
    why = "; ".join(f"{n} {reason}" for reason, n in packed.left_out.most_common())
    return f"{unused} of {room} context tokens left unused while candidates remained: {why}"


def shorten(text: str, max_tokens: int, count: Callable[[str], int]) -> tuple[str, int | None] | None:
    """``text`` (numbered lines) without its last lines, within ``max_tokens``: (text, number of
    its new last line, None when that line is a gap). None when less than half would be left."""
    lines = text.split("\n")
    keep = len(lines)
    while keep > 1 and count("\n".join(lines[:keep])) > max_tokens:
        keep -= 1
    if keep < max(1, len(lines) // 2) or count("\n".join(lines[:keep])) > max_tokens:
        return None
    head = lines[keep - 1].split(maxsplit=1)
    return "\n".join(lines[:keep]), int(head[0]) if head and head[0].isdigit() else None
