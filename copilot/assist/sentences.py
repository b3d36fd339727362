"""Which sentences of a runbook's prose are steps: an order, a check said as prose, an order
behind a condition or said as what doing it achieves, a cause to rule out; and which are read
with the sentence beside them."""

from __future__ import annotations

import re

IMPERATIVE = re.compile(
    # "Then restart ...", "Next, run ...", "And edit ...", "At first just wait ...": where an
    # order comes in the sequence.
    r"^(?:\*\*)?(?:(?:then|next|first|firstly|second|secondly|finally|lastly|afterwards|"
    r"additionally|now|and(?: then)?|also|at first),?\s+)?"
    # "Always increase `activeMetadataServers` by 1", "Never delete the PVC": how to do it.
    # "Do not change the operands directly": what not to do is part of how to do it.
    r"(?:(?:always|never|immediately|manually|carefully|simply|do not|don't)\s+)?"
    r"(?:please |just )?"
    r"(?:check|confirm|verify|look|open|run|restart|roll ?back|revert|"
    r"scale|fail over|failover|increase|reduce|raise|lower|disable|enable|pause|resume|drain|"
    r"cordon|page|escalate|"
    r"notify|inspect|compare|watch|query|find|identify|list|review|switch|route|block|purge|flush|"
    r"delete|remove|add|apply|set|move|stop|start|kill|promote|re-?run|re-?index|rebuild|clear|"
    r"post|tell|ask|wait|monitor|capture|collect|search|grep|tail|describe|get|make sure|ensure|"
    r"use|try|contact|investigate|examine|determine|validate|edit|update|patch|upgrade|delete|"
    r"silence|adjust|tune|resize|expand|extend|migrate|bump|follow|log ?in(?:to)?|navigate|"
    r"go to|consider|plan|reschedule|evict|re-?create|reboot|re-?deploy|deploy|roll out|"
    r"re-?configure|configure|allocate|free(?: up)?|clean(?: up)?|prune|trim|rotate|renew|"
    r"reissue|replace|decrease|tweak|throttle|isolate|uncordon|taint|annotate|"
    r"mount|unmount|detach|attach|re-?sync|sync|refresh|reload|restore|back up|snapshot|"
    r"compact|defrag\w*|vacuum|rebalance|reassign|shut down|reset|retry|wipe|truncate|"
    r"archive|download|upload|copy|consult|refer to|read|visit|click|press|select|choose|locate|"
    r"trace|profile|measure|graph|plot|correlate|analy[sz]e|debug|test|connect|exec|"
    r"port-forward|note(?=\s+(?!that\b))|troubleshoot|create|provision|assign|grant|revoke|modify|change|"
    r"fix|repair|correct|resolve|address|mitigate|remediate|fine-tune|give|allow|keep|"
    r"login|view|observe|install|uninstall|reinstall|talk (?:to|with)|reach out|"
    r"take (?:a |an )?(?:note|look|screenshot|back ?up|snapshot|dump))\b",
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
# What it is for: "To diagnose the alert, click on the workloads->pods and select ...". Not a
# lead-in to the list below it: "To resolve this issue, follow one of these steps:".
_PURPOSE_LEAD = re.compile(r"^to\s+[a-z]+\b", re.IGNORECASE)
_LEADS_IN = re.compile(
    r"(?::\s*$|\b(?:the following|following (?:steps|methods|solutions)|these steps|below)\b)",
    re.IGNORECASE,
)
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
CAUSE = re.compile(
    r"\b(?:(?:common|likely|possible|potential|typical|usual|frequent|known) "
    r"(?:cause|reason|culprit)s?|this (?:can|may|might|could|usually) (?:also )?"
    r"(?:occurs?|happens?|be caused)|(?:is|are) (?:often|usually|commonly|typically) caused by|"
    r"can be caused by|"
    # "Usually happens when specifying wrong pod taints/affinities ...", the subject left out.
    r"^(?:usually|often|mostly|typically) (?:happens|occurs) (?:when|during|if|because|after)|"
    r"^(?:it |this )?(?:usually|often|typically) (?:means|indicates))\b",
    re.IGNORECASE,
)
# "Use it whenever a release is the likely cause of an incident": a cause inside a condition is
# when a procedure applies, not a cause to rule out.
_CAUSE_IN_CONDITION = re.compile(
    r"\b(?:if|when|whenever|where)\b[^.;:]{0,80}?\b(?:is|are|was|were|seems? to be|looks? like) "
    r"(?:the|a|an) (?:most )?(?:common|likely|possible|potential|probable|usual) "
    r"(?:cause|reason|culprit)s?\b",
    re.IGNORECASE,
)


def names_a_cause(sentence: str) -> bool:
    """A cause to rule out, said as prose ("a common cause could be ...")."""
    return bool(CAUSE.search(sentence)) and not _CAUSE_IN_CONDITION.search(sentence)


# An alert its runbook says to ignore: "This alert is deprecated. You can safely ignore or
# silence it."
IGNORABLE = re.compile(r"\b(?:can|may) (?:be )?safely (?:be )?(?:ignored?|silenced?)\b", re.I)
# Prose that names a check without being phrased as an order.
_CHECK_PROSE = re.compile(
    r"\bcan be used to (?:check|see|find|confirm|verify|identify|inspect|determine)|"
    r"\b(?:shows?|will show|lists?|reports?) (?:the|which|whether|if|any|all|what|how)\b|"
    # What a thing tells the reader: "The flow schema also provides information on the affected
    # resources".
    r"\b(?:provides?|gives?) (?:also )?(?:more |additional |further |useful )?"
    r"(?:information|details) (?:on|about)\b|"
    # What a reading should be, or where a thing shows: "the 99th percentile of the fsync
    # duration should be less than 10ms", "the errors should also be logged in each etcd
    # instance's logs".
    r"\bshould (?:be|stay|remain) (?:less|lower|greater|higher|more|fewer) than\b|"
    r"\bshould (?:also )?be (?:logged|visible|shown|listed|reported|recorded) (?:in|on)\b|"
    r"\bto (?:check|see|find out|confirm|verify|determine|identify) "
    r"(?:the|which|whether|if|what|how)\b|"
    r"\b(?:check|inspect|look at|verify|review|examine|investigate) "
    r"(?:the|whether|if|that|for|which)\b|"
    # What the reader should or must not do: "You cannot expand the number of inodes after
    # ...", "User shouldn't increase CPU limits unless ...".
    r"\b(?:you (?:can(?:not|'t)?|could|should(?:n't| not)?|may|might|need to|must(?:n't| not)?|"
    r"will (?:have|need) to)|"
    r"we (?:can|should)|it is (?:recommended|advised)|"
    r"it(?:'s| is) (?:best|advisable|a good idea) to|you will need more)\b|"
    # An option given to whoever runs the cluster: "The customer may delete data ...", "User
    # will have to create a new cluster ...".
    r"^(?:the )?(?:users?|customers?|operators?|admins?|administrators?|cluster admins?) "
    r"(?:can(?:not|'t)?|could|should(?:n't| not)?|may|must(?:n't| not)?|needs? to|has to|"
    r"have to|will (?:have|need) to)\b|"
    # What must change, said in the passive: "the deployment definition needs to be fixed".
    r"\b(?:needs? to|has to|have to|must) be [a-z]+(?:ed|en)\b|"
    # A remedy said as a statement: "Sometimes giving more CPU is the only way to fix it."
    # ("This is the fastest way to fix it" only points at the heading or the command.)
    r"^(?!(?:this|that|it)\b)(?=.*(?<!\bno )\b(?:way|solution|remedy|workaround) to "
    r"(?:fix|resolve|solve|mitigate|remediate)\b)|"
    # An option named as such: "Another option is to delete node if it affects only one".
    r"^(?:another|one|the other|an|the (?:only|best|simplest|easiest|quickest|usual|recommended|"
    r"preferred|last|first)) (?:possible )?(?:option|alternative|fix|solution|remedy|workaround|"
    r"approach|resort) (?:here )?(?:is|would be|could be|may be) to\b|"
    # A remedy said as what a thing needs: "the AWS instance retirement might need a manual
    # reboot of the master node".
    r"\b(?:might|may|will|would|could) (?:also )?need (?:a |an )?(?:manual |full |rolling )?"
    r"(?:reboot|restart|rollback|roll back|rebuild|resync|redeploy|upgrade|replacement|resize|"
    r"clean ?up|drain)\b|"
    # A remedy said in the passive: "(If five monitors is not an option,) the alert can be
    # silenced", "the pod can safely be restarted".
    r"\b(?:can|could|should) (?:safely |then |also |simply |now )?be (?:safely )?"
    r"(?:silenced|ignored|restarted|deleted|removed|increased|decreased|raised|lowered|"
    r"scaled|drained|cordoned|rolled back|reverted|re-?created|rebooted|resized|expanded|"
    r"upgraded|updated|patched|disabled|enabled|cleaned up|purged|evicted|migrated|rotated|"
    r"renewed|replaced|re-?deployed|reconfigured|adjusted|tuned)\b",
    re.IGNORECASE,
)
# A case named without a comma before its order: "In rare cases roll back to the previous
# version", "In extremely rare situations scale the oldest ReplicaSets to 0".
_CASE_LEAD = re.compile(
    r"^(?:in (?:[a-z]+ ){0,2}(?:cases?|situations?|circumstances|scenarios?)|as a last resort|"
    r"if (?:needed|necessary|possible|required)|where (?:needed|possible))\s*,?\s+",
    re.IGNORECASE,
)


def conditional_order(sentence: str) -> bool:
    """An order behind a condition: "If X, restart Y", "In case of Z ensure to ..."."""
    case = _CASE_LEAD.match(sentence)
    # "As a last resort if none of the above fix it, ...": the case, then its condition.
    if case and (
        IMPERATIVE.match(sentence[case.end() :]) or conditional_order(sentence[case.end() :])
    ):
        return True
    condition = _CONDITION_LEAD.match(sentence)
    if condition and _ORDER_WORD.search(sentence):
        return True
    if _bare_purpose(sentence):
        return True
    purpose = _PURPOSE_LEAD.match(sentence) and not _LEADS_IN.search(sentence)
    if not (condition or _PLACE_LEAD.match(sentence) or purpose):
        return False
    # "If it still fires, restart it"; "..., for etcd issues follow the recovery steps".
    if any(
        IMPERATIVE.match(sentence[m.end() :]) or _bare_purpose(sentence[m.end() :])
        for m in _CLAUSE_END.finditer(sentence)
    ):
        return True
    # "If issue persists look into the node logs": no comma, but the condition ends on what the
    # problem does, and an order follows.
    bare = _BARE_CONDITION.match(sentence)
    return bare is not None and bool(IMPERATIVE.match(sentence[bare.end() :]))


# Words an order cannot follow in "For <whom> <order>": "For the check to pass ..." is not one.
_NOT_BEFORE_ORDER = frozenset(
    "the a an this that these those to of in on for with by your its their each every any "
    "some no more most all".split()
)


def _bare_purpose(sentence: str) -> bool:
    """An order behind whom it is for, without a comma: "For in-cluster clients recreate
    pods."."""
    words = sentence.split()
    if len(words) < 3 or words[0].lower() != "for":
        return False
    for k in range(1, min(4, len(words) - 2) + 1):
        if words[k].lower().strip(",") in _NOT_BEFORE_ORDER:
            continue
        rest = " ".join(words[k + 1 :])
        order = IMPERATIVE.match(rest)
        # "For most users restart is not needed": the verb is a noun there.
        if order and not _SAID_OF.match(rest[order.end() :]):
            return True
    return False


_SAID_OF = re.compile(r"\s+(?:is|are|was|were|will|would|can|could|should|may|might|has|have)\b")


_BARE_CONDITION = re.compile(
    r"^(?:if|when|once|in case)\s+(?:[a-z-]+\s+){1,3}"
    r"(?:still\s+)?(?:persists|continues|remains|recurs|repeats|reappears|returns|occurs|happens|"
    r"fires again|comes back|does not (?:help|resolve it|go away)|doesn't (?:help|go away))\s+",
    re.IGNORECASE,
)


# What the step before it shows or gives, or where what it needs is found ("Such configuration
# is available at https://..."): read with that step.
SAYS_WHAT_IT_SHOWS = re.compile(
    r"^(?:there (?:is|are)|(?:this|it|they|these|that) (?:will |should |would )?"
    r"(?:show|list|display|give|return|print|tell|report|reveal|contain|include)s?)\b|"
    r"^(?:such|this|that|the|an?) (?:[\w-]+ ){0,3}(?:is|are) (?:also )?available (?:at|in|from)\b|"
    r"^(?:such|this|that|the|an?) (?:[\w-]+ ){0,3}(?:can|may) be found (?:at|in|here)\b",
    re.IGNORECASE,
)


# A remark of a few words that ends the paragraph of a step bounds that step ("Requests can stay
# the same."); one before another sentence may be what that sentence is about.
_QUALIFIER_WORDS = 6
_EXAMPLE = re.compile(r"^(?:here|for example|for instance|e\.g\.|example)\b", re.I)


def qualifies(sentence: str) -> bool:
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


# A short order whose object is the sentence before it: "The underlying storage volume might
# also be configured as read-only. Ensure it's writable."
_REFERS_BACK = re.compile(
    r"^(?:\w+\s+){1,2}(?:it|it's|it is|them|this|that|these|those|they are)\b(?!\s+\w+ing\b)",
    re.I,
)
_SHORT_ORDER_WORDS = 6


def needs_what_went_before(sentence: str) -> bool:
    """An order that cannot be read alone: it points to documentation without saying what
    for, its object is a pronoun for the sentence before it, or it is a remedy for "it"."""
    return (
        bool(_POINTER.match(sentence))
        or refers_back(sentence)
        or (bool(_PRONOUN_FIRST.match(sentence)) and _fixed_by(sentence))
    )


# "It can be optimized by adding ...": what "it" is, the sentence before says.
_PRONOUN_FIRST = re.compile(r"^(?:it|this|that|these|they)\b", re.I)


def refers_back(sentence: str) -> bool:
    """A short order whose object is a pronoun: "Ensure it's writable.", "Note it in #inc"."""
    return (
        len(sentence.split()) <= _SHORT_ORDER_WORDS
        and bool(IMPERATIVE.match(sentence))
        and bool(_REFERS_BACK.match(sentence))
    )


# The other branch of the sentence before it: it cannot be read alone.
OTHERWISE = re.compile(r"^(?:otherwise|if not|else)\b", re.I)


# A bold label that names the case a sentence is for ("**Current size is 1TB**: Please ..."), or
# a "Note:" label: what follows it is judged on its own ("Note: Replace `<id>` with ..." is an
# order, "Note: The tool performs ..." a remark).
_CASE_LABEL = re.compile(r"^(?:\*\*[^*]{1,80}\*\*:?|(?:\*\*)?note(?:\*\*)?:(?:\*\*)?)\s*", re.I)


# The case a step is for: its bold label ("**Caused by a deploy:** roll back") or the condition
# that opens it ("If the deploy is the cause, roll back").
_BOLD_CASE = re.compile(r"^\*\*([^*]{1,80}?)(?::\*\*|\*\*:)")
_IF_CASE = re.compile(r"^(?:if|when|in case(?: of)?|for)\s+([^,:]{1,100})[,:]", re.IGNORECASE)


def case_of(text: str) -> str:
    """The case a step names as the one it is for ("" when it names none)."""
    match = _BOLD_CASE.match(text) or _IF_CASE.match(text)
    return match.group(1) if match else ""


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


def _orders(root: str) -> bool:
    """Whether a gerund's root ("add" of "adding", "runn" of "running") is an order's verb."""
    root = root.lower()
    forms = {root, root + "e"}
    if len(root) > 2 and root[-1] == root[-2]:
        forms.add(root[:-1])  # running -> run
    return any(IMPERATIVE.match(f"{form} ") for form in forms)


def _gerund_order(sentence: str) -> bool:
    return any(
        _ACHIEVES.search(match.group(2)) and _orders(match.group(1))
        for match in _GERUND.finditer(sentence)
    )


# "A freeze blocks `lark deploy` and auto-sync ...": a statement about what something does names
# a command without saying to run it.
_STATEMENT = re.compile(
    r"^(?:an?|the|this|that|these|those|it|each|every)\s+(?:[a-z-]+\s+){0,2}"
    r"(?:blocks|prevents|stops|means|allows|lets|makes|causes|keeps|disables|enables)\b",
    re.IGNORECASE,
)


# A link's text is what a sentence says: "[Cordon and drain node](https://...) and delete it."
_INLINE_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")


def link_text(text: str) -> str:
    """Text with each inline link written as its words, without its address."""
    return _INLINE_LINK.sub(r"\1", text)


# An action named by its gerund and what it does: "Deleting an incorrect Endpoint should
# trigger its recreation", "Setting the quota value to 0 will disable the quota".
_DOING = re.compile(
    r"^(?!running (?:out|low)\b)([a-z]+?)ing\b"
    # "Running kilns will be drained first" says what happens to them, not what to do.
    r"(?=[^.]*\b(?:will|would|should|can|could|may|might)\s+(?!be\b)\w)",
    re.IGNORECASE,
)


def _doing(sentence: str) -> bool:
    match = _DOING.match(sentence)
    return match is not None and _orders(match.group(1))


# A remedy said as what a thing can be fixed by: "It can be optimized by adding a trailing dot",
# "Faulty configuration, which could be resolved by removing the offending ServiceMonitor".
_FIXED_BY = re.compile(
    r"\b(?:can|could|may|might|should|is|are)\s+(?:usually\s+|often\s+|typically\s+|also\s+)?"
    r"(?:be\s+)?(?:fixed|resolved|solved|mitigated|avoided|prevented|optimi[sz]ed|improved|"
    r"addressed|remedied|cleared|reduced|corrected|repaired)\s+by\s+[*_]*([a-z]+?)ing\b",
    re.IGNORECASE,
)


def _fixed_by(sentence: str) -> bool:
    return any(_orders(m.group(1)) for m in _FIXED_BY.finditer(sentence))


# An aside between dashes: "If the pod is not `Running`--for instance, if it is stuck in
# `ContainerCreating`--try to find out why." is read as "If the pod is not `Running`, try ...".
# A dash after a space and before a word opens a flag (`--force`), not an aside.
_DASH = r"(?:(?<=[\w`)])--(?=[\w`])|\s--\s|\u2014)"
_ASIDE = re.compile(rf"\s*{_DASH}[^\n]{{1,120}}?{_DASH}\s*")


# What should be done, said in the passive: "This alert should be routed to a null receiver";
# not in a note ("NOTE: Manual corrections should be reported to the vendor" is a remark).
_SHOULD_BE = re.compile(r"\bshould be [a-z]+(?:ed|en)\b", re.IGNORECASE)
_NOTE = re.compile(r"^\W*(?:please )?note\b", re.IGNORECASE)


def is_step_sentence(sentence: str, codes: list[str]) -> bool:
    bare = _ASIDE.sub(", ", link_text(_CASE_LABEL.sub("", sentence)))
    return bool(
        (codes and not _STATEMENT.match(bare))
        or (_SHOULD_BE.search(bare) and not _NOTE.match(sentence))
        or IMPERATIVE.match(bare)
        or _gerund_order(bare)
        or _doing(bare)
        or _fixed_by(bare)
        or _CHECK_PROSE.search(bare)
        or conditional_order(bare)
        or _EXPECT.match(bare)
        or names_a_cause(bare)
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
