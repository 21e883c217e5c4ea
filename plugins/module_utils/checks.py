# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge evidence: pure functions from (host, evidence, policy) to findings.

Runs on the controller. Each concern contributes a module of checks and its
finding definitions; ``CHECKS`` and ``DEFINITIONS`` are the registry every
report is built from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils import (
    _checks_backlog,
    _checks_host,
    _checks_kernel,
    _checks_nginx,
    _checks_rot,
)

CONCERN_MODULES = (_checks_host, _checks_kernel, _checks_rot, _checks_nginx, _checks_backlog)

DEFINITIONS = {}
CHECKS = []
DEFAULT_POLICY = {}
for _module in CONCERN_MODULES:
    for _definition in _module.DEFINITIONS:
        if _definition.id in DEFINITIONS:
            raise ValueError("duplicate finding id %s" % _definition.id)
        DEFINITIONS[_definition.id] = _definition
    CHECKS.extend(_module.CHECKS)
    DEFAULT_POLICY.update(_module.DEFAULT_POLICY)


class PolicyError(ValueError):
    """A declared threshold is unknown or of the wrong type."""


def effective_policy(declared=None):
    """Defaults overlaid with the declared policy, validated."""
    policy = dict(DEFAULT_POLICY)
    for key, value in (declared or {}).items():
        if key not in DEFAULT_POLICY:
            raise PolicyError("unknown policy key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_POLICY))))
        default = DEFAULT_POLICY[key]
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        kinds = (int, float) if numeric else (type(default),)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
            raise PolicyError("policy %s must be a %s, got %r" % (key, type(default).__name__, value))
        if isinstance(default, list) and not all(isinstance(item, str) for item in value):
            raise PolicyError("policy %s must be a list of strings, got %r" % (key, value))
        policy[key] = value
    return policy


# The declared workload: what acceptq cannot observe on the host. Checks and
# remediation roles read the same values (inventory: acceptq_workload); every
# value not declared is assumed and reports say so.
DEFAULT_WORKLOAD = {
    # Timeout of whatever sits in front of nginx (load balancer, CDN, API client).
    "client_timeout_s": 60.0,
    # Mean service time of one PHP request.
    "service_time_s": 0.1,
    # Expected 99th percentile service time.
    "p99_s": 1.0,
    # No backlog is sized below this.
    "backlog_floor": 16,
    # Longest a connection should wait in an accept queue: a queue absorbs
    # bursts, and everything it holds when a stall ends is dead work.
    "queue_wait_s": 0.25,
    # Per php-fpm pool name: peak_qps, client_timeout_s, service_time_s, backlog_floor, queue_wait_s.
    "pools": {},
    # Per nginx server name, or "server_name location": p99_s, client_timeout_s.
    "locations": {},
}
WORKLOAD_ENTRY_KEYS = {
    "pools": ("peak_qps", "client_timeout_s", "service_time_s", "backlog_floor", "queue_wait_s"),
    "locations": ("p99_s", "client_timeout_s"),
}


def _positive_number(where, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise PolicyError("workload %s must be a positive number, got %r" % (where, value))
    return value


def effective_workload(declared=None):
    """Defaults overlaid with the declared workload, validated; 'assumed' lists what was not declared."""
    declared = declared or {}
    if not isinstance(declared, dict):
        raise PolicyError("workload must be a mapping, got %r" % (declared,))
    workload = dict(DEFAULT_WORKLOAD)
    for key, value in declared.items():
        if key not in DEFAULT_WORKLOAD:
            raise PolicyError("unknown workload key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_WORKLOAD))))
        if key in WORKLOAD_ENTRY_KEYS:
            if not isinstance(value, dict):
                raise PolicyError("workload %s must be a mapping, got %r" % (key, value))
            entries = {}
            for name, entry in value.items():
                if not isinstance(entry, dict):
                    raise PolicyError("workload %s.%s must be a mapping, got %r" % (key, name, entry))
                for field, number in entry.items():
                    if field not in WORKLOAD_ENTRY_KEYS[key]:
                        raise PolicyError(
                            "unknown workload key %s.%s.%s (known: %s)"
                            % (key, name, field, ", ".join(WORKLOAD_ENTRY_KEYS[key]))
                        )
                    _positive_number("%s.%s.%s" % (key, name, field), number)
                entries[str(name)] = dict(entry)
            workload[key] = entries
        else:
            workload[key] = _positive_number(key, value)
    workload["assumed"] = sorted(
        key for key in DEFAULT_WORKLOAD if key not in declared and key not in WORKLOAD_ENTRY_KEYS
    )
    return workload


def run_checks(host, evidence, declared_policy=None, declared_workload=None):
    """Every finding for one host, most severe first.

    Checks read thresholds from the policy and the declared workload from
    policy["workload"].
    """
    policy = effective_policy(declared_policy)
    policy["workload"] = effective_workload(declared_workload)
    findings = []
    for check in CHECKS:
        findings.extend(check(host, evidence, policy))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings
