# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel queue checks: somaxconn, listener caps, accept/SYN queue overflows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey

CAPPED = Rule(
    "AQ-KERNEL-001",
    "kernel",
    "warning",
    "Listener backlog capped by somaxconn",
    needs=("sockets", "kernel"),
    policy=("cap_exempt_owners",),
    explanation=(
        "A listener's effective backlog (Send-Q of a listening socket, TCP or unix)\n"
        "equals `net.core.somaxconn`, and its configured backlog (when the\n"
        "configuration is known) is larger. The service asked for more than it got;\n"
        "on PHP ≥ 8.2 `listen.backlog = -1` (the default) always lands here, with a\n"
        "4096-deep queue in front of a handful of workers. Size the service's backlog\n"
        "by throughput × acceptable wait and restart it; raise somaxconn only when\n"
        "the sized value needs it. Listeners owned by processes matching\n"
        '`acceptq_policy.cap_exempt_owners` (default `["systemd*"]`: systemd\'s socket\n'
        "units ask for the largest backlog on purpose) are not reported.\n"
    ),
)
SOMAXCONN_LOW = Rule(
    "AQ-KERNEL-002",
    "kernel",
    "warning",
    "somaxconn below the declared minimum",
    needs=("kernel",),
    policy=("somaxconn_min",),
    explanation=(
        "`net.core.somaxconn` < `acceptq_policy.somaxconn_min` (default 4096, the\n"
        "kernel default since Linux 5.4). Apply the `kernel_queues` role.\n"
    ),
)
QUEUE_FULL = Rule(
    "AQ-KERNEL-003",
    "kernel",
    "error",
    "Accept queue full now",
    needs=("sockets",),
    explanation=(
        "A listener's accept-queue depth (Recv-Q) is at or above its limit (Send-Q).\n"
        "The kernel holds backlog + 1 connections; past that, TCP SYNs are dropped\n"
        "(ListenOverflows) and unix connects fail with EAGAIN (nginx logs\n"
        "`(11: Resource temporarily unavailable)`, no counter moves). The owner is not\n"
        "accepting: stalled workers, I/O, locks.\n"
    ),
)
OVERFLOW_RISING = Rule(
    "AQ-KERNEL-004",
    "kernel",
    "error",
    "Accept-queue overflows rising",
    needs=("kernel", "sockets"),
    explanation=(
        "`ListenOverflows` or `ListenDrops` (TcpExt) rose between the gather module's\n"
        "two reads, `acceptq_counter_sample_interval` seconds apart (default 1 s).\n"
        "Connections are being dropped now. The evidence lists the listeners that are\n"
        "full at that moment.\n"
        "With a backlog sized by acceptq this is expected while the owner is stalled:\n"
        "the short queue refuses new connections (nginx's sub-second connect timeout\n"
        "turns them into counted 504s) instead of holding connections that will be\n"
        "dead by the time a worker accepts them. Look for what stalls the owner\n"
        "before deepening the queue; AQ-BACKLOG-003 says when the size itself is short.\n"
    ),
)
OVERFLOW_HISTORY = Rule(
    "AQ-KERNEL-005",
    "kernel",
    "info",
    "Accept-queue overflows since boot",
    needs=("kernel",),
    explanation=(
        "The counters are non-zero but did not rise during the sample (or were read\n"
        "once). History, not an emergency: correlate with service logs.\n"
    ),
)
ABOVE_SOMAXCONN = Rule(
    "AQ-KERNEL-006",
    "kernel",
    "info",
    "Listener backlog above the current somaxconn",
    needs=("sockets", "kernel"),
    explanation=(
        "A listener was opened before somaxconn was lowered and keeps its larger\n"
        "backlog; its next restart will cut it to somaxconn.\n"
    ),
)
SYN_DROPS_RISING = Rule(
    "AQ-KERNEL-007",
    "kernel",
    "warning",
    "SYN-queue drops rising",
    needs=("kernel",),
    explanation=(
        "`TCPReqQFullDrop` rose during the sample: the SYN queue is full and SYN\n"
        "cookies are off. Keep `net.ipv4.tcp_syncookies = 1` and raise\n"
        "`net.ipv4.tcp_max_syn_backlog` (role `kernel_queues`). `TCPBacklogDrop`\n"
        "counts a socket's own receive backlog and is reported as evidence only.\n"
    ),
)
QUEUE_NEAR = Rule(
    "AQ-KERNEL-008",
    "kernel",
    "warning",
    "Accept queue near its limit now",
    needs=("sockets",),
    policy=("queue_near_ratio",),
    explanation=(
        "A listener's accept-queue depth is at least `acceptq_policy.queue_near_ratio`\n"
        "(default 0.8) of its limit, but not yet full: its owner is falling behind and\n"
        "connections are waiting in the kernel for a worker.\n"
    ),
)

DEFINITIONS = (
    CAPPED,
    SOMAXCONN_LOW,
    QUEUE_FULL,
    OVERFLOW_RISING,
    OVERFLOW_HISTORY,
    ABOVE_SOMAXCONN,
    SYN_DROPS_RISING,
    QUEUE_NEAR,
)
POLICY = (
    PolicyKey(
        "somaxconn_min",
        4096,
        "net.core.somaxconn must be at least this; 4096 is the kernel default since Linux 5.4 "
        "and the kernel_queues role's default.",
    ),
    PolicyKey(
        "cap_exempt_owners",
        ["systemd*"],
        "Owners (process name patterns) whose listeners ask for the largest backlog on purpose: "
        "systemd's socket units default to Backlog=INT_MAX.",
    ),
    PolicyKey("queue_near_ratio", 0.8, "Depth / limit at which a queue that is not yet full is reported."),
)

ACCEPT_COUNTERS = ("ListenOverflows", "ListenDrops")
SYN_COUNTERS = ("TCPReqQFullDrop",)


def _somaxconn(evidence):
    kernel = evidence.get("kernel") or {}
    return (kernel.get("sysctls") or {}).get("net.core.somaxconn")


def _listeners(evidence):
    return (evidence.get("sockets") or {}).get("listeners") or []


def _listener_evidence(listener):
    return {
        "listener": listener["local"],
        "family": listener["family"],
        "queue_depth": listener["queue_depth"],
        "backlog_limit": listener["backlog_limit"],
        "owner": listener.get("owner"),
    }


def _owner(listener):
    owner = listener.get("owner")
    if not owner:
        return "an unknown process"
    return "%s (pid %s)" % (owner.get("name") or "?", owner.get("pid"))


def check_listener_caps(host, evidence, policy):
    """A listener whose backlog is cut by somaxconn, or will be on restart."""
    somaxconn = _somaxconn(evidence)
    if somaxconn is None:
        return []
    findings = []
    exempt = policy["cap_exempt_owners"]
    for listener in _listeners(evidence):
        limit = listener.get("backlog_limit")
        configured = listener.get("configured_backlog")
        owner_name = (listener.get("owner") or {}).get("name") or ""
        if limit is None or any(fnmatch.fnmatchcase(owner_name, pattern) for pattern in exempt):
            continue
        details = _listener_evidence(listener)
        details["somaxconn"] = somaxconn
        if configured is not None:
            details["configured_backlog"] = configured
        if limit == somaxconn and (configured is None or configured > limit):
            asked = "configured %s" % configured if configured is not None else "configured at or above the cap"
            findings.append(
                CAPPED.finding(
                    host,
                    observed="%s of %s: effective backlog (Send-Q) %d = net.core.somaxconn %d (%s)"
                    % (listener["local"], _owner(listener), limit, somaxconn, asked),
                    expected="a backlog sized by throughput x acceptable wait, below net.core.somaxconn",
                    fix="Set the service's backlog to its sized value (listen.backlog for php-fpm, "
                    "listen ... backlog= for nginx) and restart it; raise net.core.somaxconn with "
                    "the kernel_queues role only if the sized value needs it.",
                    evidence=details,
                )
            )
        elif limit > somaxconn:
            findings.append(
                ABOVE_SOMAXCONN.finding(
                    host,
                    observed="%s of %s: effective backlog %d > net.core.somaxconn %d; it was opened "
                    "before somaxconn was lowered" % (listener["local"], _owner(listener), limit, somaxconn),
                    expected="effective backlog <= net.core.somaxconn",
                    fix="Nothing is wrong now; the next restart of %s will cut its backlog to %d."
                    % (_owner(listener), somaxconn),
                    evidence=details,
                )
            )
    return findings


def check_somaxconn_minimum(host, evidence, policy):
    somaxconn = _somaxconn(evidence)
    minimum = policy["somaxconn_min"]
    if somaxconn is None or somaxconn >= minimum:
        return []
    return [
        SOMAXCONN_LOW.finding(
            host,
            observed="net.core.somaxconn = %d" % somaxconn,
            expected="net.core.somaxconn >= %d (policy somaxconn_min)" % minimum,
            fix="Apply the kernel_queues role (kernel_queues_somaxconn: %d), then restart the services "
            "whose listeners it capped." % minimum,
            evidence={"net.core.somaxconn": somaxconn, "somaxconn_min": minimum},
        )
    ]


def check_queues_full(host, evidence, policy):
    """A listener whose accept queue is at, or near, its limit right now."""
    findings = []
    for listener in _listeners(evidence):
        depth, limit = listener.get("queue_depth"), listener.get("backlog_limit")
        if depth is None or limit is None or depth == 0:
            continue
        if depth < limit:
            if depth >= policy["queue_near_ratio"] * limit:
                findings.append(
                    QUEUE_NEAR.finding(
                        host,
                        observed="%s of %s: accept queue %d deep, limit %d (%.0f%%)"
                        % (listener["local"], _owner(listener), depth, limit, 100.0 * depth / limit),
                        expected="depth below %.0f%% of the limit (policy queue_near_ratio)"
                        % (100 * policy["queue_near_ratio"]),
                        fix="%s is falling behind: connections wait in the kernel for a worker. Find what "
                        "slows its workers before the queue fills." % _owner(listener),
                        evidence=_listener_evidence(listener),
                    )
                )
            continue
        findings.append(
            QUEUE_FULL.finding(
                host,
                observed="%s of %s: accept queue %d deep, limit %d"
                % (listener["local"], _owner(listener), depth, limit),
                expected="accept queue well below its limit (the owner accepts as fast as connections arrive)",
                fix="Find why %s stopped accepting (stalled workers, I/O, locks); new connections are "
                "being dropped or refused now." % _owner(listener),
                evidence=_listener_evidence(listener),
            )
        )
    return findings


def _deltas(kernel, names):
    current = kernel.get("counters") or {}
    previous = kernel.get("counters_previous") or {}
    deltas = {}
    for name in names:
        if current.get(name) is not None and previous.get(name) is not None:
            deltas[name] = current[name] - previous[name]
    return deltas


def _full_listeners(evidence):
    return [
        listener["local"]
        for listener in _listeners(evidence)
        if listener.get("queue_depth")
        and listener.get("backlog_limit") is not None
        and listener["queue_depth"] >= listener["backlog_limit"]
    ]


def check_overflow_counters(host, evidence, policy):
    """ListenOverflows/ListenDrops: rising during the sample, or only in the past."""
    kernel = evidence.get("kernel") or {}
    current = kernel.get("counters") or {}
    totals = dict((name, current[name]) for name in ACCEPT_COUNTERS if current.get(name) is not None)
    if not any(totals.values()):
        return []
    deltas = _deltas(kernel, ACCEPT_COUNTERS)
    interval = kernel.get("counter_interval_s")
    details = {
        "counters": totals,
        "deltas": deltas,
        "interval_s": interval,
        "netns": kernel.get("netns"),
        "full_listeners": _full_listeners(evidence),
    }
    if any(deltas.values()):
        rates = ", ".join("%s +%d in %.1fs" % (name, delta, interval) for name, delta in sorted(deltas.items()))
        suspects = details["full_listeners"]
        return [
            OVERFLOW_RISING.finding(
                host,
                observed="accept queues overflowing now: %s (totals %s)%s"
                % (
                    rates,
                    ", ".join("%s=%d" % item for item in sorted(totals.items())),
                    "; full: %s" % ", ".join(suspects) if suspects else "",
                ),
                expected="ListenOverflows and ListenDrops not rising",
                fix="A listener's queue is too shallow for its bursts or its owner is stalled: size the "
                "backlog by throughput x acceptable wait and fix what keeps workers from accepting.",
                evidence=details,
            )
        ]
    sampled = "not rising during %.1fs" % interval if interval else "not sampled twice"
    return [
        OVERFLOW_HISTORY.finding(
            host,
            observed="accept queues overflowed since boot: %s (%s)"
            % (", ".join("%s=%d" % item for item in sorted(totals.items())), sampled),
            expected="no overflow; past ones show a queue that was too shallow or a stalled owner",
            fix="Correlate with service logs (nginx '(11: Resource temporarily unavailable)' or "
            "'(111: Connection refused)'); the queue_facts rates show when it happens.",
            evidence=details,
        )
    ]


def check_syn_queue(host, evidence, policy):
    kernel = evidence.get("kernel") or {}
    deltas = _deltas(kernel, SYN_COUNTERS)
    if not any(deltas.values()):
        return []
    sysctls = kernel.get("sysctls") or {}
    return [
        SYN_DROPS_RISING.finding(
            host,
            observed="TCPReqQFullDrop +%d in %.1fs (net.ipv4.tcp_max_syn_backlog %s, tcp_syncookies %s)"
            % (
                deltas["TCPReqQFullDrop"],
                kernel.get("counter_interval_s") or 0,
                sysctls.get("net.ipv4.tcp_max_syn_backlog"),
                sysctls.get("net.ipv4.tcp_syncookies"),
            ),
            expected="no SYNs dropped for a full SYN queue",
            fix="Keep net.ipv4.tcp_syncookies = 1 and raise net.ipv4.tcp_max_syn_backlog with the kernel_queues role.",
            evidence={"deltas": deltas, "sysctls": sysctls},
        )
    ]


CHECKS = (check_listener_caps, check_somaxconn_minimum, check_queues_full, check_overflow_counters, check_syn_queue)


CONCERN = Concern(
    "kernel",
    "somaxconn, listeners, queue counters",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc=(
        "All of these are per network namespace: a container has its own somaxconn and\n"
        "its own counters. The evidence names the namespace (`net:[inode]`).\n"
    ),
)
