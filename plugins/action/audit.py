# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather once on the host, judge on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize
from ansible_collections.acceptq.remediation.plugins.module_utils.host import rules as _checks_host
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import PolicyError, run_checks


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("policy", "workload", "sections", "counter_sample_interval"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        host = (task_vars or {}).get("inventory_hostname", self._task.get_name())
        policy = self._task.args.get("policy") or {}
        if not isinstance(policy, dict):
            raise AnsibleActionFail("policy must be a mapping of threshold names to values, got %r" % (policy,))
        gather_args = dict(
            (key, self._task.args[key]) for key in ("sections", "counter_sample_interval") if key in self._task.args
        )
        gathered = self._execute_module(
            module_name="acceptq.remediation.gather", module_args=gather_args, task_vars=task_vars
        )
        if gathered.get("failed") or "evidence" not in gathered:
            message = gathered.get("msg") or gathered.get("module_stderr") or "no evidence returned"
            finding = _checks_host.gather_failed(host, message)
            result.update(
                failed=True,
                msg="evidence gathering failed on %s: %s" % (host, message),
                findings=[finding.to_dict()],
                summary=summarize([finding]),
            )
            return result
        try:
            findings = run_checks(host, gathered["evidence"], policy, self._task.args.get("workload"))
        except PolicyError as exc:
            raise AnsibleActionFail("acceptq policy for %s: %s" % (host, exc)) from None
        result.update(
            changed=False,
            evidence=gathered["evidence"],
            findings=[finding.to_dict() for finding in findings],
            summary=summarize(findings),
        )
        return result
