# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan, on the controller, the drain of php-fpm pools on the nginx host this task is delegated to."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import drain as _drain
from ansible_collections.acceptq.remediation.plugins.plugin_utils import _planning


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("backend", "backend_evidence", "backend_address", "pools", "max_share"))

    def _args(self):
        args = self._task.args
        backend = args.get("backend")
        if not isinstance(backend, str) or not backend:
            raise AnsibleActionFail("backend must name the php-fpm host, got %r" % (backend,))
        evidence = args.get("backend_evidence")
        if not isinstance(evidence, dict):
            raise AnsibleActionFail("backend_evidence must be the backend's gathered evidence (a dict)")
        pools = args.get("pools")
        if not isinstance(pools, list) or not pools or not all(isinstance(name, str) for name in pools):
            raise AnsibleActionFail("pools must be a non-empty list of pool names, got %r" % (pools,))
        try:
            share = float(args.get("max_share", 0.5))
        except (TypeError, ValueError):
            share = float("nan")
        if not math.isfinite(share) or not 0 < share <= 1:
            raise AnsibleActionFail(
                "max_share (php_fpm_backlog_drain_max_share) must be a number in (0, 1], got %r"
                % (args.get("max_share"),)
            )
        return backend, evidence, args.get("backend_address"), pools, share

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        backend, backend_evidence, backend_address, pools, share = self._args()
        nginx_host = self._task.delegate_to or task_vars.get("inventory_hostname")
        nginx_vars = (task_vars.get("hostvars") or {}).get(nginx_host) or {}
        evidence = _planning.gather_evidence(self, ("nginx", "sockets", "addresses"), task_vars)

        def planned(texts):
            return _drain.plan(
                backend,
                backend_evidence,
                nginx_host,
                evidence,
                pools,
                texts,
                share,
                backend_address=backend_address,
                nginx_address=nginx_vars.get("ansible_host"),
            )

        first = planned(None)
        raw = {}
        paths = sorted(set(item["file"] for item in first["drains"]))
        disk = _planning.read_back(self, paths, task_vars, raw=raw) if paths else {}
        final = planned(disk) if paths else first
        result.update(
            changed=False,
            nginx_host=nginx_host,
            nginx_binary=(evidence.get("nginx") or {}).get("binary"),
            links=final["links"],
            drains=final["drains"],
            refused=final["refused"],
            writes=_planning.writes(final["files"], raw) if final["files"] else [],
        )
        return result
