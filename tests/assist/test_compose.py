from __future__ import annotations

from copilot.assist.compose import CHECKS_KEPT, FIXES_KEPT, AskContext, ExtractiveComposer
from copilot.knowledge.models import Chunk
from copilot.knowledge.passages import Passage, make_passage
from tests.conftest import a_chunk


def _passage(
    source: str, ordinal: int, text: str, *, score: float, index: int, title: str = ""
) -> Passage:
    chunk = a_chunk(
        text,
        source=source,
        ordinal=ordinal,
        title=title or source,
        lines=(1, 1 + len(text.splitlines())),
    )
    return make_passage(index, chunk, score=score, similarity=0.8)


def _mitigation(source: str, ordinal: int, steps: list[str], score: float, index: int) -> Passage:
    text = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return _passage(source, ordinal, text, score=score, index=index)


def test_the_best_runbook_fills_a_phase_before_a_second_one() -> None:
    """A runbook close behind the best adds steps only where the best has room left: its safe
    steps do not push out the best runbook's own steps that need approval."""
    best = [
        'Pause the archiver: `kubectl -n orders patch cronjob archiver -p \'{"spec":{"suspend":true}}\'`',
        "Drain the queue: `kubectl -n orders scale deploy/worker --replicas=8`",
        "Terminate stuck sessions: `kubectl -n orders delete pod -l app=pool --force`",
    ]
    second = [f"Shift traffic step {n}: `lark flags set shift.{n} --value 1`" for n in range(5)]
    passages = [
        _mitigation("best.md", 1, best, 1.3, 1),
        _mitigation("second.md", 1, second, 1.1, 2),
    ]
    draft = ExtractiveComposer().compose(AskContext(question="q", passages=passages, max_steps=5))
    cited = [(step.citations[0], step.command) for step in draft.steps]
    best_commands = [c for p, c in cited if p == "P1"]
    # All three of the best runbook's steps, the one needing approval included, then two of the
    # second runbook's to fill the answer's five; the answer says three more exist.
    assert len(best_commands) == 3
    assert any("--force" in (c or "") for c in best_commands)
    assert sum(p == "P2" for p, _ in cited) == 2
    assert draft.more == 3 and "3 more step(s)" in draft.answer
    # With room for all of them, nothing is cut by position.
    roomy = ExtractiveComposer().compose(AskContext(question="q", passages=passages, max_steps=10))
    assert len(roomy.steps) == 8 and roomy.more == 0


def test_an_answer_of_mitigation_steps_only_does_not_start_its_order_with_then() -> None:
    passages = [_mitigation("best.md", 1, ["Restart the kiln: `kilnctl restart k1`"], 1.0, 1)]
    draft = ExtractiveComposer().compose(AskContext(question="q", passages=passages))
    assert "Suggested order: 1 mitigation step(s)." in draft.answer


def test_the_step_for_the_case_the_question_names_leads_its_phase() -> None:
    steps = [
        "**Heat loss through the door seals:** replace the worn seals on the oven line.",
        "**Loaves burning after a recipe push:** roll back the recipe "
        "(`kiln recipes rollback --to previous`).",
        "**One bad oven:** take it out of the rotation.",
    ]
    passages = [_mitigation("kiln/burning-loaves.md", 1, steps, 1.0, 1)]

    def order(question: str) -> list[str]:
        draft = ExtractiveComposer().compose(AskContext(question=question, passages=passages))
        return [step.text.split(":**")[0].strip("*") for step in draft.steps]

    # The recipe rollback needs approval, so it would come after the safe steps; the question
    # names its case ("after the recipe push"), so it leads.
    assert order("loaves burning after the recipe push") == [
        "Loaves burning after a recipe push",
        "Heat loss through the door seals",
        "One bad oven",
    ]
    # A word the runbook's title carries ("burning") names no case: every step is about it.
    assert order("burning")[0] == "Heat loss through the door seals"


def _section(source: str, section: str, steps: list[str], index: int) -> Passage:
    passage = _mitigation(source, index, steps, 1.2, index)
    chunk = passage.chunk
    return make_passage(
        index,
        Chunk(**{**chunk.__dict__, "section": section, "id": f"{source}#{section}"}),
        score=1.2,
        similarity=0.8,
    )


def test_a_fix_question_still_gets_the_best_runbooks_first_checks() -> None:
    """ "How do I unstick it" ranks mitigation first; the checks that tell which fix applies keep
    CHECKS_KEPT places, so the answer does not open with a force-delete nobody confirmed."""
    checks = [f"Check kiln {n} with `kilnctl status k{n}`" for n in range(1, 5)]
    fixes = [f"Restart the kiln element {n} with `kilnctl element restart e{n}`" for n in range(10)]
    passages = [
        _section("kiln/stuck.md", "Diagnosis", checks, 1),
        _section("kiln/stuck.md", "Mitigation", fixes, 2),
    ]
    ctx = AskContext(question="kiln stuck, how do I unstick it", passages=passages, intent="fix")
    draft = ExtractiveComposer().compose(ctx)
    texts = [step.text for step in draft.steps]
    assert len(texts) == ctx.max_steps
    assert [t for t in texts if t.startswith("Check")] == checks[:CHECKS_KEPT]
    # The checks come first, as the order of an answer says.
    assert all(t.startswith("Check") for t in texts[:CHECKS_KEPT])
    assert "3 check(s) first" in draft.answer


def test_a_long_diagnosis_leaves_room_for_the_best_runbooks_first_fix() -> None:
    """ "What do I check" ranks every check alike; a Diagnosis longer than the cap no longer
    fills the answer on its own: the best runbook's most relevant fix keeps FIXES_KEPT places."""
    checks = [f"Check kiln {n} with `kilnctl status k{n}`" for n in range(1, 13)]
    fixes = ["Restart the affected kiln controller: `kilnctl controller restart`"]
    passages = [
        _section("kiln/stuck.md", "Diagnosis", checks, 1),
        _section("kiln/stuck.md", "Mitigation", fixes, 2),
    ]
    ctx = AskContext(question="kiln stuck, what do I check", passages=passages)
    draft = ExtractiveComposer().compose(ctx)
    texts = [step.text for step in draft.steps]
    assert len(texts) == ctx.max_steps
    assert sum(t.startswith("Restart") for t in texts) == FIXES_KEPT
    # Checks first, then the fix, as the order of an answer says; the rest are counted.
    assert texts[-1].startswith("Restart")
    assert draft.more == len(checks) + len(fixes) - ctx.max_steps


def test_a_step_under_a_condition_is_shown_with_it_and_leads_when_the_question_names_it() -> None:
    text = (
        "Restart the kiln controller.\n\n"
        "If you suspect thermal throttling:\n\n"
        "- Check the cooling fans.\n\n"
        "If the element is cracked:\n\n"
        "- Replace the element.\n"
    )
    passages = [_passage("kiln.md", 1, text, score=1.0, index=1, title="Kiln Overheating")]
    draft = ExtractiveComposer().compose(
        AskContext(question="kiln hot, i suspect thermal throttling", passages=passages)
    )
    shown = [step.text for step in draft.steps]
    assert shown[0] == "If you suspect thermal throttling: Check the cooling fans."
    assert "If the element is cracked: Replace the element." in shown


def test_a_section_split_in_two_is_read_in_its_own_order() -> None:
    """A long section is stored as two sections of the same name; the second half can match the
    question better, but its steps come after the first half's, as the runbook numbers them."""
    first = _mitigation(
        "kiln.md",
        1,
        [
            "Check the oven's status: `kilnctl status k1`",
            "Read the controller log: `kilnctl logs k1`",
        ],
        0.6,
        2,
    )
    second = _mitigation(
        "kiln.md",
        2,
        [
            "Set the thermostat back: `kilnctl thermostat set k1 200`",
            "Resume batches: `kilnctl resume k1`",
        ],
        1.2,
        1,
    )
    draft = ExtractiveComposer().compose(
        AskContext(question="oven thermostat", passages=[second, first])
    )
    commands = [step.command for step in draft.steps]
    assert commands == [
        "kilnctl status k1",
        "kilnctl logs k1",
        "kilnctl thermostat set k1 200",
        "kilnctl resume k1",
    ]
