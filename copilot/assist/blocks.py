"""A runbook section's markdown as blocks (paragraphs, list items with their sub-items, code,
table rows), and which code in it is a command, a query or sample output."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from copilot.fences import NESTED_FENCE
from copilot.listitems import LIST_MARKER
from copilot.promql import holds_query

_LIST_MARKER = re.compile(r"^\s*" + LIST_MARKER + r"(?:\[[ xX]\]\s+)?")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
_SQL = re.compile(r"^(?:select|show|explain|update|delete|insert|alter|vacuum|analyze)\b", re.I)
_CLI = re.compile(r"^(?:\$\s*)?(?:sudo\s+)?[a-z][a-z0-9_.-]*(?:\s|$)")


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
    ceph rados rbd radosgw-admin ceph-volume podman skopeo ethtool lsblk mdadm base64
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


def flat(text: str) -> str:
    return " ".join(text.split())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


@dataclass
class Block:
    kind: str  # "item", "code", "para", "row"
    head: list[str] = field(default_factory=list)  # the item's own lines / paragraph lines
    subs: list[str] = field(default_factory=list)  # nested items, folded into the parent
    code: list[str] = field(default_factory=list)  # fenced blocks inside, one string each


_QUOTE = re.compile(r"^(?:>(?![=>])\s?)+")


def blocks(text: str) -> list[Block]:
    """Top-level list items (with their continuation lines, sub-items and code blocks),
    top-level code blocks (fenced or indented), paragraphs and table rows, in order."""
    out: list[Block] = []
    lines = text.split("\n")
    i = 0
    current: Block | None = None
    item_indent = 0
    while i < len(lines):
        line = lines[i]
        if opened := NESTED_FENCE.match(line):
            fence = opened.group(1)
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
                out.append(Block("code", code=[code] if code else []))
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
            out.append(Block("code", code=[code] if code else []))
            continue
        # A blockquote's marks are not words: "> Note that deleting the PVC ..." reads as a note.
        stripped = _QUOTE.sub("", line.strip())
        if not stripped:
            # A blank line ends a paragraph; an item goes on while what follows is indented.
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if current is not None and (current.kind != "item" or _indent(nxt) <= item_indent):
                current = None
            i += 1
            continue
        if stripped.startswith("|"):
            current = None
            out.append(Block("row", head=[stripped]))
            i += 1
            continue
        if _LIST_MARKER.match(line):
            if current is not None and current.kind == "item" and _indent(line) > item_indent:
                current.subs.append(flat(_LIST_MARKER.sub("", line, count=1)))
            else:
                current = Block("item", head=[_LIST_MARKER.sub("", line, count=1).strip()])
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
            current = Block("para", head=[stripped])
            out.append(current)
        i += 1
    return out


_OUTPUT_LINE = re.compile(
    r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|"
    # A Kubernetes component's log line: "I1126 17:15:38.991090   3069 update.go:2618] ..."
    r"[IWEF]\d{4} \d\d:\d\d:\d\d|"
    r"[A-Z][A-Z_]{2,}(?: [A-Z_]+)*\s{2,}[A-Z])"
)


def looks_like_output(code: str) -> bool:
    """A code block that shows what a command prints (log lines with timestamps, a table
    with a NAME header), not something to run."""
    first = next((x.strip() for x in code.splitlines() if x.strip()), "")
    return bool(_OUTPUT_LINE.match(first))


# A shell prompt: `$ `, `sh-4.4$ `, `[root@host ~]$ `, `user@host:~$ `.
PROMPT = re.compile(r"^\s*(?:sh-[\d.]+|\[[^\]\n]*\]|[\w.-]+@[\w.:~/-]+)?\$\s", re.MULTILINE)


def _open_quote(command: str) -> bool:
    """Whether a command so far leaves a quote open (its argument goes on to the next line)."""
    bare = command.replace("\\'", "").replace('\\"', "")
    return bare.count("'") % 2 == 1 or bare.count('"') % 2 == 1


_ROOT_PROMPT = re.compile(r"^\s*(?:sh-[\d.]+)?#\s+(?=\S)")


def prompted(line: str) -> bool:
    """A line typed at a prompt: `$ oc debug node/x`, or in the root shell it opens
    (`# chroot /host`, `sh-4.4# systemctl restart crio`), not a `# comment`."""
    if PROMPT.match(line):
        return True
    root = _ROOT_PROMPT.match(line)
    return root is not None and looks_like_command(line[root.end() :])


_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Z_][A-Z0-9_]*=\S")


def _command_line(line: str) -> bool:
    """A line to run though no prompt shows it: a known command or a variable set for the next."""
    return bool(_ASSIGNMENT.match(line)) or looks_like_command(line)


def all_commands(code: str) -> bool:
    lines = [x for x in code.splitlines() if x.strip()]
    return bool(lines) and all(x.lstrip().startswith("#") or _command_line(x) for x in lines)


def as_runnable(code: str) -> str:
    """What to run in a code block: when it shows a shell prompt (`$ kubectl logs ...`), the
    prompt lines (with the lines they go on to: after a trailing backslash or an open quote)
    and comments, without the output printed under them, which is an example of what to
    expect, not something to paste. A heredoc's body is part of its command: such a block
    stays whole."""
    if "<<" in code or not PROMPT.search(code):
        return code
    kept: list[str] = []
    current: str | None = None
    for line in code.splitlines():
        if current is not None:
            current += "\n" + line
        elif prompted(line) or _command_line(line):
            current = line
        elif not line.lstrip().startswith("#"):
            continue  # output
        kept.append(line)  # a command, its continuation, or a comment on what comes next
        if current is not None and not (line.rstrip().endswith("\\") or _open_quote(current)):
            current = None
    return "\n".join(kept)


def empty_command(code: str) -> bool:
    """A code block with nothing to run: only comments ("# TODO: command needed")."""
    lines = [x.strip() for x in code.splitlines() if x.strip()]
    return all(x.startswith(("#", "//", "--")) and not prompted(x) for x in lines)


def commands_in(text: str) -> list[str]:
    return [c for c in INLINE_CODE.findall(text) if looks_like_command(c)]


def inline_code(text: str) -> list[str]:
    """What a text writes as inline code."""
    return INLINE_CODE.findall(text)
