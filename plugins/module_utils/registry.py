# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's view of the registry: every concern's rules, policy and checks.

The concerns and their order come from ``concerns.CONCERNS`` (the one line a
new concern adds); each concern package's ``rules`` module declares
``CONCERN``. Reports, docs/findings.md, the policy's defaults and the audit
are all built from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import math
import os

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns as _concerns
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import render_markdown
from ansible_collections.acceptq.remediation.plugins.module_utils.core.workload import (  # noqa: F401  # pylint: disable=unused-import  # re-exported API
    DEFAULT_WORKLOAD,
    PolicyError,
    effective_workload,
)


def _load():
    package = _concerns.__name__.rsplit(".", 1)[0]
    return tuple(
        importlib.import_module("%s.%s.rules" % (package, name)).CONCERN for name, _module in _concerns.CONCERNS
    )


CONCERNS = _load()
DEFINITIONS = {}
POLICY_KEYS = {}
for _concern in CONCERNS:
    for _rule in _concern.rules:
        if _rule.id in DEFINITIONS:
            raise ValueError("duplicate finding id %s" % _rule.id)
        DEFINITIONS[_rule.id] = _rule
    for _key in _concern.policy:
        if _key.name in POLICY_KEYS:
            raise ValueError("policy key %s declared twice" % _key.name)
        POLICY_KEYS[_key.name] = _key
DEFAULT_POLICY = dict((name, key.default) for name, key in POLICY_KEYS.items())
CHECKS = tuple(check for concern in CONCERNS for check in concern.checks)
FLEET_CHECKS = tuple(check for concern in CONCERNS for check in concern.fleet_checks)


def findings_markdown():
    """docs/findings.md as the registry says it."""
    return render_markdown(CONCERNS)


def effective_policy(declared=None):
    """Defaults overlaid with the declared policy, validated."""
    if declared is not None and not isinstance(declared, dict):
        raise PolicyError("policy must be a mapping of threshold names to values, got %r" % (declared,))
    policy = dict(DEFAULT_POLICY)
    for key, value in (declared or {}).items():
        if key not in DEFAULT_POLICY:
            raise PolicyError("unknown policy key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_POLICY))))
        default = DEFAULT_POLICY[key]
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        kinds = (int, float) if numeric else (type(default),)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
            raise PolicyError("policy %s must be a %s, got %r" % (key, type(default).__name__, value))
        if numeric and not math.isfinite(value):
            raise PolicyError("policy %s must be a finite number, got %r" % (key, value))
        if isinstance(default, list) and not all(isinstance(item, str) for item in value):
            raise PolicyError("policy %s must be a list of strings, got %r" % (key, value))
        policy[key] = value
    return policy


def run_checks(host, evidence, declared_policy=None, declared_workload=None, fleet=None):
    """Every host-rule finding for one host, most severe first.

    Checks read thresholds from the policy, the declared workload from
    policy["workload"] and the other hosts (topology) from policy["fleet"].
    """
    policy = effective_policy(declared_policy)
    policy["workload"] = effective_workload(declared_workload)
    policy["fleet"] = fleet
    findings = []
    for check in CHECKS:
        findings.extend(check(host, evidence, policy))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings


class LimitExceeded(BaseException):
    """Judging one host went past its time or memory bound.

    A BaseException, like KeyboardInterrupt: a check's own ``except Exception``
    (a parser bug must not hide the fleet) must not swallow the alarm and run on.
    """


def _memory_in_use():
    """This process's address space in bytes (what RLIMIT_AS counts), or None."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (IOError, OSError, ValueError, IndexError):
        return None


def _bounded(seconds, megabytes, function):
    """function() within a wall-clock and an address-space bound, or LimitExceeded.

    The time bound needs SIGALRM (the main thread, as in Ansible's workers and the
    CLI); the memory bound lowers RLIMIT_AS above what is in use now. Both are
    restored afterwards.
    """
    import resource
    import signal
    import threading

    def expire(_signum, _frame):
        raise LimitExceeded("the %g s time limit" % seconds)

    timed = seconds > 0 and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous_handler = previous_limit = None
    if timed:
        previous_handler = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    in_use = _memory_in_use() if megabytes > 0 else None
    if in_use is not None:
        try:
            previous_limit = resource.getrlimit(resource.RLIMIT_AS)
            ceiling = in_use + int(megabytes * 1024 * 1024)
            hard = previous_limit[1]
            if hard == resource.RLIM_INFINITY or ceiling < hard:
                resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
            else:
                previous_limit = None
        except (ValueError, OSError):
            previous_limit = None
    try:
        return function()
    except MemoryError:
        raise LimitExceeded("the %g MB memory limit" % megabytes) from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        if previous_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous_limit)


def _judge_host_bounded(fleet, host, host_rules):
    """One host's findings, or one finding saying which limit stopped its judging and where."""
    policy = host.policy
    stage = {"step": "parsing its nginx configuration"}

    def judge():
        fleet.nginx_model(host.name)  # parsed here, so its cost is this host's
        found = []
        for check in CHECKS:
            stage["step"] = "running %s (%s)" % (check.__name__, check.__module__.split(".")[-2:][0])
            found.extend(check(host.name, host.evidence, policy))
        return found

    try:
        return _bounded(policy["judge_time_limit_s"], policy["judge_memory_limit_mb"], judge)
    except LimitExceeded as exc:
        fleet.forget(host.name)
        nginx = (host.evidence or {}).get("nginx") or {}
        return [host_rules.judging_stopped(host.name, str(exc), stage["step"], nginx.get("conf_path"))]


def audit_fleet(hosts, declared_policy=None, declared_workload=None):
    """Every finding for the fleet, most severe first: host rules per gathered host (seeing
    the others through the topology), fleet rules over all of them, and a finding for each
    host that could not be reached or gathered.

    hosts: [core.fleet.HostView].
    """
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.fleet import Fleet
    from ansible_collections.acceptq.remediation.plugins.module_utils.host import rules as host_rules
    from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as nginx_model

    fleet = Fleet(hosts, model_loader=nginx_model.load_config)
    findings = []
    for host in hosts:
        if host.status == "unreachable":
            findings.append(host_rules.unreachable(host.name, host.message))
            continue
        if not host.gathered:
            findings.append(host_rules.gather_failed(host.name, host.message))
            continue
        try:
            host.policy = effective_policy(declared_policy if host.declared_policy is None else host.declared_policy)
            host.policy["workload"] = effective_workload(
                declared_workload if host.declared_workload is None else host.declared_workload
            )
        except PolicyError as exc:
            findings.append(host_rules.gather_failed(host.name, "acceptq_policy / acceptq_workload: %s" % exc))
            host.status, host.message = "failed", str(exc)
            continue
        host.policy["fleet"] = fleet
    for host in hosts:
        if host.gathered and host.policy is not None:
            findings.extend(_judge_host_bounded(fleet, host, host_rules))
    # Fleet rules read the thresholds of the first host whose declaration is
    # valid (a bad one is that host's finding, above), else the defaults.
    judged = [host.policy for host in hosts if host.policy is not None]
    policy = dict(judged[0]) if judged else dict(DEFAULT_POLICY, workload=effective_workload(None))
    policy["fleet"] = fleet
    for check in FLEET_CHECKS:
        findings.extend(check(fleet, policy))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings
