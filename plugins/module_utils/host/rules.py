# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings about the audit itself: hosts that could not be read in full."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern

UNREACHABLE = Rule(
    "AQ-HOST-001",
    "host",
    "error",
    "Host unreachable",
    needs=(),
    explanation=(
        "Ansible could not connect. The host gets this row; the other hosts are still\n"
        "audited. Fix the address, credentials or connection variables.\n"
    ),
)
GATHER_FAILED = Rule(
    "AQ-HOST-002",
    "host",
    "error",
    "Evidence gathering failed",
    needs=(),
    explanation=(
        "The gather module did not return evidence (no Python 3 on the host, or a bad\n"
        "`acceptq_policy`). The observed text carries Ansible's message.\n"
    ),
)
EVIDENCE_MISSING = Rule(
    "AQ-HOST-003",
    "host",
    "warning",
    "Evidence source missing or unreadable",
    needs=(),
    explanation=(
        "One source could not be read: a missing `/proc` file, an unreadable socket\n"
        "table (netlink sock_diag refused), a value that is not a number, or a host\n"
        "that is not Linux. The observed text names the source; checks that need it\n"
        "are skipped and the rest of the audit goes on.\n"
    ),
)

DEFINITIONS = (UNREACHABLE, GATHER_FAILED, EVIDENCE_MISSING)
POLICY = ()


def unreachable(host, message):
    return UNREACHABLE.finding(
        host,
        observed="unreachable: %s" % message.strip(),
        expected="reachable over the inventory's connection",
        fix="Check the address, credentials and connection variables of this host; the other hosts were audited.",
        evidence={"message": message},
    )


def gather_failed(host, message):
    return GATHER_FAILED.finding(
        host,
        observed="gathering failed: %s" % message.strip(),
        expected="one read-only gather call returning evidence",
        fix="Make sure Python 3 runs on the host; the message above names what failed.",
        evidence={"message": message},
    )


def check_evidence_errors(host, evidence, policy):
    findings = []
    for error in evidence.get("errors", []):
        findings.append(
            EVIDENCE_MISSING.finding(
                host,
                observed="%s evidence incomplete: %s" % (error["section"], error["message"]),
                expected="%s readable" % error["source"],
                fix="Run the audit with privileges that can read %s; checks that need it were skipped."
                % error["source"],
                evidence=error,
            )
        )
    return findings


CHECKS = (check_evidence_errors,)


CONCERN = Concern(
    "host",
    "the audit itself",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc="",
)
