# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rot in progress: CLOSE_WAIT on listened ports, processes blocked in flock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey

CLOSE_WAIT = Rule(
    "AQ-ROT-001",
    "rot",
    "warning",
    "CLOSE_WAIT piling up on a listened port",
    needs=("connections", "sockets"),
    policy=("close_wait_min",),
    explanation=(
        "At least `acceptq_policy.close_wait_min` (default 5) TCP connections in\n"
        "CLOSE_WAIT on a port a local listener owns. Their clients have closed; the\n"
        "service will still accept them, do the work and write into a broken pipe. The\n"
        "evidence gives the port's ESTABLISHED count and the listener's queue.\n"
    ),
)
FLOCK_WAITERS = Rule(
    "AQ-ROT-002",
    "rot",
    "warning",
    "Processes blocked waiting for a file lock",
    needs=("locks",),
    policy=("flock_waiters_min",),
    explanation=(
        "At least `acceptq_policy.flock_waiters_min` (default 2) processes blocked on\n"
        "one file's lock (`/proc/locks` \"->\" lines), with the file's path where a\n"
        "holder has it open, the holders and the waiters by process name. Exclusive\n"
        "locks around append-mode log writes turn every worker into a waiter behind\n"
        "one slow write.\n"
    ),
)
MAX_CHILDREN = Rule(
    "AQ-ROT-003",
    "rot",
    "warning",
    "php-fpm pool reached pm.max_children",
    needs=("php_fpm",),
    explanation=(
        "A pool's status page (read over FastCGI from the pool's own socket, so it\n"
        "needs `pm.status_path`) reports `max children reached` above zero: every\n"
        "worker was busy and requests waited in the kernel's accept queue. For unix\n"
        "socket pools php-fpm's own `listen queue` always reads 0; the listener's\n"
        "Recv-Q in the sockets evidence is the truthful depth.\n"
    ),
)

DEFINITIONS = (CLOSE_WAIT, FLOCK_WAITERS, MAX_CHILDREN)
POLICY = (
    PolicyKey("close_wait_min", 5, "CLOSE_WAIT connections on one listened port before it is reported."),
    PolicyKey("flock_waiters_min", 2, "Processes blocked on one file's lock before it is reported."),
)


def _listened_ports(evidence):
    ports = {}
    for listener in (evidence.get("sockets") or {}).get("listeners") or []:
        if listener.get("family") in ("inet", "inet6"):
            ports.setdefault(listener["port"], listener)
    return ports


def check_close_wait(host, evidence, policy):
    by_port = (evidence.get("connections") or {}).get("by_local_port") or {}
    findings = []
    for port, listener in sorted(_listened_ports(evidence).items()):
        states = by_port.get(str(port)) or {}
        close_wait = states.get("CLOSE_WAIT", 0)
        if close_wait < policy["close_wait_min"]:
            continue
        owner = listener.get("owner") or {}
        findings.append(
            CLOSE_WAIT.finding(
                host,
                observed="port %d (%s of %s): %d CLOSE_WAIT, %d ESTABLISHED; accept queue %s/%s"
                % (
                    port,
                    listener["local"],
                    owner.get("name") or "an unknown process",
                    close_wait,
                    states.get("ESTABLISHED", 0),
                    listener.get("queue_depth"),
                    listener.get("backlog_limit"),
                ),
                expected="fewer than %d CLOSE_WAIT (policy close_wait_min)" % policy["close_wait_min"],
                fix="Clients gave up on these connections before the service answered: the service will "
                "do their work for nothing. Shorten its backlog to what it drains within the client's "
                "timeout and find what stalls its workers.",
                evidence={"port": port, "listener": listener["local"], "states": states, "owner": owner or None},
            )
        )
    return findings


def check_flock_waiters(host, evidence, policy):
    findings = []
    for record in (evidence.get("locks") or {}).get("files") or []:
        if record["waiters"] < policy["flock_waiters_min"]:
            continue
        where = record.get("path") or "device %s inode %s" % (record["device"], record["inode"])
        holders = ", ".join("%s/%s" % (holder.get("name"), holder["pid"]) for holder in record["holders"]) or "none"
        findings.append(
            FLOCK_WAITERS.finding(
                host,
                observed="%d process(es) blocked on %s lock of %s (%s); held by %s"
                % (
                    record["waiters"],
                    "/".join(record["kind"]),
                    where,
                    ", ".join("%s x%d" % item for item in sorted(record["waiters_by_process"].items())),
                    holders,
                ),
                expected="fewer than %d waiters per file (policy flock_waiters_min)" % policy["flock_waiters_min"],
                fix="Drop the exclusive lock around append-mode log writes (one O_APPEND write per record "
                "needs none on a local filesystem; monolog useLocking: false), or log through syslog.",
                evidence=record,
            )
        )
    return findings


def check_max_children(host, evidence, policy):
    findings = []
    for pool in (evidence.get("php_fpm") or {}).get("pools") or []:
        status = pool.get("status") or {}
        reached = status.get("max children reached")
        if not isinstance(reached, int) or reached <= 0:
            continue
        findings.append(
            MAX_CHILDREN.finding(
                host,
                observed="pool %s (%s, %s): max children reached %d times since start; pm.max_children %s, "
                "listen queue %s, max listen queue %s"
                % (
                    pool["name"],
                    pool["binary"],
                    pool["listen"],
                    reached,
                    pool["settings"].get("pm.max_children"),
                    status.get("listen queue"),
                    status.get("max listen queue"),
                ),
                expected="workers to spare: max children reached stays 0",
                fix="Every worker was busy and requests queued in the kernel. Find what slows the workers "
                "(slow requests, I/O, locks) before adding children, and keep the backlog no deeper than "
                "the workers drain within the client's timeout.",
                evidence={"pool": pool["name"], "binary": pool["binary"], "status": status},
            )
        )
    return findings


CHECKS = (check_close_wait, check_flock_waiters, check_max_children)


CONCERN = Concern(
    "rot",
    "the failure in progress",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc="",
)
