# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the nginx_timeouts edits on the controller from one gathering on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import plan as _nginx_plan
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import PolicyError, effective_workload
from ansible_collections.acceptq.remediation.plugins.plugin_utils._planning import (
    gather_evidence,
    located,
    read_back_bytes,
    writes,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("workload", "manage", "listen_backlog"))

    def _args(self):
        args = self._task.args
        manage = args.get("manage")
        manage = list(_nginx_plan.CONCERNS) if manage is None else manage
        if not isinstance(manage, list) or any(item not in _nginx_plan.CONCERNS for item in manage):
            raise AnsibleActionFail("manage must be a list of %s, got %r" % (", ".join(_nginx_plan.CONCERNS), manage))
        listen_backlog = args.get("listen_backlog")
        if listen_backlog is not None:
            try:
                listen_backlog = int(listen_backlog)
            except (TypeError, ValueError):
                raise AnsibleActionFail(
                    "listen_backlog must be a positive integer, got %r" % (listen_backlog,)
                ) from None
            if listen_backlog < 1:
                raise AnsibleActionFail("listen_backlog must be a positive integer, got %r" % (listen_backlog,))
        try:
            workload = effective_workload(args.get("workload"))
        except PolicyError as exc:
            raise AnsibleActionFail("acceptq_workload: %s" % exc) from None
        return manage, listen_backlog, workload

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        manage, listen_backlog, workload = self._args()
        evidence = gather_evidence(self, ["kernel", "sockets", "nginx"], task_vars)
        section = evidence.get("nginx") or {}
        # nginx -t on the configuration the running master uses (its -c and -p), not the packaged default
        test_argv = [section.get("binary"), "-t"]
        if section.get("prefix"):
            test_argv += ["-p", section["prefix"]]
        if section.get("conf_path"):
            test_argv += ["-c", section["conf_path"]]
        result.update(
            changed=False,
            binary=section.get("binary"),
            conf_path=section.get("conf_path"),
            prefix=section.get("prefix"),
            conf_source=section.get("conf_source"),
            test_argv=test_argv,
            running=bool(section.get("running")),
        )
        result["installed"] = bool(section.get("binary"))
        if not section.get("binary"):
            # Not a failure: in a fleet, nginx runs on some hosts only. An empty plan changes nothing.
            result.update(
                files=[],
                writes=[],
                edits=[],
                refused=[],
                restart_reasons=[],
                restart_needed=False,
                msg="nginx is not installed on this host: nothing for nginx_timeouts to do",
            )
            return result
        model = _nginx.load_config(section)
        dump = section.get("dump") or {}
        if dump.get("returncode") != 0:
            errors = (
                "; ".join(located(error, "nginx") for error in model["errors"]) or (dump.get("stderr") or "").strip()
            )
            result.update(
                failed=True,
                msg="nginx -t fails before any change, so no change of ours could be validated: %s" % errors,
            )
            return result
        somaxconn = ((evidence.get("kernel") or {}).get("sysctls") or {}).get("net.core.somaxconn")
        listeners = (evidence.get("sockets") or {}).get("listeners") or []
        planned = _nginx_plan.plan(
            model,
            workload,
            manage=manage,
            somaxconn=somaxconn,
            listen_backlog=listen_backlog,
            listeners=listeners,
        )
        raw = read_back_bytes(self, sorted(planned["edits"]), task_vars)
        # as nginx reads them: a Latin-1 byte in a comment is kept, not a reason to refuse the file
        disk = dict((path, data.decode("utf-8", "surrogateescape")) for path, data in raw.items())
        files, unreadable = _nginx_plan.render_files(planned["edits"], model["files"], disk)
        refused = planned["refused"] + unreadable
        planned_writes = writes(files, raw)
        for item in files:
            item["content"] = _nginx_plan.lossy(item["content"])  # shown only; the writes carry the bytes
        result.update(
            files=files,
            writes=planned_writes,
            edits=[
                "%s:%s %s -> %s (%s)" % (item["path"], edit["line"], edit["old"], edit["new"], edit["reason"])
                for item in files
                for edit in item["edits"]
            ],
            refused=refused,
            refused_messages=[located(entry, "nginx") for entry in refused],
            restart_reasons=planned["restart_reasons"],
            restart_needed=bool(planned["restart_reasons"]),
            somaxconn=somaxconn,
            workload_assumed=workload["assumed"],
        )
        if refused:
            result["warnings"] = ["nginx_timeouts left alone %s" % located(entry, "nginx") for entry in refused]
        return result
