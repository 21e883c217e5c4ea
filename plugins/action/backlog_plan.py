# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the php_fpm_backlog edits on the controller from one gathering on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.validation import check_type_bool
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _collect
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import plan as _backlog_plan
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import PolicyError, effective_workload
from ansible_collections.acceptq.remediation.plugins.plugin_utils import _planning


def _located(entry):
    return _planning.located(entry, "php-fpm")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("workload", "raise_somaxconn", "pools", "services", "process_control_timeout_s"))

    def _args(self):
        args = self._task.args
        try:
            workload = effective_workload(args.get("workload"))
        except PolicyError as exc:
            raise AnsibleActionFail("acceptq_workload: %s" % exc) from None
        try:
            raise_somaxconn = check_type_bool(args.get("raise_somaxconn", True))
        except TypeError:
            raise AnsibleActionFail(
                "raise_somaxconn must be a boolean, got %r" % (args.get("raise_somaxconn"),)
            ) from None
        pools = args.get("pools") or []
        if not isinstance(pools, list) or not all(isinstance(name, str) for name in pools):
            raise AnsibleActionFail("pools must be a list of pool names, got %r" % (pools,))
        services = args.get("services") or {}
        if not isinstance(services, dict):
            raise AnsibleActionFail("services must map php-fpm binaries to service names, got %r" % (services,))
        return workload, raise_somaxconn, pools, services

    def _process_control(self):
        value = self._task.args.get("process_control_timeout_s")
        if value is None or value == "":
            return None
        try:
            seconds = int(value)
        except (TypeError, ValueError):
            seconds = -1
        if isinstance(value, bool) or seconds < 0 or seconds > 86400:
            raise AnsibleActionFail(
                "process_control_timeout_s (php_fpm_backlog_process_control_timeout_s) must be a whole number of "
                "seconds from 0 (leave it alone) to 86400, got %r" % (value,)
            )
        return seconds

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        workload, raise_somaxconn, pools, services = self._args()
        evidence = _planning.gather_evidence(self, ("kernel", "sockets", "php_fpm", "nginx"), task_vars)
        section = evidence.get("php_fpm") or {}
        result.update(changed=False, installed=bool(section.get("binaries")))
        broken = [item for item in section.get("binaries") or [] if not item.get("ok")]
        if broken:
            errors = "; ".join(
                _located(error) if "file" in error else error.get("message", "")
                for item in broken
                for error in item.get("errors")
                or [{"message": "%s -tt exited %s" % (item["binary"], item.get("returncode"))}]
            )
            result.update(
                failed=True,
                msg="php-fpm -t fails before any change, so no change of ours could be validated: %s" % errors,
            )
            return result
        host = task_vars.get("inventory_hostname")
        planned = _backlog_plan.plan(
            evidence,
            workload,
            raise_somaxconn=raise_somaxconn,
            only_pools=pools,
            services=services,
            fleet=_planning.fleet_from_hostvars(task_vars, host, evidence),
            host=host,
            process_control_timeout_s=self._process_control(),
        )
        # Bytes as php-fpm reads them: a Latin-1 comment is kept, not a reason to refuse the file.
        raw = _planning.read_back_bytes(self, sorted(planned["edits"]), task_vars)
        disk = dict((path, _collect.decode(data)) for path, data in raw.items())
        files, unreadable = _backlog_plan.render_files(planned["edits"], disk)
        writes = _planning.writes(files, raw)
        for item in files:
            item["content"] = _collect.display(item["content"])  # the bytes travel in writes
        refused = planned["refused"] + unreadable
        result.update(
            pools=planned["pools"],
            summary=[
                "pool %s of %s: sized %s (listen.backlog %s, Send-Q %s): %s"
                % (item["pool"], item["binary"], item["sized"], item["current"], item["send_q"], item["action"])
                for item in planned["pools"]
            ],
            files=files,
            writes=writes,
            edits=[
                "%s:%s %s -> %s (pool %s: %s)"
                % (
                    item["path"],
                    edit["line"],
                    edit["old"].strip() if edit["kind"] == "replace" else "(insert)",
                    edit["new"].strip(),
                    edit["pool"],
                    edit["reason"],
                )
                for item in files
                for edit in item["edits"]
            ],
            refused=refused,
            refused_messages=[_located(entry) for entry in refused],
            restarts=planned["restarts"],
            validate=[
                {
                    "argv": [item["binary"], "-t"] + (["--fpm-config", item["conf"]] if item["conf"] else []),
                    "name": "php-fpm -t",
                }
                for item in planned["restarts"]
            ],
            process_control=planned["process_control"],
            somaxconn=planned["somaxconn"],
            somaxconn_needed=planned["somaxconn_needed"],
            workload_assumed=workload["assumed"],
        )
        return result
