# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings about the audit itself: hosts that could not be read in full."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.findings import Definition

UNREACHABLE = Definition("AQ-HOST-001", "host", "error", "Host unreachable")
GATHER_FAILED = Definition("AQ-HOST-002", "host", "error", "Evidence gathering failed")
EVIDENCE_MISSING = Definition("AQ-HOST-003", "host", "warning", "Evidence source missing or unreadable")

DEFINITIONS = (UNREACHABLE, GATHER_FAILED, EVIDENCE_MISSING)
DEFAULT_POLICY = {}


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
