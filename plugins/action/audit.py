# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge the whole fleet's evidence on the controller, once per run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.validation import check_type_bool
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils import registry
from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize
from ansible_collections.acceptq.remediation.plugins.module_utils.core.fleet import HostView
from ansible_collections.acceptq.remediation.plugins.module_utils.facts.snapshot import write_atomically


def host_view(name, gathered, host_vars):
    """A HostView from what the gather task registered for a host (or its absence)."""
    view = _host_view(name, gathered, host_vars)
    view.declared_policy = host_vars.get("acceptq_policy")
    view.declared_workload = host_vars.get("acceptq_workload")
    return view


def _host_view(name, gathered, host_vars):
    groups = host_vars.get("group_names") or ()
    ansible_host = host_vars.get("ansible_host")
    if not isinstance(gathered, dict) or not gathered:
        return HostView(name, None, "failed", "the gather task did not run on this host", ansible_host, groups)
    if gathered.get("unreachable"):
        return HostView(name, None, "unreachable", str(gathered.get("msg") or "unreachable"), ansible_host, groups)
    evidence = gathered.get("evidence")
    if gathered.get("failed") or not isinstance(evidence, dict):
        message = gathered.get("msg") or gathered.get("module_stderr") or "no evidence returned"
        return HostView(name, None, "failed", str(message), ansible_host, groups)
    return HostView(name, evidence, "ok", "", ansible_host, groups)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("policy", "workload", "hosts", "gathered", "report", "report_evidence"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._task.args
        hostvars = task_vars.get("hostvars") or {}
        names = args.get("hosts") or task_vars.get("ansible_play_hosts_all") or []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise AnsibleActionFail("hosts must be a list of inventory host names, got %r" % (names,))
        gathered_var = args.get("gathered") or "__acceptq_gathered"
        try:
            with_evidence = check_type_bool(args.get("report_evidence", False))
        except TypeError:
            raise AnsibleActionFail("report_evidence must be a boolean") from None
        hosts = []
        for name in names:
            host_vars = hostvars.get(name, {})
            hosts.append(host_view(name, host_vars.get(gathered_var), host_vars))
        # Each host's own acceptq_policy / acceptq_workload apply to it; these
        # arguments are the default for hosts that declare none.
        findings = registry.audit_fleet(hosts, args.get("policy"), args.get("workload"))
        document = {
            "hosts": dict(
                (
                    host.name,
                    dict(
                        {"status": host.status, "message": host.message},
                        **({"evidence": host.evidence} if with_evidence and host.evidence is not None else {}),
                    ),
                )
                for host in hosts
            ),
            "summary": summarize(findings),
            "findings": [finding.to_dict() for finding in findings],
        }
        if args.get("report"):
            try:
                # Atomically: a reader never sees half a report, and an interrupted run leaves none.
                write_atomically(args["report"], json.dumps(document, sort_keys=True) + "\n", mode=0o600)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("cannot write the report %s: %s" % (args["report"], exc)) from None
        result.update(changed=False, **document)
        return result
