# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a concern declares to the registry: its rules, policy keys and checks.

Controller side. A host check takes (host, evidence, policy) and returns
findings for that host; a fleet check takes (fleet, policy), where fleet is
a ``core.fleet.Fleet`` over every audited host's evidence, and returns
findings that may name several hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PolicyKey:
    """One acceptq_policy threshold: its name, default and what it means."""

    def __init__(self, name, default, doc):
        self.name, self.default, self.doc = name, default, doc


class Concern:
    """One concern's place in the registry."""

    def __init__(self, name, title, rules, policy=(), checks=(), fleet_checks=(), doc=""):
        self.name = name
        self.title = title
        self.rules = tuple(rules)
        self.policy = tuple(policy)
        self.checks = tuple(checks)
        self.fleet_checks = tuple(fleet_checks)
        self.doc = doc.strip()
        for rule in self.rules:
            if rule.concern != name:
                raise ValueError("%s is declared by concern %s but says %s" % (rule.id, name, rule.concern))
        known = set(key.name for key in self.policy)
        for rule in self.rules:
            for key in rule.policy:
                if key not in known and not key.startswith("workload"):
                    raise ValueError("%s reads policy %s, which concern %s does not declare" % (rule.id, key, name))


PREAMBLE = """\
# Findings reference

Generated from the rule registry by `acceptq rules --format markdown`; do not
edit by hand (a unit test fails when this file and the registry differ).

Every finding acceptq reports has a stable id, documented here. A finding is
data: `id`, `severity` (info < warning < error < critical), `host`, `concern`,
`title`, `observed` (with the listener, file:line or counter values it rests
on), `expected`, `fix` and `evidence` (the raw values). The table report, the
JSON report (`"findings"`) and the exit code of `acceptq audit --fail-on` are
views of the same list. Host rules judge one host's evidence; fleet rules
judge the inventory together (which nginx passes to which pool on which
host), and their findings name every host involved.

Thresholds come from the inventory variable `acceptq_policy` (see
`inventory/example/group_vars/all.yml`); unknown keys are refused.
"""


def _policy_value(value):
    if isinstance(value, list):
        return "[%s]" % ", ".join('"%s"' % item for item in value)
    return repr(value) if isinstance(value, str) else str(value)


def render_markdown(concerns):
    """docs/findings.md, from the registry's concerns in order."""
    parts = [PREAMBLE]
    for concern in concerns:
        parts.append("## %s: %s\n" % (concern.name, concern.title))
        if concern.doc:
            parts.append(concern.doc + "\n")
        if concern.policy:
            lines = ["| policy key | default | meaning |", "|---|---|---|"]
            for key in concern.policy:
                lines.append("| `%s` | `%s` | %s |" % (key.name, _policy_value(key.default), key.doc))
            parts.append("\n".join(lines) + "\n")
        for rule in concern.rules:
            lines = ["### %s — %s (%s)" % (rule.id, rule.title, rule.severity)]
            if rule.explanation:
                lines.append(rule.explanation)
            facts = []
            if rule.scope == "fleet":
                facts.append("judged over the fleet")
            if rule.needs:
                facts.append("evidence: %s" % ", ".join("`%s`" % name for name in rule.needs))
            if rule.policy:
                facts.append("policy: %s" % ", ".join("`%s`" % name for name in rule.policy))
            if facts:
                lines.append("\n*%s.*" % "; ".join(facts))
            if rule.escalation:
                lines.append("\nSeverity: %s" % rule.escalation)
            parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
