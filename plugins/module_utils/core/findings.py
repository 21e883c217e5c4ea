# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The finding: one judged fact about one host, as plain data.

Reports, exit codes and metrics are all views of a list of these. Pure Python
with no Ansible import, shared by the action plugin, the modules and the CLI.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SEVERITIES = ("info", "warning", "error", "critical")


def severity_rank(severity):
    """Order of a severity name; unknown names rank above everything."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)


class Rule:
    """A finding id and everything said about it: docs/findings.md is generated from these.

    needs: the evidence sections it judges (a host whose sections are
    missing is reported, never judged clean). policy: the acceptq_policy keys
    it reads. escalation: when its severity differs from the default, and why.
    explanation: what it means and how to fix it (markdown).
    scope: "host" (judged per host) or "fleet" (judged over the inventory).
    """

    def __init__(
        self,
        finding_id,
        concern,
        severity,
        title,
        explanation="",
        needs=(),
        policy=(),
        escalation=None,
        scope="host",
    ):
        if severity not in SEVERITIES:
            raise ValueError("%s: unknown severity %r" % (finding_id, severity))
        if scope not in ("host", "fleet"):
            raise ValueError("%s: unknown scope %r" % (finding_id, scope))
        self.id = finding_id
        self.concern = concern
        self.severity = severity
        self.title = title
        self.explanation = explanation.strip()
        self.needs = tuple(needs)
        self.policy = tuple(policy)
        self.escalation = escalation
        self.scope = scope

    def finding(self, host, observed, expected, fix, evidence=None, severity=None, file=None, line=None):
        return Finding(
            finding_id=self.id,
            severity=severity or self.severity,
            host=host,
            concern=self.concern,
            title=self.title,
            observed=observed,
            expected=expected,
            fix=fix,
            evidence=evidence or {},
            file=file,
            line=line,
        )


class Finding:
    FIELDS = ("id", "severity", "host", "concern", "title", "observed", "expected", "fix", "evidence")
    # Where the finding points in a file, when it does (scans, SARIF, editors).
    LOCATION = ("file", "line")

    def __init__(
        self, finding_id, severity, host, concern, title, observed, expected, fix, evidence=None, file=None, line=None
    ):
        self.id = finding_id
        self.severity = severity
        self.host = host
        self.concern = concern
        self.title = title
        self.observed = observed
        self.expected = expected
        self.fix = fix
        self.evidence = evidence or {}
        self.file = file
        self.line = line

    def to_dict(self):
        data = dict((field, getattr(self, field)) for field in self.FIELDS)
        for field in self.LOCATION:
            if getattr(self, field) is not None:
                data[field] = getattr(self, field)
        return data

    @classmethod
    def from_dict(cls, data):
        missing = [field for field in cls.FIELDS if field not in data and field != "evidence"]
        if missing:
            raise ValueError("finding lacks %s" % ", ".join(missing))
        return cls(
            data["id"],
            data["severity"],
            data["host"],
            data["concern"],
            data["title"],
            data["observed"],
            data["expected"],
            data["fix"],
            data.get("evidence"),
            file=data.get("file"),
            line=data.get("line"),
        )

    def sort_key(self):
        return (-severity_rank(self.severity), self.host, self.id, self.observed)

    def __repr__(self):
        return "Finding(%s %s %s: %s)" % (self.id, self.severity, self.host, self.observed)


def at_or_above(findings, threshold):
    """The findings whose severity is at or above the threshold name."""
    floor = severity_rank(threshold)
    return [finding for finding in findings if severity_rank(finding.severity) >= floor]


def summarize(findings):
    counts = dict((severity, 0) for severity in SEVERITIES)
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts
