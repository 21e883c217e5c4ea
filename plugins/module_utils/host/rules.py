# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings about the audit itself: hosts that could not be read in full."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey

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
    escalation="`error` when a whole section could not be gathered (the host is not Linux, a table "
    "was unreadable): the observed text lists the rules that could not judge the host, which must "
    "not read as clean for them.",
)

UPSTREAM_UNKNOWN = Rule(
    "AQ-HOST-004",
    "host",
    "warning",
    "nginx upstream reaches no audited host",
    needs=("nginx", "addresses"),
    scope="fleet",
    explanation=(
        "An nginx location passes to a target (an upstream server, or the pass\n"
        "target itself) that matches no audited host: no host of the run has that\n"
        "address, inventory name, `ansible_host` or hostname, or two hosts claim it\n"
        "and neither or both listen on its port. The pool behind it is judged\n"
        "without this nginx's timeouts, so its backlog may be sized on assumed\n"
        "values. Reported once per nginx host and target, naming every location that\n"
        "passes there. Add the backend host to the inventory (or to `--limit`), or\n"
        "set `ansible_host` to the address nginx uses.\n"
    ),
)
ADDRESS_CLAIMED_TWICE = Rule(
    "AQ-HOST-005",
    "host",
    "warning",
    "Two inventory hosts claim the same address",
    needs=("addresses",),
    scope="fleet",
    explanation=(
        "Two or more hosts of the run report the same non-loopback address or name\n"
        "(interface addresses, `ansible_host`, inventory name or hostname): an\n"
        "upstream pointing there cannot be told apart, and the topology leaves it\n"
        "unlinked (AQ-HOST-004) unless exactly one of them listens on the port.\n"
        "Containers on separate bridges often share private addresses; give each\n"
        "host its own `ansible_host`.\n"
    ),
)

JUDGING_STOPPED = Rule(
    "AQ-HOST-006",
    "host",
    "error",
    "Judging the host stopped at a limit",
    needs=(),
    policy=("judge_time_limit_s", "judge_memory_limit_mb"),
    explanation=(
        "Judging one host's evidence on the controller went past\n"
        "`acceptq_policy.judge_time_limit_s` (default 60 s) or\n"
        "`judge_memory_limit_mb` (default 500 MB above what the run already holds),\n"
        "so it was stopped: the finding names the limit, the step it stopped in and\n"
        "the configuration file being read. The host gets no other finding and must\n"
        "not read as clean; the other hosts are still judged, without this host in\n"
        "the topology. A hostile or generated configuration (include fan-out, a\n"
        "50 MB map) is the usual cause; nginx's own expansions are bounded too\n"
        "(AQ-NGINX-015).\n"
    ),
)

DEFINITIONS = (
    UNREACHABLE,
    GATHER_FAILED,
    EVIDENCE_MISSING,
    UPSTREAM_UNKNOWN,
    ADDRESS_CLAIMED_TWICE,
    JUDGING_STOPPED,
)
POLICY = (
    PolicyKey("judge_time_limit_s", 60, "Longest the controller judges one host's evidence before AQ-HOST-006."),
    PolicyKey(
        "judge_memory_limit_mb",
        500,
        "Memory the controller may add while judging one host (address space) before AQ-HOST-006.",
    ),
)


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


def judging_stopped(host, limit, step, conf_path=None):
    return JUDGING_STOPPED.finding(
        host,
        observed="judging stopped at %s while %s%s; no other finding for this host"
        % (limit, step, " (nginx configuration %s)" % conf_path if conf_path else ""),
        expected="every host judged within its time and memory bounds",
        fix="Look for include fan-out or a generated configuration in the file named; raise "
        "acceptq_policy.judge_time_limit_s / judge_memory_limit_mb only for a configuration known to be sound.",
        evidence={"limit": limit, "step": step, "conf_path": conf_path},
        file=conf_path,
    )


def _rules_needing(section):
    # Imported here: the registry imports this module.
    from ansible_collections.acceptq.remediation.plugins.module_utils import registry

    return sorted(rule_id for rule_id, rule in registry.DEFINITIONS.items() if section in rule.needs)


def check_evidence_errors(host, evidence, policy):
    """Every source that could not be read, and the rules it kept from judging the host.

    A section that could not be gathered at all is an error: the rules that need it did not
    run, and the host must not read as clean for them.
    """
    findings = []
    for error in evidence.get("errors", []):
        section = error.get("section")
        lost = evidence.get(section) is None and section in (evidence.get("sections") or ())
        unjudged = _rules_needing(section)
        findings.append(
            EVIDENCE_MISSING.finding(
                host,
                observed="%s evidence %s: %s%s"
                % (
                    section,
                    "missing" if lost else "incomplete",
                    error["message"],
                    "; not judged: %s" % ", ".join(unjudged) if lost and unjudged else "",
                ),
                expected="%s readable" % error["source"],
                fix="Run the audit with privileges that can read %s; checks that need it were skipped."
                % error["source"],
                evidence=dict(error, rules_not_judged=unjudged if lost else []),
                severity="error" if lost and unjudged else None,
            )
        )
    return findings


CHECKS = (check_evidence_errors,)


def check_unlinked_upstreams(fleet, policy):
    """One finding per nginx host and target that reaches nothing audited."""
    by_target = {}
    for link in fleet.unresolved():
        by_target.setdefault((link.nginx_host, link.target, link.problem), []).append(link)
    findings = []
    for (nginx_host, target, problem), links in sorted(by_target.items()):
        owners = fleet.address_owners.get(str(target).rsplit(":", 1)[0].strip("[]").lower()) or []
        why = {
            "unknown": "no audited host has that address or name",
            "ambiguous": "it is claimed by %s and it cannot be told which serves it" % ", ".join(owners),
            "unresolved": "acceptq cannot read it as an address",
        }[problem]
        findings.append(
            UPSTREAM_UNKNOWN.finding(
                nginx_host,
                observed="%s passes to %s%s: %s"
                % (
                    "; ".join(sorted(set(link.label() for link in links))),
                    target,
                    " (upstream %s)" % links[0].upstream if links[0].upstream else "",
                    why,
                ),
                expected="every upstream target linked to the audited host and listener that serves it",
                fix="Audit the backend with its nginx hosts in one run (inventory or --limit), or set its "
                "ansible_host to the address nginx uses.",
                evidence={"target": target, "problem": problem, "upstream": links[0].upstream, "claimed_by": owners},
            )
        )
    return findings


def check_address_conflicts(fleet, policy):
    findings = []
    for address, owners in sorted(fleet.conflicts().items()):
        findings.append(
            ADDRESS_CLAIMED_TWICE.finding(
                owners[0],
                observed="%s is an address or name of %s" % (address, " and ".join(owners)),
                expected="each address or name belongs to one host of the run",
                fix="Give each host its own ansible_host; an upstream at %s cannot be linked to one of them." % address,
                evidence={"address": address, "hosts": owners},
            )
        )
    return findings


FLEET_CHECKS = (check_unlinked_upstreams, check_address_conflicts)


CONCERN = Concern(
    "host",
    "the audit itself",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    fleet_checks=FLEET_CHECKS,
    doc="",
)
