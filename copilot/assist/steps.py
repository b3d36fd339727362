"""Pick concrete steps (list items with their sub-items, checks, commands, queries) out of
runbook passages, and decide which the timeline already records as done."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from copilot.guardrails.risk import requires_approval
from copilot.knowledge.passages import PHASE_ORDER, Passage, split_sentences
from copilot.promql import holds_query

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
_FENCE_LINE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_SQL = re.compile(r"^(?:select|show|explain|update|delete|insert|alter|vacuum|analyze)\b", re.I)
_CLI = re.compile(r"^(?:\$\s*)?(?:sudo\s+)?[a-z][a-z0-9_.-]*(?:\s|$)")
_IMPERATIVE = re.compile(
    # "Then restart ...", "Next, run ...", "And edit ...", "At first just wait ...": where an
    # order comes in the sequence.
    r"^(?:\*\*)?(?:(?:then|next|first|firstly|second|secondly|finally|lastly|afterwards|"
    r"additionally|now|and(?: then)?|also|at first),?\s+)?(?:please |just )?"
    r"(?:check|confirm|verify|look|open|run|restart|roll ?back|revert|"
    r"scale|fail over|failover|increase|reduce|raise|lower|disable|enable|pause|resume|drain|"
    r"cordon|page|escalate|"
    r"notify|inspect|compare|watch|query|find|identify|list|review|switch|route|block|purge|flush|"
    r"delete|remove|add|apply|set|move|stop|start|kill|promote|re-?run|re-?index|rebuild|clear|"
    r"post|tell|ask|wait|monitor|capture|collect|search|grep|tail|describe|get|make sure|ensure|"
    r"use|try|contact|investigate|examine|determine|validate|edit|update|patch|upgrade|delete|"
    r"silence|adjust|tune|resize|expand|extend|migrate|bump|follow|log ?in(?:to)?|navigate|"
    r"go to|consider|reschedule|evict|re-?create|reboot|re-?deploy|deploy|roll out|"
    r"re-?configure|configure|allocate|free(?: up)?|clean(?: up)?|prune|trim|rotate|renew|"
    r"reissue|replace|decrease|tweak|throttle|isolate|uncordon|taint|annotate|"
    r"mount|unmount|detach|attach|re-?sync|sync|refresh|reload|restore|back up|snapshot|"
    r"compact|defrag\w*|vacuum|rebalance|reassign|shut down|reset|retry|wipe|truncate|"
    r"archive|download|upload|copy|consult|refer to|read|visit|click|select|choose|locate|"
    r"trace|profile|measure|graph|plot|correlate|analy[sz]e|debug|test|connect|exec|"
    r"port-forward|note(?=\s+(?!that\b))|troubleshoot|create|provision|assign|grant|revoke|modify|change|"
    r"fix|repair|correct|resolve|address|mitigate|remediate|fine-tune|give|allow|keep|"
    r"login)\b",
    re.IGNORECASE,
)
# "If X, restart Y", "In case of maintenance ensure to ...", "For memory scaling ensure ...":
# an order behind a condition.
_CONDITION_LEAD = re.compile(
    r"^(?:if|when|whenever|in case|in cases|in other cases|for|once|after|before|otherwise|"
    r"unless|where|depending on)\b",
    re.IGNORECASE,
)
# Where to do it: "In the console under Observe, select the etcd dashboard."
_PLACE_LEAD = re.compile(r"^(?:in|on|from|under|at|within|via|using)\b", re.IGNORECASE)
_ORDER_WORD = re.compile(r"\b(?:ensure|make sure|then)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r",\s+(?:you (?:can|should|may|must) )?", re.IGNORECASE)
# What to look for in a command's output ("The output should describe why ...", "Logs should
# contain ..."): the check a responder reads it for.
_EXPECT = re.compile(
    r"^(?:the |this |its |their )?(?:output|logs?|results?|response|events?|status)\b"
    r"[^.]{0,40}?\b(?:should|will|would|must|may)\b",
    re.IGNORECASE,
)
# A cause to rule out, said as prose, even in the meaning of an alert ("a common cause could
# be a misconfigured ServiceMonitor", "this can occur when ...").
_CAUSE = re.compile(
    r"\b(?:(?:common|likely|possible|potential|typical|usual|frequent|known) "
    r"(?:cause|reason|culprit)s?|this (?:can|may|might|could|usually) (?:also )?"
    r"(?:occurs?|happens?|be caused)|(?:is|are) (?:often|usually|commonly|typically) caused by|"
    r"can be caused by)\b",
    re.IGNORECASE,
)
_INLINE_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|<?https?://\S+>?")
# Prose that names a check without being phrased as an order.
_CHECK_PROSE = re.compile(
    r"\bcan be used to (?:check|see|find|confirm|verify|identify|inspect|determine)|"
    r"\b(?:shows?|will show|lists?|reports?) (?:the|which|whether|if|any|all|what|how)\b|"
    r"\bto (?:check|see|find out|confirm|verify|determine|identify) "
    r"(?:the|which|whether|if|what|how)\b|"
    r"\b(?:check|inspect|look at|verify|review|examine|investigate) "
    r"(?:the|whether|if|that|for|which)\b|"
    r"\b(?:you (?:can|could|should|may|might|need to|must|will (?:have|need) to)|"
    r"we (?:can|should)|it is (?:recommended|advised)|"
    r"it(?:'s| is) (?:best|advisable|a good idea) to|you will need more)\b|"
    # An option given to whoever runs the cluster: "The customer may delete data ...", "User
    # will have to create a new cluster ...".
    r"^(?:the )?(?:users?|customers?|operators?|admins?|administrators?|cluster admins?) "
    r"(?:can|could|should|may|must|needs? to|has to|have to|will (?:have|need) to)\b|"
    # What must change, said in the passive: "the deployment definition needs to be fixed".
    r"\b(?:needs? to|has to|have to|must) be [a-z]+(?:ed|en)\b",
    re.IGNORECASE,
)
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

    @property
    def requires_approval(self) -> bool:
        return requires_approval(self.text, self.command)


_KNOWN_CLIS = frozenset(
    """
    kubectl oc helm argocd flux lark psql mysql mongosh redis-cli curl wget vault consul nomad
    terraform aws gcloud az docker crictl ctr nerdctl systemctl journalctl jq yq grep egrep cat
    tail head less ls df du top htop ps kill pkill dig nslookup host openssl git etcdctl kcat
    kafkacat promtool amtool ssh scp rsync sudo ip ss netstat tcpdump iptables nc ping traceroute
    mtr free vmstat iostat lsof find sed awk python python3 pip make ansible watch echo export
    for while rm mv cp chmod chown mkdir touch tar istioctl linkerd velero stern sort uniq wc xargs
    opensearch-cli elasticsearch-cli kafka-topics kafka-consumer-groups rabbitmqctl pg_dump
    pg_restore patronictl pgbouncer mc s3cmd rclone openstack virsh mount umount sysctl dmesg
    cmctl chronyc timedatectl ntpq hwclock gitlab-rake gitlab-ctl chroot rpm-ostree
    """.split()
)
_TOOL_SUFFIX = re.compile(r"^[a-z][a-z0-9-]*(?:ctl|cli|adm)$")


def looks_like_query(code: str) -> bool:
    """Whether inline code is a PromQL query (or SQL) a responder can paste."""
    code = code.strip()
    return len(code) >= 4 and (bool(_SQL.match(code)) or holds_query(code))


def looks_like_command(code: str) -> bool:
    """Whether inline code is something to run or query, not a name, a value or a log message."""
    code = code.strip().removeprefix("$ ")
    if len(code) < 4 or ("\n" in code and len(code) > 600):
        return False
    if looks_like_query(code):
        return True
    if " " not in code or not _CLI.match(code):
        return False
    first = code.split()[0]
    if first == "sudo" and len(code.split()) > 1:
        first = code.split()[1]
    return first in _KNOWN_CLIS or bool(_TOOL_SUFFIX.match(first)) or first.startswith(("./", "/"))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str) -> str:
    if len(text) <= MAX_STEP_CHARS:
        return text
    # Words before addresses: a long step keeps what it says and loses its links' targets.
    text = _INLINE_LINK.sub(r"\1", text)
    if len(text) <= MAX_STEP_CHARS:
        return text
    cut = text[:MAX_STEP_CHARS]
    return cut[: cut.rfind(" ")] + " …" if " " in cut else cut


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


@dataclass
class _Block:
    kind: str  # "item", "code", "para", "row"
    head: list[str] = field(default_factory=list)  # the item's own lines / paragraph lines
    subs: list[str] = field(default_factory=list)  # nested items, folded into the parent
    code: list[str] = field(default_factory=list)  # fenced blocks inside, one string each


def blocks(text: str) -> list[_Block]:
    """Top-level list items (with their continuation lines, sub-items and code blocks),
    top-level code blocks (fenced or indented), paragraphs and table rows, in order."""
    out: list[_Block] = []
    lines = text.split("\n")
    i = 0
    current: _Block | None = None
    item_indent = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE_LINE.match(line):
            fence = _FENCE_LINE.match(line).group(1)  # type: ignore[union-attr]
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence
            code = "\n".join(b.strip() for b in body).strip()
            inside = current is not None and current.kind == "item" and _indent(line) > item_indent
            if inside and current is not None:
                if code:
                    current.code.append(code)
            else:
                current = None
                out.append(_Block("code", code=[code] if code else []))
            continue
        if (
            current is None
            and _indent(line) >= 4
            and line.strip()
            and (i == 0 or not lines[i - 1].strip())
        ):
            # An indented code block (four spaces after a blank line, outside a list item).
            body = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= 4):
                body.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(body)).strip()
            out.append(_Block("code", code=[code] if code else []))
            continue
        stripped = line.strip()
        if not stripped:
            # A blank line ends a paragraph; an item goes on while what follows is indented.
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if current is not None and (current.kind != "item" or _indent(nxt) <= item_indent):
                current = None
            i += 1
            continue
        if stripped.startswith("|"):
            current = None
            out.append(_Block("row", head=[stripped]))
            i += 1
            continue
        if _LIST_MARKER.match(line):
            if current is not None and current.kind == "item" and _indent(line) > item_indent:
                current.subs.append(_flat(_LIST_MARKER.sub("", line, count=1)))
            else:
                current = _Block("item", head=[_LIST_MARKER.sub("", line, count=1).strip()])
                item_indent = _indent(line)
                out.append(current)
            i += 1
            continue
        if current is not None and current.kind == "item":
            if current.subs and _indent(line) > item_indent + 2:
                current.subs[-1] = f"{current.subs[-1]} {stripped}"
            else:
                current.head.append(stripped)
        elif current is not None and current.kind == "para":
            current.head.append(stripped)
        else:
            current = _Block("para", head=[stripped])
            out.append(current)
        i += 1
    return out


# A case named without a comma before its order: "In rare cases roll back to the previous
# version", "In extremely rare situations scale the oldest ReplicaSets to 0".
_CASE_LEAD = re.compile(
    r"^(?:in (?:[a-z]+ ){0,2}(?:cases?|situations?|circumstances|scenarios?)|as a last resort|"
    r"if (?:needed|necessary|possible|required)|where (?:needed|possible))\s*,?\s+",
    re.IGNORECASE,
)


def _conditional_order(sentence: str) -> bool:
    """An order behind a condition: "If X, restart Y", "In case of Z ensure to ..."."""
    case = _CASE_LEAD.match(sentence)
    if case and _IMPERATIVE.match(sentence[case.end() :]):
        return True
    condition = _CONDITION_LEAD.match(sentence)
    if condition and _ORDER_WORD.search(sentence):
        return True
    if not (condition or _PLACE_LEAD.match(sentence)):
        return False
    return any(_IMPERATIVE.match(sentence[m.end() :]) for m in _CLAUSE_END.finditer(sentence))


# What the step before it shows or gives: read with that step.
_SAYS_WHAT_IT_SHOWS = re.compile(
    r"^(?:there (?:is|are)|(?:this|it|they|these|that) (?:will |should |would )?"
    r"(?:show|list|display|give|return|print|tell|report|reveal|contain|include)s?)\b",
    re.IGNORECASE,
)


# A remark of a few words that ends the paragraph of a step bounds that step ("Requests can stay
# the same."); one before another sentence may be what that sentence is about.
_QUALIFIER_WORDS = 6
_EXAMPLE = re.compile(r"^(?:here|for example|for instance|e\.g\.|example)\b", re.I)


def _qualifies(sentence: str) -> bool:
    """A short remark: not the introduction of an example ("Here an example with ..."), nor
    what happens in another case ("In most cases it recovers.")."""
    return (
        len(sentence.split()) <= _QUALIFIER_WORDS
        and sentence.endswith(".")
        and not _EXAMPLE.match(sentence)
        and not (_CASE_LEAD.match(sentence) or _CONDITION_LEAD.match(sentence))
    )


# An order to read elsewhere that does not say what for: read with the sentence before it.
_POINTER = re.compile(
    r"^(?:follow|see|refer to|consult|read|check) (?:the |our |your )?(?:\[[^\]]*\]|\w+ ){0,3}"
    r"?\[?(?:relevant |official |vendor'?s? |product )?(?:documentation|docs|guide|instructions)\b",
    re.I,
)


# The other branch of the sentence before it: it cannot be read alone.
_OTHERWISE = re.compile(r"^(?:otherwise|if not|else)\b", re.I)


# A bold label that names the case a sentence is for ("**Current size is 1TB**: Please ..."), or
# a "Note:" label: what follows it is judged on its own ("Note: Replace `<id>` with ..." is an
# order, "Note: The tool performs ..." a remark).
_CASE_LABEL = re.compile(r"^(?:\*\*[^*]{1,80}\*\*:?|(?:\*\*)?note(?:\*\*)?:(?:\*\*)?)\s*", re.I)


# "Running amtool check-config ... will help you detect ...", "Usually adding new nodes solves
# the issue": an order said as what doing it achieves.
# "Depending on the conditions usually adding ...", "Sometimes manually deleting pod helps".
_GERUND = re.compile(
    r"(?:^|\b(?:usually|often|typically|generally|sometimes),?\s+)(?:[a-z]+ly\s+)?"
    r"([a-z]+)ing\b(?=(.*))",
    re.I,
)
_ACHIEVES = re.compile(
    r"\b(?:(?:will|would|can|could|should|may|might) (?:also )?(?:help|fix|solve|resolve|free|"
    r"reduce|mitigate|clear|restore|show|tell|detect|reveal)|helps|solves|fixes|resolves|"
    r"is (?:the |a |an )?(?:usual|common|best|recommended|quickest|simplest|preferred) "
    r"(?:fix|way|solution|remedy|option))\b",
    re.IGNORECASE,
)


def _gerund_order(sentence: str) -> bool:
    for match in _GERUND.finditer(sentence):
        if not _ACHIEVES.search(match.group(2)):
            continue
        root = match.group(1).lower()
        forms = {root, root + "e"}
        if len(root) > 2 and root[-1] == root[-2]:
            forms.add(root[:-1])  # running -> run
        if any(_IMPERATIVE.match(f"{form} ") for form in forms):
            return True
    return False


# "A freeze blocks `lark deploy` and auto-sync ...": a statement about what something does names
# a command without saying to run it.
_STATEMENT = re.compile(
    r"^(?:an?|the|this|that|these|those|it|each|every)\s+(?:[a-z-]+\s+){0,2}"
    r"(?:blocks|prevents|stops|means|allows|lets|makes|causes|keeps|disables|enables)\b",
    re.IGNORECASE,
)


def _is_step_sentence(sentence: str, codes: list[str]) -> bool:
    bare = _CASE_LABEL.sub("", sentence)
    return bool(
        (codes and not _STATEMENT.match(bare))
        or _IMPERATIVE.match(bare)
        or _gerund_order(bare)
        or _CHECK_PROSE.search(bare)
        or _conditional_order(bare)
        or _EXPECT.match(bare)
        or _CAUSE.search(bare)
        or _WAIT.match(bare)
    )


# "If the alert fires during an upgrade, the state might recover after some time": in that
# case, wait. A condition whose outcome is that the problem goes away on its own.
_WAIT = re.compile(
    r"^(?:if|when|during)\b[^.]{0,120}\b(?:might|may|can|will|should|often|usually)\s+"
    r"(?:\w+\s+)?(?:resolve|recover|clear|go away|heal|subside|settle)\w*\b[^.]{0,40}"
    r"\b(?:after|within|once|in|on its own|by itself|itself)\b",
    re.I,
)


_OUTPUT_LINE = re.compile(
    r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|"
    # A Kubernetes component's log line: "I1126 17:15:38.991090   3069 update.go:2618] ..."
    r"[IWEF]\d{4} \d\d:\d\d:\d\d|"
    r"[A-Z][A-Z_]{2,}(?: [A-Z_]+)*\s{2,}[A-Z])"
)


def _looks_like_output(code: str) -> bool:
    """A code block that shows what a command prints (log lines with timestamps, a table
    with a NAME header), not something to run."""
    first = next((x.strip() for x in code.splitlines() if x.strip()), "")
    return bool(_OUTPUT_LINE.match(first))


# A shell prompt: `$ `, `sh-4.4$ `, `[root@host ~]$ `, `user@host:~$ `.
_PROMPT = re.compile(r"^\s*(?:sh-[\d.]+|\[[^\]\n]*\]|[\w.-]+@[\w.:~/-]+)?\$\s", re.MULTILINE)


def _open_quote(command: str) -> bool:
    """Whether a command so far leaves a quote open (its argument goes on to the next line)."""
    bare = command.replace("\\'", "").replace('\\"', "")
    return bare.count("'") % 2 == 1 or bare.count('"') % 2 == 1


_ROOT_PROMPT = re.compile(r"^\s*(?:sh-[\d.]+)?#\s+(?=\S)")


def _prompted(line: str) -> bool:
    """A line typed at a prompt: `$ oc debug node/x`, or in the root shell it opens
    (`# chroot /host`, `sh-4.4# systemctl restart crio`), not a `# comment`."""
    if _PROMPT.match(line):
        return True
    root = _ROOT_PROMPT.match(line)
    return root is not None and looks_like_command(line[root.end() :])


_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Z_][A-Z0-9_]*=\S")


def _command_line(line: str) -> bool:
    """A line to run though no prompt shows it: a known command or a variable set for the next."""
    return bool(_ASSIGNMENT.match(line)) or looks_like_command(line)


def _all_commands(code: str) -> bool:
    lines = [x for x in code.splitlines() if x.strip()]
    return bool(lines) and all(x.lstrip().startswith("#") or _command_line(x) for x in lines)


def _runnable(code: str) -> str:
    """What to run in a code block: when it shows a shell prompt (`$ kubectl logs ...`), the
    prompt lines (with the lines they go on to: after a trailing backslash or an open quote)
    and comments, without the output printed under them, which is an example of what to
    expect, not something to paste. A heredoc's body is part of its command: such a block
    stays whole."""
    if "<<" in code or not _PROMPT.search(code):
        return code
    kept: list[str] = []
    current: str | None = None
    for line in code.splitlines():
        if current is not None:
            current += "\n" + line
        elif _prompted(line) or _command_line(line):
            current = line
        elif not line.lstrip().startswith("#"):
            continue  # output
        kept.append(line)  # a command, its continuation, or a comment on what comes next
        if current is not None and not (line.rstrip().endswith("\\") or _open_quote(current)):
            current = None
    return "\n".join(kept)


def _empty_command(code: str) -> bool:
    """A code block with nothing to run: only comments ("# TODO: command needed")."""
    lines = [x.strip() for x in code.splitlines() if x.strip()]
    return all(x.startswith(("#", "//", "--")) and not _prompted(x) for x in lines)


def _only_links(text: str) -> bool:
    """A step that is a pointer and nothing else: "[1](https://...)", "See [KubeNode](...)"."""
    rest = _LINK.sub(" ", text)
    rest = re.sub(r"^\W*(?:see(?: also)?|more|docs?|details?)\b", " ", rest.strip(), flags=re.I)
    return not re.search(r"[A-Za-z]{3,}", rest)


def _commands_in(text: str) -> list[str]:
    return [c for c in _INLINE_CODE.findall(text) if looks_like_command(c)]


def _item_text(block: _Block) -> str:
    head = _flat(" ".join(block.head))
    subs = [s for s in block.subs if s]
    if subs:
        joined = "; ".join(s.rstrip(".;") for s in subs)
        head = f"{head.rstrip()} {joined}." if head.endswith(":") else f"{head} ({joined})"
    return _cut(head)


def extract(passage: Passage) -> list[Candidate]:
    """Concrete steps of one action section, in document order."""
    if passage.chunk.kind != "runbook":
        return []
    phase = passage.phase
    if phase is None:
        return _causes(passage)
    out: list[Candidate] = []
    parts = blocks(passage.text)
    for i, block in enumerate(parts):
        if block.kind == "code":
            if not block.code or _looks_like_output(block.code[0]):
                continue
            # A code block belongs to the step that introduces it, if that step has no command.
            code = _runnable(block.code[0])
            if out and out[-1].command is None and out[-1].position == i - 1:
                out[-1].command = code
                continue
            intro = ""
            if i and parts[i - 1].kind == "para":
                sentences = split_sentences(_flat(" ".join(parts[i - 1].head)))
                intro = sentences[-1] if sentences else ""
            out.append(Candidate(_cut(intro) or _RUN, code, phase, passage, i))
            continue
        if block.kind == "item":
            text = _item_text(block)
            if not text.strip(" :"):
                continue
            runnable = [c for c in block.code if not _looks_like_output(c)]
            if any(_PROMPT.search(c) for c in runnable):
                # Beside blocks of prompts, a block without one is what they print.
                runnable = [_runnable(c) for c in runnable if _PROMPT.search(c) or _all_commands(c)]
            command = "\n".join(runnable) if runnable else None
            if command is None:
                codes = _commands_in(" ".join(block.head)) or _commands_in(" ".join(block.subs))
                command = codes[0] if codes else None
            if text.endswith(":") and command is None and not block.subs:
                continue  # an introduction whose content is elsewhere
            out.append(Candidate(text, command, phase, passage, i))
            continue
        if block.kind == "row":
            cells = [c.strip() for c in block.head[0].strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            codes = _commands_in(block.head[0])
            row = " — ".join(c for c in cells if c)
            if codes or _IMPERATIVE.match(cells[-1] if cells else ""):
                out.append(Candidate(_cut(row), codes[0] if codes else None, phase, passage, i))
            continue
        # A paragraph: each sentence that runs, queries or names a check is a step.
        previous = ""  # the sentence before, and the step it became
        last: Candidate | None = None
        sentences = split_sentences(_flat(" ".join(block.head)))
        for number, sentence in enumerate(sentences, 1):
            codes = _commands_in(sentence)
            said, previous = previous, sentence
            step, last = last, None
            if not _is_step_sentence(sentence, codes):
                if step is not None and (
                    _SAYS_WHAT_IT_SHOWS.match(sentence)
                    or (number == len(sentences) and _qualifies(sentence))
                ):
                    # "Select the etcd dashboard. There are both leader elections and disk
                    # sync panels ...": what the step shows is read with it; so is a short
                    # remark that ends its paragraph ("... more CPU limits. Requests can stay
                    # the same.").
                    step.text = _cut(f"{step.text} {sentence}")
                    last = step
                continue
            if said and _OTHERWISE.match(sentence):
                # "Otherwise, ..." is read with the case it is the other branch of: joined to
                # that sentence's step, or to the sentence itself when it was not one.
                if step is not None and step.command is None:
                    step.text = _cut(f"{said} {sentence}")
                    step.command = codes[0] if codes else None
                    last = step
                    continue
                sentence = f"{said} {sentence}"
            elif said and step is None and _POINTER.match(sentence):
                # "Some storage solutions support volume expansion. Follow the [documentation]
                # for details.": what to look up there is the sentence before.
                sentence = f"{said} {sentence}"
            if sentence.endswith(":") and not codes and not _conditional_order(sentence):
                continue  # introduces a code block: that block's step carries it
            last = Candidate(_cut(sentence), codes[0] if codes else None, phase, passage, i)
            out.append(last)
    return _tidy(out)


def _tidy(candidates: list[Candidate]) -> list[Candidate]:
    """Drop pointers that are only a link, and commands that are only a comment."""
    out = []
    for cand in candidates:
        if cand.command is not None and _empty_command(cand.command):
            cand.command = None
            if cand.text == _RUN:
                continue
        if cand.command is None and _only_links(cand.text):
            continue
        out.append(cand)
    return out


def _causes(passage: Passage) -> list[Candidate]:
    """The causes a section that is not an action section names in prose (an alert's meaning:
    "a common cause could be ..."): each is a check to make first."""
    out = []
    for i, block in enumerate(blocks(passage.text)):
        if block.kind != "para":
            continue
        for sentence in split_sentences(_flat(" ".join(block.head))):
            if _CAUSE.search(sentence):
                codes = _commands_in(sentence)
                out.append(
                    Candidate(_cut(sentence), codes[0] if codes else None, "diagnose", passage, i)
                )
    return out


def order(candidates: list[Candidate]) -> list[Candidate]:
    """Diagnose before mitigate, then verify and escalate; safe before disruptive in each."""
    return sorted(
        candidates,
        key=lambda c: (
            PHASE_ORDER.get(c.phase, 9),
            c.requires_approval,
            c.passage.score * -1,
            c.passage.chunk.ordinal,
            c.position,
        ),
    )


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


_WORDS = re.compile(r"[a-z0-9]+")
# Canonical actions, as a timeline records them ("Rolled back checkout-api") and as a runbook
# orders them ("roll back", `kubectl rollout undo`).
_ACTIONS: dict[str, re.Pattern[str]] = {
    "rollback": re.compile(
        r"\broll(?:ed|ing)?[ -]?back\b|\brollback\b|\brevert\w*|rollout undo", re.I
    ),
    "restart": re.compile(r"\brestart\w*|\bbounc(?:e|ed|ing)\b|\brecycl\w*", re.I),
    "failover": re.compile(r"\bfail(?:ed|ing)?[ -]?over\b|\bpromot(?:e|ed|ing)\b", re.I),
    "flush": re.compile(r"\bflush\w*|\bpurg\w*", re.I),
    "drain": re.compile(r"\bcordon\w*|\bdrain\w*", re.I),
    "pause": re.compile(r"\bpaus(?:e|ed|ing)\b|\bsuspend\w*", re.I),
    "terminate": re.compile(r"\bterminat\w*|\bpg_terminate_backend\b", re.I),
    "renew": re.compile(r"\brenew\w*|\brotat(?:e|ed|ing)\b|\breissu\w*", re.I),
    "scale": re.compile(r"\bscal(?:e|ed|ing) (?:up|out)\b|\badd(?:ed)? (?:more )?replicas\b", re.I),
}
_CONDITION = re.compile(r"^\*\*[^*]{1,120}:\*\*\s*|^[^:]{1,80}:\s+(?=[a-z])")
# Names of things: hyphenated or dotted identifiers, not placeholders like <service>.
_ENTITY = re.compile(r"(?<![<\w])[a-z][a-z0-9]*(?:[-.][a-z0-9]+)+(?![>\w])")


_LINK_TARGET = re.compile(r"\]\([^)\s]*\)|\S+\.md\b")


def _things(text: str) -> set[str]:
    """Named things a step or an entry acts on (link targets and file names are not)."""
    return set(_ENTITY.findall(_LINK_TARGET.sub("]", text.lower())))


def _action_part(candidate: Candidate) -> str:
    """The part of a step that says what to do: past a leading condition, first words only."""
    text = _CONDITION.sub("", candidate.text.strip(), count=1)
    words = text.split()[:14]
    return " ".join(words) + ("\n" + candidate.command if candidate.command else "")


def _actions(text: str) -> set[str]:
    return {name for name, pattern in _ACTIONS.items() if pattern.search(text)}


def already_done(candidate: Candidate, done: list[str]) -> str | None:
    """The timeline entry that records this step as done (its command, most of its words, or
    the same action on the same thing), or None."""
    if not done:
        return None
    if candidate.command:
        command = normalise(candidate.command)
        for entry in done:
            if command in normalise(entry):
                return entry
    words = set(_WORDS.findall(candidate.text.lower())) - {"the", "a", "an", "to", "and", "of"}
    if len(words) >= 3:
        for entry in done:
            entry_words = set(_WORDS.findall(entry.lower()))
            if len(words & entry_words) / len(words) >= 0.7:
                return entry
    wanted = _actions(_action_part(candidate))
    if not wanted:
        return None
    # A runbook names the thing a step acts on in code: `orders-service`, not "pre-approved".
    step_things = _things(" ".join(_INLINE_CODE.findall(candidate.text)))
    for entry in done:
        if not wanted & _actions(entry):
            continue
        done_things = _things(entry)
        # "Roll back a recent orders-service deploy" is not done by "Rolled back checkout-api".
        if step_things and done_things and not step_things & done_things:
            continue
        return entry
    return None
