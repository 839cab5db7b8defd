"""Skeletons of big definitions, the order of what is reviewed, and the notes on unused room,
through the planner on real git repositories."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from index.symbols import parse_symbols
from reviewer.api import ReviewRequest, open_session
from reviewer.plan.packing import Packed, unused_note
from reviewer.plan.records import Batch
from reviewer.plan.tokens import EstimateCounter
from tests.conftest import make_repo
from tests.helpers import ScriptedBackend
from tests.reviewer.test_plan import plan_for

BIG = "class Big:\n    \"\"\"A class far too big to send whole.\n\n    More words.\n    \"\"\"\n\n" + "".join(
    f"    def method_{i}(self, x):\n" + "".join(f"        x = x + {i} * {j}  # step {j}\n" for j in range(12))
    + "        return x\n\n" for i in range(40))


def test_big_class_is_sent_as_skeleton_with_the_used_method_in_full(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"lib/big.py": BIG, "app.py": "from lib.big import Big\n\n\ndef run():\n"
                                                                   "    return 0\n"})
    (root / "app.py").write_text("from lib.big import Big\n\n\ndef run():\n    return Big().method_7(1)\n")
    plan = plan_for(root, [], num_ctx=4096)
    items = {c.symbol: c for b in plan.batches for c in b.context}
    method = items.get("lib.big.Big.method_7")
    big = items.get("lib.big.Big")
    assert big is not None and big.form == "skeleton", items
    assert big.to_json()["form"] == "skeleton"
    lines = BIG.splitlines()
    sent = {n for s, e in big.to_json()["shown"] for n in range(s, e + 1)}
    assert sent and all(f"{n:>6}   {lines[n - 1]}" in big.text for n in sent)
    body_30 = next(n for n, t in enumerate(lines, 1) if "x = x + 30 * 5" in t)
    assert body_30 not in sent and big.start_line in sent
    assert big.tokens == EstimateCounter().count(big.text)
    assert "class Big:" in big.text and "A class far too big" in big.text
    assert "def method_30(self, x):" in big.text and "x = x + 30 * 5" not in big.text  # signature only
    shown = big.text if method is None else big.text + method.text
    assert "x = x + 7 * 11" in shown  # the method the change uses, in full
    whole = EstimateCounter().count(BIG)
    assert big.tokens < whole / 3


def test_enclosing_definition_too_big_shows_its_header_above_the_changed_region(tmp_path: Path) -> None:
    body = "".join(f"    v{i} = compute({i})\n" for i in range(400))
    src = f"def compute(x):\n    return x\n\n\ndef huge():\n    \"\"\"Does a lot.\"\"\"\n{body}    return v0\n"
    root = make_repo(tmp_path / "r", {"m.py": src})
    (root / "m.py").write_text(src.replace("    v200 = compute(200)\n", "    v200 = compute(200) + 1\n"))
    plan = plan_for(root, [], num_ctx=2048)
    (batch,) = plan.batches
    # The diff shows the header and the docstring line above the hunk, as unchanged lines, with
    # a gap before the hunk's own lines; no body line and no context item of its own.
    diff = batch.files[0].text
    assert "     5   def huge():\n     6       \"\"\"Does a lot.\"\"\"\n   ...\n   204       v197" in diff
    assert "v100 = compute(100)" not in batch.user
    assert not [c for c in batch.context if c.reason == "enclosing"]
    (lead,) = batch.leads  # the plan's record of those lines, what they show and cost
    assert lead.to_json()["shown"] == [[5, 6]] and lead.form == "lead" and 0 < lead.tokens < 30
    assert lead.text in diff
    assert 207 in batch.files[0].added and "v200 = compute(200) + 1" in batch.user


def _class_body_change(tmp_path: Path, path: str, cls: str, method: str) -> Batch:
    """A class of twelve long methods whose body line ``size = 1`` becomes ``size = 2``: the one batch."""
    body = "".join(f"        y = {j}\n" for j in range(30)) + "        return y\n\n"
    methods = "".join(f"    def {method}{i}(self):\n" + body for i in range(12))
    src = f"class {cls}:\n    \"\"\"A box.\"\"\"\n\n    size = 1\n\n{methods}"
    root = make_repo(tmp_path / "r", {path: src})
    (root / path).write_text(src.replace("    size = 1\n", "    size = 2\n"))
    (batch,) = plan_for(root, [], num_ctx=4096).batches
    return batch


def test_a_class_body_change_keeps_the_other_members_signatures(tmp_path: Path) -> None:
    batch = _class_body_change(tmp_path, "box.py", "Box", "m")
    enclosing = [c for c in batch.context if c.reason == "enclosing"]
    assert len(enclosing) == 1 and enclosing[0].form == "skeleton"
    assert "def m11(self):" in enclosing[0].text and "y = 5" not in enclosing[0].text
    assert "class Box:" not in enclosing[0].text  # the diff shows the header already


def test_a_test_class_body_change_does_not_list_the_other_tests(tmp_path: Path) -> None:
    batch = _class_body_change(tmp_path, "tests/test_box.py", "TestBox", "test_m")
    # The same change in a source file keeps the members' signatures (the test above).
    assert not [c for c in batch.context if c.reason == "enclosing"], batch.context
    assert "class TestBox:" in batch.user  # the diff shows the header


def test_a_small_window_gets_no_outline_and_no_rest_of_a_body() -> None:
    from reviewer.plan.candidate import Candidate
    from reviewer.plan.packing import SMALL_ROOM, Materializer, pack

    src = "def small(a, b):\n" + "".join(f"    a = a + {i}\n" for i in range(10)) + "    return a\n"
    src += "".join(f"\n\ndef f{i}(x):\n    return x + {i}\n" for i in range(150))
    count = EstimateCounter().count
    analysis = parse_symbols("m.py", src)
    mat = Materializer(lambda p: src, lambda p: analysis, count, lambda c, n: None)
    enclosing = Candidate("m.py", "enclosing", 100.0, "m.small", 1, 12, (3, 3))
    outline = Candidate("m.py", "outline", 30.0, None, 1, src.count("\n"))
    spans = {"m.py": [(1, 6)]}  # the hunk shows the header and the changed line 3
    roomy = pack([enclosing, outline], mat, SMALL_ROOM, 40, spans, frozenset())
    assert sorted(p.reason for p in roomy.pieces) == ["enclosing", "outline"]
    tight = pack([enclosing, outline], mat, SMALL_ROOM - 1, 40, spans, frozenset())
    assert tight.pieces == [] and tight.left_out["outline skipped in a small window"] == 1
    assert tight.left_out["rest of an enclosing body skipped in a small window"] == 1
    assert "skipped in a small window" in (unused_note(tight, SMALL_ROOM - 1) or "")


def test_documentation_waits_unless_asked_for(tmp_path: Path) -> None:
    files = {"README.md": "# Title\n", "docs/guide.rst": "Guide\n=====\n", "a.py": "x = 1\n",
             "tests/test_a.py": "def test_a():\n    assert True\n"}
    root = make_repo(tmp_path / "r", files)
    for rel, text in files.items():
        (root / rel).write_text(text + ("more\n" if not rel.endswith(".py") else "y = 2\n"))
    plan = plan_for(root, [])
    planned = [f.path for b in plan.batches for f in b.files]
    assert planned == ["a.py", "tests/test_a.py"]  # source first, then tests
    why = {s.path: s.why for s in plan.skipped}
    assert set(why) == {"README.md", "docs/guide.rst"} and "--include-docs" in why["README.md"]
    both = plan_for(root, [], include_docs=True)
    assert {f.path for b in both.batches for f in b.files} == set(files)
    assert not both.skipped


def test_only_documentation_changed_is_reviewed(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"README.md": "# Title\n", "a.py": "x = 1\n"})
    (root / "README.md").write_text("# Title\n\nNew words.\n")
    plan = plan_for(root, [])
    assert [f.path for b in plan.batches for f in b.files] == ["README.md"] and not plan.skipped


def test_unused_room_is_explained_only_when_candidates_remain() -> None:
    left = Counter({"scored too low to be worth the tokens": 3})
    note = unused_note(Packed([], 100, left), 1000)
    assert note is not None and "900 of 1000" in note and "3 scored too low" in note
    assert unused_note(Packed([], 100, Counter()), 1000) is None
    assert unused_note(Packed([], 800, left), 1000) is None


def test_unused_room_is_a_plan_note_not_a_review_warning(tmp_path: Path) -> None:
    """The hook printed "warning: 5694 of 5694 context tokens left unused" on a commit to a
    two-file repository: nothing was wrong, there was just nothing worth sending."""
    root = make_repo(tmp_path / "r", {"app.py": "import pickle\n\n\ndef load(b):\n    return b\n"})
    (root / "app.py").write_text("import pickle\n\n\ndef load(b):\n    return pickle.loads(b)\n")
    plan = plan_for(root, [])
    assert any("left unused" in n for n in plan.to_json()["notes"]), plan.to_json()["notes"]
    result = open_session(ReviewRequest(cwd=root, backend_factory=lambda _c: ScriptedBackend())).review()
    assert result.stats.warnings and not any("left unused" in w for w in result.stats.warnings)


def test_an_item_a_few_tokens_over_loses_its_last_lines() -> None:
    from reviewer.plan.packing import shorten
    from reviewer.plan.prompt import number_lines

    count = EstimateCounter().count
    text = number_lines([f"x{i} = {i} * {i}" for i in range(20)], 10)
    cut = shorten(text, count(text) - 10, count)
    assert cut is not None and cut[1] is not None and 20 <= cut[1] < 29
    assert cut[0].endswith(f"x{cut[1] - 10} = {cut[1] - 10} * {cut[1] - 10}") and count(cut[0]) <= count(text) - 10
    assert shorten(text, count(text) // 4, count) is None  # most of it would go: drop it instead


def test_a_body_whose_header_the_diff_shows_is_ordinary_context() -> None:
    from reviewer.plan.candidate import Candidate
    from reviewer.plan.packing import ENCLOSING_REST_SCORE, MIN_SCORE, Materializer, pack

    src = "def small(a, b):\n" + "".join(f"    a = a + {i}\n" for i in range(10)) + "    return a\n"
    src += "\n\ndef helper():\n    return 1\n"
    count = EstimateCounter().count
    analysis = parse_symbols("m.py", src)
    mat = Materializer(lambda p: src, lambda p: analysis, count, lambda c, n: None)
    enclosing = Candidate("m.py", "enclosing", 100.0, "m.small", 1, 12, (3, 3))
    callee = Candidate("m.py", "callee", 60.0, "m.helper", 15, 16)
    spans = {"m.py": [(1, 6)]}  # the hunk shows the header and the changed line 3
    assert ENCLOSING_REST_SCORE > MIN_SCORE
    roomy = pack([enclosing, callee], mat, 2000, 40, spans, frozenset())
    assert [(p.reason, p.form) for p in roomy.pieces] == [("enclosing", "full"), ("callee", "full")]
    # No room for both: the definition the change uses wins; the body is not owed.
    tight = pack([enclosing, callee], mat, count("\n".join(src.splitlines()[14:16])) + 60, 40, spans, frozenset())
    assert [p.reason for p in tight.pieces] == ["callee"]
