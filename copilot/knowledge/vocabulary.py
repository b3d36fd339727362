"""Short names responders type for Kubernetes objects, spelled out for search.

A tired engineer writes "sts stuck at 2/3"; the runbook says StatefulSet. These are kubectl's own
documented short names (`kubectl api-resources`, with CDI's `dv`; not KubeVirt's `vmi`, whose long
form pulled a VMI question to generic virtual-machine runbooks on the dev set) and a few
ubiquitous abbreviations, not words taken from any query set. A query keeps its own words; the long
form is added beside them.
"""

from __future__ import annotations

import re

SHORT_NAMES: dict[str, str] = {
    "cm": "ConfigMap",
    "crd": "CustomResourceDefinition",
    "crds": "CustomResourceDefinitions",
    "cj": "CronJob",
    "csr": "CertificateSigningRequest",
    "dv": "DataVolume",
    "ds": "DaemonSet",
    "ep": "Endpoints",
    "hpa": "HorizontalPodAutoscaler",
    "ing": "Ingress",
    "k8s": "Kubernetes",
    "ksm": "kube-state-metrics",
    "mcp": "MachineConfigPool",
    "netpol": "NetworkPolicy",
    "pdb": "PodDisruptionBudget",
    "pv": "PersistentVolume",
    "pvc": "PersistentVolumeClaim",
    "pvcs": "PersistentVolumeClaims",
    "rs": "ReplicaSet",
    "sc": "StorageClass",
    "sa": "ServiceAccount",
    "sts": "StatefulSet",
    "svc": "Service",
}
_SHORT = re.compile(r"\b(" + "|".join(map(re.escape, SHORT_NAMES)) + r")\b", re.IGNORECASE)


# Phrases of the trade with the words runbooks use for them: general usage, not words taken from
# any query set.
PHRASES: dict[str, str] = {
    r"jumbo frames?": "MTU 9000",
    r"(?:clock|time) drift(?:ed|s|ing)?": "clock skew",
    r"three quarters": "75%",
    r"out of memory": "OOM",
    r"crash[- ]?loop(?:ing|s)?": "CrashLoopBackOff",
    r"certs?(?!-)": "certificate",  # not cert-manager
    # Long forms a responder types for the short ones alert names use.
    r"custom resources?": "CR",
    r"ceph manager": "mgr",
    r"metadata servers?": "MDS",
    r"object storage daemons?": "OSD",
    # Hardware abbreviations alert names spell out ("NodeNetworkReceiveErrs", "MemoryOvercommit");
    # not "tx", which a database runbook reads as a transaction.
    r"ram": "memory",
    r"rx": "receive",
    # Signing in as a responder types it; not "logs in loki" nor "logging in prod".
    r"(?:log(?:ged)?|sign(?:ed|ing|s)?)[ -](?:in|on)": "login",
    # A status code as responders say it ("500s", "502 errors", "returning 503"); runbooks and
    # alerts name the class.
    r"5\d\d(?:s| errors?| responses?)|(?:http|status|code|returning|returns?) 5\d\d": "5xx",
    r"4\d\d(?:s| errors?| responses?)|(?:http|status|code|returning|returns?) 4\d\d": "4xx",
}
_PHRASE = [(re.compile(rf"\b{p}\b", re.IGNORECASE), words) for p, words in PHRASES.items()]


def spell_out(query: str, phrases: bool = True) -> str:
    """The query with each short name followed by its long form: "sts (StatefulSet) ...", and
    (with `phrases`) each phrase of the trade by the runbooks' words: "jumbo frames (MTU 9000)"."""
    query = _SHORT.sub(lambda m: f"{m.group(0)} ({SHORT_NAMES[m.group(0).lower()]})", query)
    return with_phrases(query) if phrases else query


def with_phrases(text: str) -> str:
    """The text with each phrase of the trade followed by the runbooks' words for it."""
    for pattern, words in _PHRASE:
        text = pattern.sub(rf"\g<0> ({words})", text)
    return text
