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

from ansible_collections.acceptq.remediation.plugins.module_utils import _checks_host, _checks_kernel, _checks_rot

CONCERN_MODULES = (_checks_host, _checks_kernel, _checks_rot)

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


def run_checks(host, evidence, declared_policy=None):
    """Every finding for one host, most severe first."""
    policy = effective_policy(declared_policy)
    findings = []
    for check in CHECKS:
        findings.extend(check(host, evidence, policy))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings
