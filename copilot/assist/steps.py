"""Pick concrete steps (list items with their sub-items, checks, commands, queries) out of
runbook passages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.assist.blocks import (
    INLINE_CODE,
    PROMPT,
    Block,
    all_commands,
    as_runnable,
    blocks,
    commands_in,
    empty_command,
    flat,
    looks_like_output,
    looks_like_query,
)
from copilot.assist.sentences import (
    IGNORABLE,
    IMPERATIVE,
    OTHERWISE,
    SAYS_WHAT_IT_SHOWS,
    conditional_order,
    is_step_sentence,
    link_text,
    names_a_cause,
    needs_what_went_before,
    qualifies,
)
from copilot.guardrails.risk import requires_approval
from copilot.knowledge.links import opens_with_link
from copilot.knowledge.passages import PHASE_ORDER, Passage, split_sentences

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|<?https?://\S+>?")

MAX_STEP_CHARS = 600
# The text of a step that is only a code block with no sentence to introduce it.
_RUN = "Run:"


@dataclass
class Candidate:
    text: str
    command: str | None
    phase: str
    passage: Passage
    position: int
    relevance: float = 0.0
    done_by: str | None = None
    # The section its command was taken from, when not its own ("the query detailed above").
    command_from: Passage | None = None
    # The condition its list is under ("If you suspect thermal throttling:"): shown with it,
    # not counted in what it does (its relevance, whether it was done).
    condition: str = ""

    @property
    def shown(self) -> str:
        """What a responder reads: the step, after the condition it is for."""
        return _cut(f"{self.condition} {self.text}") if self.condition else self.text

    @property
    def cites(self) -> list[str]:
        """The passages a reader checks it against: its own, and where its command is written."""
        return [self.passage.id] + ([self.command_from.id] if self.command_from else [])

    @property
    def caution(self) -> bool:
        """It says what not to do: read, never run, approved or done."""
        return forbids(self.text)

    @property
    def requires_approval(self) -> bool:
        return not self.caution and requires_approval(self.text, self.command)


def _cut(text: str) -> str:
    if len(text) <= MAX_STEP_CHARS:
        return text
    # Words before addresses: a long step keeps what it says and loses its links' targets.
    text = link_text(text)
    if len(text) <= MAX_STEP_CHARS:
        return text
    cut = text[:MAX_STEP_CHARS]
    return cut[: cut.rfind(" ")] + " …" if " " in cut else cut


def _only_links(text: str) -> bool:
    """A step that is a pointer and nothing else: "[1](https://...)", "See [KubeNode](...)"."""
    rest = _LINK.sub(" ", text)
    rest = re.sub(r"^\W*(?:see(?: also)?|more|docs?|details?)\b", " ", rest.strip(), flags=re.I)
    return not re.search(r"[A-Za-z]{3,}", rest)


_NUMBERED = re.compile(r"^(?:step\s+)?\d+[.):]?\s+", re.IGNORECASE)
# "And edit ...": the sentence goes on with the order before it ("And then ..." is the next one).
_GOES_ON = re.compile(r"^and\s+(?!then\b)", re.IGNORECASE)
_POSED = re.compile(r"^(?:if|when|whenever|in case|once|unless)\b[^:]{3,150}:$", re.IGNORECASE)


def _condition_over(parts: list[Block], i: int) -> str:
    """The condition that introduces the list item `i` belongs to ("If you suspect thermal
    throttling:"), when it is said alone, not as an order of its own; "" if none."""
    j = i - 1
    while j >= 0 and parts[j].kind in ("item", "code"):
        j -= 1
    if j < 0:
        return ""
    last = _last_sentence(parts[j])
    if not _POSED.match(last) or conditional_order(last) or commands_in(last):
        return ""
    return last


def _is_pointer(text: str) -> bool:
    """A text that is links and nothing else ("[Troubleshooting latency](https://...)")."""
    return _only_links(text) and bool(_LINK.search(text))


# An item of a list of tools or pages that names one and does not say what to do with it:
# "yq (notice there is python and golang versions)" under "... testing tools such as:".
_NAME_WORDS = 8
_ASIDE_IN_BRACKETS = re.compile(r"\([^()]*\)")


def _links_listed(parts: list[Block], i: int) -> list[tuple[int, str]]:
    """The items right after block `i` when they name what to read or use: every one is only a
    link ("- [Troubleshooting latency](https://...)"), or half or more are and the others are short
    names, not orders ("- yq (notice there is python and golang versions)"); with their block
    indexes, as written. None if any item says more."""
    listed: list[tuple[int, str]] = []
    links = 0
    for j in range(i + 1, len(parts)):
        block = parts[j]
        if block.kind != "item":
            break
        text = _item_text(block)
        if block.code or block.subs:
            return []
        if _is_pointer(text):
            links += 1
        elif len(_ASIDE_IN_BRACKETS.sub("", text).split()) > _NAME_WORDS or is_step_sentence(
            text, commands_in(text)
        ):
            return []
        listed.append((j, text.rstrip(" .;")))
    return listed if links * 2 >= len(listed) else []


def _item_text(block: Block) -> str:
    head = flat(" ".join(block.head))
    subs = [s for s in block.subs if s]
    if subs:
        joined = "; ".join(s.rstrip(".;") for s in subs)
        head = f"{head.rstrip()} {joined}." if head.endswith(":") else f"{head} ({joined})"
    return _cut(head)


_CASES_HEADING = re.compile(
    r"^(?:cases|situations|circumstances|exceptions|caveats)\b", re.IGNORECASE
)


def _last_sentence(block: Block) -> str:
    """The last sentence of a paragraph ("" for any other block)."""
    if block.kind != "para":
        return ""
    sentences = split_sentences(flat(" ".join(block.head)))
    return sentences[-1] if sentences else ""


def extract(passage: Passage) -> list[Candidate]:
    """Concrete steps of one action section, in document order."""
    if passage.chunk.kind != "runbook":
        return []
    phase = passage.phase
    if phase is None:
        return _causes(passage)
    out: list[Candidate] = []
    parts = blocks(passage.text)
    # The items under "Cases that need IC approval" or "Exceptions" name cases, not steps.
    heading = passage.chunk.section.rsplit(">", 1)[-1].strip()
    cases = bool(_CASES_HEADING.match(heading))
    # A heading that is itself an order ("2. Roll back", "Freeze further deploys").
    heading = _NUMBERED.sub("", heading)
    order_heading = heading if IMPERATIVE.match(heading) else ""
    # Items read with the sentence that introduces them as a list of tools or pages.
    named_under: set[int] = set()
    for i, block in enumerate(parts):
        if block.kind == "code":
            if not block.code or looks_like_output(block.code[0]):
                continue
            # A code block belongs to the step that introduces it, if that step has no command.
            code = as_runnable(block.code[0])
            if out and out[-1].command is None and out[-1].position == i - 1:
                out[-1].command = code
                # "Open a shell on the node ... Note that you might also need to install
                # additional software in the debug container:": the sentence that introduces
                # the block is read with the step that takes it.
                intro = _last_sentence(parts[i - 1])
                if intro.endswith(":") and intro not in out[-1].text:
                    out[-1].text = _cut(f"{out[-1].text} {intro}")
                continue
            intro = _last_sentence(parts[i - 1]) if i else ""
            if intro and order_heading and not is_step_sentence(intro, []):
                # Under "### 2. Roll back", "Preferred, handles both clusters and the canary:"
                # says which way, not what to do: the heading says that.
                intro = f"{order_heading}: {intro}"
            out.append(Candidate(_cut(intro) or _RUN, code, phase, passage, i))
            continue
        if block.kind == "item":
            if i in named_under:
                continue  # read with the sentence that lists it
            text = _item_text(block)
            if not text.strip(" :"):
                continue
            runnable = [c for c in block.code if not looks_like_output(c)]
            if any(PROMPT.search(c) for c in runnable):
                # Beside blocks of prompts, a block without one is what they print.
                runnable = [as_runnable(c) for c in runnable if PROMPT.search(c) or all_commands(c)]
            command = "\n".join(runnable) if runnable else None
            if command is None:
                codes = commands_in(" ".join(block.head)) or commands_in(" ".join(block.subs))
                command = codes[0] if codes else None
            if text.endswith(":") and command is None and not block.subs:
                following = parts[i + 1] if i + 1 < len(parts) else None
                if not (
                    following is not None
                    and following.kind == "code"
                    and following.code
                    and not looks_like_output(following.code[0])
                ):
                    continue  # an introduction whose content is elsewhere
                # "1. Clean up unused PVCs that were created from snapshots:" over a code block
                # written at the margin: the block is this item's command (taken below), and
                # the item says what it does.
            if cases and not is_step_sentence(text, []):
                continue  # "Cases that need IC approval: - Rolling back past a migration."
            # "If you suspect thermal throttling:" over "- Check system cooling.": the item is
            # read with the case it is for, wherever the answer shows it.
            condition = _condition_over(parts, i)
            out.append(Candidate(text, command, phase, passage, i, condition=condition))
            continue
        if block.kind == "row":
            cells = [c.strip() for c in block.head[0].strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            codes = commands_in(block.head[0])
            row = " — ".join(c for c in cells if c)
            if codes or IMPERATIVE.match(cells[-1] if cells else ""):
                out.append(Candidate(_cut(row), codes[0] if codes else None, phase, passage, i))
            continue
        # A paragraph: each sentence that runs, queries or names a check is a step.
        previous = ""  # the sentence before, and the step it became
        last: Candidate | None = None
        sentences = split_sentences(flat(" ".join(block.head)))
        for number, sentence in enumerate(sentences, 1):
            codes = commands_in(sentence)
            said, previous = previous, sentence
            step, last = last, None
            if (
                step is not None
                and step.command is None
                and codes
                and not INLINE_CODE.sub("", sentence).strip(" .:;")
            ):
                # "Run the following command for each monitor. `ceph tell mon.ID mon_status`":
                # a command alone on its line is the command of the order before it.
                step.command = codes[0]
                last = step
                continue
            if (
                number == 1
                and i > 0
                and _GOES_ON.match(sentence)
                and parts[i - 1].kind == "code"
                and out
                and out[-1].command is not None
                and out[-1].position >= i - 2
            ):
                # "To resize the volume run: `kubectl edit pvc <my-pvc>`" over "And edit
                # `.spec.resources.requests.storage` to the new desired storage size.": the
                # paragraph under a step's command goes on with that step.
                said = out[-1].text
                if said.endswith(":"):
                    said = f"{said[:-1].rstrip()} the command below,"
                out[-1].text = _cut(f"{said} {sentence[0].lower()}{sentence[1:]}")
                last = out[-1]
                continue
            # A sentence that opens with a link to another page ("[gather_logs](helpers/
            # gatherLogs.md) to provide more information to support teams") is the procedure to
            # follow there.
            if not (is_step_sentence(sentence, codes) or opens_with_link(sentence)):
                if step is not None and (
                    SAYS_WHAT_IT_SHOWS.match(sentence)
                    or (number == len(sentences) and qualifies(sentence))
                ):
                    # "Select the etcd dashboard. There are both leader elections and disk
                    # sync panels ...": what the step shows is read with it; so is a short
                    # remark that ends its paragraph ("... more CPU limits. Requests can stay
                    # the same.").
                    step.text = _cut(f"{step.text} {sentence}")
                    last = step
                continue
            if step is not None and needs_what_went_before(sentence):
                # "`lark deploy unfreeze --scope all` once the IC agrees the incident is
                # mitigated. Note it in `#inc-<id>`.", "Update certificates on every node. Refer to
                # the documentation of the tool used to create the cluster.": an order about the
                # step before it, or where to read how to do it, is part of that step.
                step.text = _cut(f"{step.text} {sentence}")
                step.command = step.command or (codes[0] if codes else None)
                last = step
                continue
            if said and OTHERWISE.match(sentence):
                # "Otherwise, ..." is read with the case it is the other branch of: joined to
                # that sentence's step, or to the sentence itself when it was not one.
                if step is not None and step.command is None:
                    step.text = _cut(f"{said} {sentence}")
                    step.command = codes[0] if codes else None
                    last = step
                    continue
                sentence = f"{said} {sentence}"
            elif said and step is None and needs_what_went_before(sentence):
                # "Some storage solutions support volume expansion. Follow the [documentation]
                # for details.": what to look up there is the sentence before; "... might be
                # configured as read-only. Ensure it's writable.": so is what "it" is.
                sentence = f"{said} {sentence}"
            ends_list = sentence.endswith(":") and not codes and number == len(sentences)
            listed = _links_listed(parts, i) if ends_list else []
            named_under.update(j for j, _ in listed)
            pointers = [text for _, text in listed]
            if pointers:
                # "For mitigation strategies and solutions, refer to:" over a list of links
                # only: the links are what it says to read, and are not steps one by one.
                last = Candidate(_cut(f"{sentence} {'; '.join(pointers)}"), None, phase, passage, i)
                out.append(last)
                continue
            if sentence.endswith(":") and not codes and not conditional_order(sentence):
                continue  # introduces a code block: that block's step carries it
            last = Candidate(_cut(sentence), codes[0] if codes else None, phase, passage, i)
            out.append(last)
    return _tidy(out) or _pointers_only(passage, parts, phase) or _what_to_look_for(passage, parts)


def _pointers_only(passage: Passage, parts: list[Block], phase: str) -> list[Candidate]:
    """An action section that is nothing but links ("## Mitigation" over "[Restore Ceph Mon
    Quorum Lost](https://...)"): where to read the procedure is its one step."""
    texts = [flat(" ".join(b.head)) for b in parts if b.kind in ("para", "item")]
    if not texts or not all(_is_pointer(t) for t in texts):
        return []
    if any(b.kind == "code" or b.code for b in parts):
        return []
    pointers = "; ".join(t.rstrip(" .;") for t in texts)
    return [Candidate(_cut(pointers), None, phase, passage, 0)]


# A diagnosis of a line or two that orders nothing ("## Diagnosis" over "Usually exhausted IOPS for
# node storage."): what to look for is all the runbook says there, and it is read as one step
# rather than dropped.
_LOOK_FOR_WORDS = 40


def _what_to_look_for(passage: Passage, parts: list[Block]) -> list[Candidate]:
    if passage.phase != "diagnose" or any(b.kind != "para" or b.code for b in parts):
        return []
    text = flat(" ".join(" ".join(b.head) for b in parts))
    if not text or len(text.split()) > _LOOK_FOR_WORDS or _only_links(text):
        return []
    return [Candidate(_cut(text), None, "diagnose", passage, 0)]


# "... or by running the query detailed above": a step that runs what an earlier section shows.
_ABOVE = re.compile(
    r"\b(?:query|command|expression)\s+(?:\w+\s+)?above\b|\babove\s+(?:query|command)\b", re.I
)


def _code_before(
    passages: list[Passage], source: str, ordinal: int, position: int
) -> tuple[str, Passage] | None:
    """The last query or command written before a place in a document, in any section, and
    the section that shows it."""
    found = None
    for p in sorted(passages, key=lambda p: p.chunk.ordinal):
        if p.chunk.source != source or p.chunk.ordinal > ordinal:
            continue
        for i, block in enumerate(blocks(p.text)):
            if p.chunk.ordinal == ordinal and i >= position:
                break
            code = block.code[0] if block.code else ""
            if code and (looks_like_query(code) or all_commands(code)):
                found = (as_runnable(code), p)
    return found


def point_above(candidates: list[Candidate], passages: list[Passage]) -> list[Candidate]:
    """A step that says to run the query (or command) above gets that query, from whichever
    section of its document showed it."""
    for cand in candidates:
        if cand.command is None and _ABOVE.search(cand.text):
            chunk = cand.passage.chunk
            found = _code_before(passages, chunk.source, chunk.ordinal, cand.position)
            if found is not None:
                cand.command, cand.command_from = found
    return candidates


# A step that forbids something ("Never run `FLUSHALL` ...", "Do not delete the pods ..."): its
# words are worth reading, as a caution; the command it names is what not to run, never one to
# copy, and not one that waits for approval. "Never mind" and "do not hesitate" forbid nothing.
_FORBIDS = re.compile(
    r"^[\W_]*(?:never(?!\s+mind\b)|do\s+not|don't|must\s+not)\b(?!\s+hesitate\b)",
    re.IGNORECASE,
)


def forbids(text: str) -> bool:
    """Whether a step is a caution: it says what not to do."""
    return bool(_FORBIDS.match(text))


def _tidy(candidates: list[Candidate]) -> list[Candidate]:
    """Drop pointers that are only a link, commands that are only a comment, and the command of
    a step that forbids it."""
    out = []
    for cand in candidates:
        if cand.command is not None and cand.caution:
            cand.command = None
        if cand.command is not None and empty_command(cand.command):
            cand.command = None
            if cand.text == _RUN:
                continue
        if cand.command is None and _only_links(cand.text) and not opens_with_link(cand.text):
            continue
        out.append(cand)
    return out


def _causes(passage: Passage) -> list[Candidate]:
    """The causes a section that is not an action section names in prose (an alert's meaning:
    "a common cause could be ..."), and a note that the alert can be ignored: each is a check
    to make first."""
    out = []
    for i, block in enumerate(blocks(passage.text)):
        if block.kind != "para":
            continue
        said = ""
        for sentence in split_sentences(flat(" ".join(block.head))):
            before, said = said, sentence
            if IGNORABLE.search(sentence):
                # "This alert is deprecated. You can safely ignore or silence it.": the first
                # thing to know, read with why.
                sentence = f"{before} {sentence}".strip()
            elif not names_a_cause(sentence):
                continue
            codes = commands_in(sentence)
            out.append(
                Candidate(_cut(sentence), codes[0] if codes else None, "diagnose", passage, i)
            )
    return out


def order(candidates: list[Candidate]) -> list[Candidate]:
    """Diagnose before mitigate, then verify and escalate; safe before disruptive in each.

    A long section is stored in parts of the same name: they rank as their best part, so the
    runbook's own order holds across them (its step 3 is not shown before its step 1 because
    the part holding step 3 matched the question better)."""
    best: dict[tuple[str, str], float] = {}
    for c in candidates:
        part = (c.passage.chunk.source, c.passage.chunk.section)
        best[part] = max(best.get(part, c.passage.score), c.passage.score)
    return sorted(
        candidates,
        key=lambda c: (
            PHASE_ORDER.get(c.phase, 9),
            c.requires_approval,
            -best[(c.passage.chunk.source, c.passage.chunk.section)],
            c.passage.chunk.ordinal,
            c.position,
        ),
    )


def normalise(text: str) -> str:
    return " ".join(text.lower().split())
